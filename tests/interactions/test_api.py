"""The interactions, tasks and timeline API: status codes, scoping, idempotency, ETags and query counts."""

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from lendcrm.core.models import AuditEvent, User
from lendcrm.core.roles import Role
from lendcrm.interactions import services
from lendcrm.interactions.models import Interaction, Task
from lendcrm.parties.models import Contact, Party
from tests.interactions.helpers import item

pytestmark = pytest.mark.django_db

INTERACTION_KEYS = {
    "id", "party", "contact", "channel", "direction", "occurred_at", "subject", "notes", "staff",
    "source_system", "external_id", "created_at",
}  # fmt: skip
TASK_KEYS = {
    "id", "party", "kind", "title", "description", "assignee", "created_by", "due_date", "status",
    "completed_at", "completed_by", "version", "is_overdue", "created_at",
}  # fmt: skip


def payload(target: Party, /, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "party": target.pk,
        "channel": "email",
        "direction": "inbound",
        "occurred_at": "2025-02-03T10:30:00+08:00",
        "subject": "Request for a fee quote",
        "source_system": "mailgw",
        "external_id": "msg-1",
    }
    body.update(overrides)
    return body


def jsonable(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v.isoformat() if isinstance(v, datetime) else v for k, v in i.items()} for i in items]


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def client_a(api_client: Callable[[User], APIClient], rm_a: User) -> APIClient:
    return api_client(rm_a)


@pytest.fixture
def client_b(api_client: Callable[[User], APIClient], rm_b: User) -> APIClient:
    return api_client(rm_b)


# --- single interactions ---------------------------------------------------------------------------
def test_post_creates_then_a_resend_returns_the_same_interaction(client_a: APIClient, party_a: Party) -> None:
    first = client_a.post("/api/v1/interactions/", payload(party_a), format="json")
    again = client_a.post("/api/v1/interactions/", payload(party_a, subject="edited"), format="json")

    assert first.status_code == 201
    assert set(first.json()) == INTERACTION_KEYS
    assert first.json()["occurred_at"] == "2025-02-03T02:30:00Z"
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Interaction.objects.count() == 1
    assert AuditEvent.objects.filter(action="interaction.logged").count() == 1


def test_idempotency_key_replays_and_refuses_another_body(client_a: APIClient, party_a: Party) -> None:
    def send(**overrides: Any) -> Any:
        body = payload(party_a, external_id=None, **overrides)
        return client_a.post("/api/v1/interactions/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    first, replay, other = send(), send(), send(subject="x")

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    problem(other, 422)
    assert Interaction.objects.count() == 1


def test_resend_under_another_party_is_409(client_a: APIClient, party_a: Party, branch_a: Any) -> None:
    other = Party.objects.create(kind="sme", legal_name="Other", branch=branch_a)
    client_a.post("/api/v1/interactions/", payload(party_a), format="json")

    body = problem(client_a.post("/api/v1/interactions/", payload(other), format="json"), 409)
    assert body["code"] == "external_id_taken"
    assert Interaction.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"occurred_at": "2025-02-03T10:30:00"}, "occurred_at"),  # naive
        ({"occurred_at": "9999-12-31T23:59:59Z"}, "occurred_at"),
        ({"occurred_at": "0001-01-01T00:00:00+05:00"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"channel": "fax"}, "channel"),
        ({"subject": ""}, "subject"),
        ({"subject": "a\x00b"}, "subject"),
        ({"party": "abc"}, "party"),
        ({"party": True}, "party"),
        ({"party": 1.0}, "party"),
        ({"subject": 12}, "subject"),
        ({"party": 2**70}, "party"),
        ({"colour": "red"}, "colour"),
        ({"external_id": ""}, "external_id"),
    ],
)
def test_bad_input_is_400_and_writes_nothing(
    client_a: APIClient, party_a: Party, overrides: dict[str, Any], field: str
) -> None:
    body = problem(client_a.post("/api/v1/interactions/", payload(party_a, **overrides), format="json"), 400)

    assert field in body["errors"]
    assert Interaction.objects.count() == 0


def test_far_future_relative_to_now_is_400(client_a: APIClient, party_a: Party) -> None:
    soon = (timezone.now() + timedelta(hours=36)).isoformat()

    body = problem(
        client_a.post("/api/v1/interactions/", payload(party_a, occurred_at=soon), format="json"), 400
    )
    assert "occurred_at" in body["errors"]


def test_contact_must_belong_to_the_party(client_a: APIClient, party_a: Party, contact_a: Contact) -> None:
    stranger = Contact.objects.create(full_name="Stranger")

    body = problem(
        client_a.post("/api/v1/interactions/", payload(party_a, contact=stranger.pk), format="json"), 400
    )
    assert "contact" in body["errors"]
    ok = client_a.post("/api/v1/interactions/", payload(party_a, contact=contact_a.pk), format="json")
    assert ok.json()["contact"] == contact_a.pk


def test_other_branch_cannot_post_to_a_party_it_cannot_see(client_b: APIClient, party_a: Party) -> None:
    problem(client_b.post("/api/v1/interactions/", payload(party_a), format="json"), 404)
    problem(client_b.post("/api/v1/interactions/", payload(party_a, party=10**12), format="json"), 404)
    assert Interaction.objects.count() == 0


def test_compliance_reads_but_may_not_post(
    api_client: Callable[[User], APIClient], compliance: User, party_a: Party
) -> None:
    problem(api_client(compliance).post("/api/v1/interactions/", payload(party_a), format="json"), 403)
    assert Interaction.objects.count() == 0


# --- batches -------------------------------------------------------------------------------------
def test_batch_of_a_thousand_in_a_constant_number_of_queries(client_a: APIClient, party_a: Party) -> None:
    def send(items: list[dict[str, Any]]) -> tuple[Any, list[dict[str, str]]]:
        with CaptureQueriesContext(connection) as ctx:
            response = client_a.post("/api/v1/interactions/batch/", {"items": jsonable(items)}, format="json")
        inserts = [
            q for q in ctx.captured_queries if q["sql"].startswith('INSERT INTO "interactions_interaction"')
        ]
        return response, [q for q in ctx.captured_queries if q not in inserts]

    client_a.get("/api/v1/interactions/")  # the token's last use is recorded once, not per request
    small, small_queries = send([item(party_a, n) for n in range(10)])
    big, big_queries = send([item(party_a, n) for n in range(10, 1010)])

    assert small.status_code == big.status_code == 201
    assert big.json()["created"] == 1000
    assert len(big.json()["results"]) == 1000
    assert len(small_queries) == len(big_queries)
    assert Interaction.objects.count() == 1010


def test_batch_resend_is_200_with_the_stored_ids(client_a: APIClient, party_a: Party) -> None:
    items = jsonable([item(party_a, n) for n in range(3)])
    first = client_a.post("/api/v1/interactions/batch/", {"items": items}, format="json")
    again = client_a.post("/api/v1/interactions/batch/", {"items": items}, format="json")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["created"] == 0
    assert again.json()["duplicates"] == 3
    assert [r["id"] for r in again.json()["results"]] == [r["id"] for r in first.json()["results"]]
    assert Interaction.objects.count() == 3
    assert AuditEvent.objects.filter(action="interaction.batch_logged").count() == 1


def test_batch_with_one_out_of_scope_party_writes_nothing(
    client_a: APIClient, party_a: Party, party_b: Party
) -> None:
    items = [item(party_a, n) for n in range(5)]
    items[3] = item(party_b, 3)

    body = problem(
        client_a.post("/api/v1/interactions/batch/", {"items": jsonable(items)}, format="json"), 400
    )

    assert body["errors"] == {"items.3.party": ["No such party."]}
    assert body["invalid_items"] == [3]
    assert Interaction.objects.count() == 0


def test_batch_item_format_errors_name_the_index(client_a: APIClient, party_a: Party) -> None:
    items = jsonable([item(party_a, n) for n in range(4)])
    items[2]["occurred_at"] = "2025-03-01T09:00:00"  # naive
    items[1]["colour"] = "red"

    body = problem(client_a.post("/api/v1/interactions/batch/", {"items": items}, format="json"), 400)

    assert set(body["errors"]) == {"items.1.colour", "items.2.occurred_at"}
    assert body["invalid_items"] == [1, 2]
    assert Interaction.objects.count() == 0


@pytest.mark.parametrize("size", [0, 1001])
def test_batch_size_outside_limits_is_400(client_a: APIClient, party_a: Party, size: int) -> None:
    items = jsonable([item(party_a, n) for n in range(size)])

    body = problem(client_a.post("/api/v1/interactions/batch/", {"items": items}, format="json"), 400)
    assert "items" in body["errors"]
    assert Interaction.objects.count() == 0


@pytest.mark.parametrize("body", [{}, {"items": "nope"}, {"items": [1, 2]}, {"items": [], "extra": 1}])
def test_batch_malformed_bodies_are_400(client_a: APIClient, body: dict[str, Any]) -> None:
    problem(client_a.post("/api/v1/interactions/batch/", body, format="json"), 400)


def test_batch_by_compliance_is_403(
    api_client: Callable[[User], APIClient], compliance: User, party_a: Party
) -> None:
    items = jsonable([item(party_a, 1)])
    problem(api_client(compliance).post("/api/v1/interactions/batch/", {"items": items}, format="json"), 403)


# --- reading interactions ------------------------------------------------------------------------
def seed_interactions(rm: User, party: Party, n: int, start: int = 0) -> None:
    services.ingest_batch(
        actor=rm, items=[item(party, start + k, channel="phone" if k % 2 else "web") for k in range(n)]
    )


def test_list_is_scoped_and_filtered(
    api_client: Callable[[User], APIClient],
    rm_a: User,
    rm_b: User,
    admin_user: User,
    party_a: Party,
    party_b: Party,
) -> None:
    seed_interactions(rm_a, party_a, 4)
    services.ingest_batch(actor=rm_b, items=[item(party_b, 100)])
    client = api_client(rm_a)

    everything = client.get("/api/v1/interactions/").json()
    assert everything["count"] == 4
    times = [r["occurred_at"] for r in everything["results"]]
    assert times == sorted(times, reverse=True)
    assert client.get(f"/api/v1/interactions/?party={party_b.pk}").json()["count"] == 0
    assert client.get("/api/v1/interactions/?channel=phone").json()["count"] == 2
    window = "since=2025-03-01T09:01:00Z&until=2025-03-01T09:03:00Z"
    assert [r["subject"] for r in client.get(f"/api/v1/interactions/?{window}").json()["results"]] == [
        "Payment notice 2",
        "Payment notice 1",
    ]
    assert api_client(admin_user).get("/api/v1/interactions/").json()["count"] == 0
    assert api_client(rm_b).get("/api/v1/interactions/").json()["count"] == 1


@pytest.mark.parametrize(
    "query", ["since=2025-03-01T09:00:00", "since=soon", "channel=fax", "party=x", "page=0"]
)
def test_list_with_bad_filters_is_400(client_a: APIClient, query: str) -> None:
    problem(client_a.get(f"/api/v1/interactions/?{query}"), 400)


@pytest.mark.parametrize("size", [2, 30])
def test_list_query_count_does_not_grow(
    client_a: APIClient,
    rm_a: User,
    party_a: Party,
    contact_a: Contact,
    size: int,
    django_assert_num_queries: Any,
) -> None:
    seed_interactions(rm_a, party_a, size)
    Interaction.objects.update(contact=contact_a)
    client_a.get("/api/v1/interactions/")  # the token's last use is recorded once, not per request

    with django_assert_num_queries(LIST_QUERIES):
        response = client_a.get("/api/v1/interactions/")
    assert response.json()["count"] == size


def test_detail_is_404_out_of_scope(
    api_client: Callable[[User], APIClient],
    rm_a: User,
    rm_b: User,
    admin_user: User,
    analyst: User,
    party_a: Party,
) -> None:
    seed_interactions(rm_a, party_a, 1)
    pk = Interaction.objects.get().pk

    assert set(api_client(rm_a).get(f"/api/v1/interactions/{pk}/").json()) == INTERACTION_KEYS
    assert api_client(analyst).get(f"/api/v1/interactions/{pk}/").status_code == 200
    problem(api_client(rm_b).get(f"/api/v1/interactions/{pk}/"), 404)
    problem(api_client(admin_user).get(f"/api/v1/interactions/{pk}/"), 404)
    problem(api_client(rm_a).get(f"/api/v1/interactions/{pk + 1000}/"), 404)


# --- tasks ---------------------------------------------------------------------------------------
def create_task(client: APIClient, party: Party, **overrides: Any) -> Any:
    body = {"party": party.pk, "title": "Collect the audited accounts", "due_date": "2025-04-30", **overrides}
    return client.post("/api/v1/tasks/", body, format="json")


def test_task_create_read_patch_with_etags(client_a: APIClient, party_a: Party, rm_a: User) -> None:
    created = create_task(client_a, party_a, kind="document")
    assert created.status_code == 201
    task = created.json()
    assert set(task) == TASK_KEYS
    assert (task["assignee"], task["created_by"], task["kind"], task["version"]) == (
        rm_a.pk,
        rm_a.pk,
        "document",
        1,
    )
    url = f"/api/v1/tasks/{task['id']}/"

    read = client_a.get(url)
    etag = read["ETag"]
    assert etag == f'"{task["id"]}-1"'
    problem(client_a.patch(url, {"title": "New"}, format="json"), 428)
    problem(client_a.patch(url, {"title": "New"}, format="json", HTTP_IF_MATCH='"0-0"'), 412)
    patched = client_a.patch(
        url, {"title": "New", "due_date": "2025-05-31"}, format="json", HTTP_IF_MATCH=etag
    )
    assert patched.status_code == 200
    assert (patched.json()["title"], patched.json()["due_date"], patched.json()["version"]) == (
        "New",
        "2025-05-31",
        2,
    )
    assert patched["ETag"] == f'"{task["id"]}-2"'
    problem(client_a.patch(url, {"title": "Stale"}, format="json", HTTP_IF_MATCH=etag), 412)
    problem(client_a.patch(url, {"status": "done"}, format="json", HTTP_IF_MATCH=patched["ETag"]), 400)
    problem(client_a.patch(url, {"assignee": 1}, format="json", HTTP_IF_MATCH=patched["ETag"]), 400)
    assert Task.objects.get().title == "New"


def test_complete_then_complete_again_is_409(client_a: APIClient, party_a: Party) -> None:
    task = create_task(client_a, party_a).json()
    url = f"/api/v1/tasks/{task['id']}/complete/"

    problem(client_a.post(url, HTTP_IF_MATCH='"1-99"'), 412)
    done = client_a.post(url)
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    assert done.json()["completed_at"] is not None
    assert problem(client_a.post(url), 409)["code"] == "task_not_open"


def test_reassign_needs_an_assignee_who_can_see_the_party(
    client_a: APIClient, party_a: Party, rm_b: User, make_user: Callable[..., User]
) -> None:
    colleague = make_user("rm_a2", Role.RELATIONSHIP_MANAGER)
    task = create_task(client_a, party_a).json()
    url = f"/api/v1/tasks/{task['id']}/reassign/"

    body = problem(client_a.post(url, {"assignee": rm_b.pk}, format="json"), 400)
    assert "assignee" in body["errors"]
    unknown = problem(client_a.post(url, {"assignee": 10**9}, format="json"), 400)
    assert unknown["errors"] == body["errors"]  # an unknown id reads the same: no user enumeration
    moved = client_a.post(url, {"assignee": colleague.pk}, format="json")
    assert moved.status_code == 200
    assert moved.json()["assignee"] == colleague.pk
    assert problem(create_task(client_a, party_a, assignee=rm_b.pk), 400)["errors"] == body["errors"]
    assert Task.objects.count() == 1


def test_task_list_filters(
    client_a: APIClient, rm_a: User, party_a: Party, branch_a: Any, make_user: Callable[..., User]
) -> None:
    colleague = make_user("rm_a2", Role.RELATIONSHIP_MANAGER)
    other = Party.objects.create(kind="sme", legal_name="Other", branch=branch_a)
    yesterday = timezone.localdate() - timedelta(days=1)
    late = services.create_task(actor=rm_a, party=party_a, title="Late", due_date=yesterday)
    later = services.create_task(
        actor=rm_a, party=other, title="Later", due_date=yesterday + timedelta(days=9)
    )
    theirs = services.create_task(
        actor=rm_a, party=party_a, title="Theirs", due_date=yesterday, assignee=colleague
    )
    services.complete_task(actor=rm_a, task=later)

    def ids(query: str) -> list[int]:
        response = client_a.get(f"/api/v1/tasks/?{query}")
        assert response.status_code == 200
        return [t["id"] for t in response.json()["results"]]

    assert ids("") == [late.pk, theirs.pk, later.pk]
    assert ids("mine=true") == [late.pk, later.pk]
    assert ids("mine=true&overdue=true") == [late.pk]
    assert ids("overdue=true") == [late.pk, theirs.pk]
    assert ids("status=done") == [later.pk]
    assert ids(f"party={other.pk}") == [later.pk]
    listed = client_a.get("/api/v1/tasks/?mine=true").json()["results"]
    assert [t["is_overdue"] for t in listed] == [True, False]
    problem(client_a.get("/api/v1/tasks/?status=lost"), 400)
    problem(client_a.get("/api/v1/tasks/?mine=perhaps"), 400)


@pytest.mark.parametrize("size", [2, 25])
def test_task_list_query_count_does_not_grow(
    client_a: APIClient, rm_a: User, party_a: Party, size: int, django_assert_num_queries: Any
) -> None:
    for n in range(size):
        services.create_task(actor=rm_a, party=party_a, title=f"T{n}", due_date=date(2025, 4, 1))
    client_a.get("/api/v1/tasks/")  # the token's last use is recorded once, not per request

    with django_assert_num_queries(LIST_QUERIES):
        response = client_a.get("/api/v1/tasks/?mine=true&overdue=true")
    assert response.json()["count"] == size


def test_task_create_out_of_scope_is_404(client_b: APIClient, party_a: Party) -> None:
    problem(create_task(client_b, party_a), 404)
    assert Task.objects.count() == 0


# --- the other-branch matrix ---------------------------------------------------------------------
def test_other_branch_gets_404_on_every_id_endpoint_and_changes_nothing(
    client_a: APIClient,
    client_b: APIClient,
    api_client: Callable[[User], APIClient],
    admin_user: User,
    rm_a: User,
    rm_b: User,
    party_a: Party,
) -> None:
    seed_interactions(rm_a, party_a, 1)
    interaction_id = Interaction.objects.get().pk
    task = create_task(client_a, party_a).json()
    etag = f'"{task["id"]}-1"'
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("get", f"/api/v1/interactions/{interaction_id}/", None),
        ("get", f"/api/v1/tasks/{task['id']}/", None),
        ("patch", f"/api/v1/tasks/{task['id']}/", {"title": "Taken"}),
        ("post", f"/api/v1/tasks/{task['id']}/complete/", None),
        ("post", f"/api/v1/tasks/{task['id']}/reassign/", {"assignee": rm_b.pk}),
        ("get", f"/api/v1/parties/{party_a.pk}/timeline/", None),
    ]

    clients = (client_b, api_client(admin_user))
    before_audit = AuditEvent.objects.count()
    for client in clients:
        for method, url, body in calls:
            response = getattr(client, method)(url, body, format="json", HTTP_IF_MATCH=etag)
            body_text = response.content.decode()
            problem(response, 404)
            assert "Collect" not in body_text
            assert "Pudong" not in body_text

    stored = Task.objects.get()
    assert (stored.title, stored.status, stored.assignee_id, stored.version) == (
        "Collect the audited accounts", "open", rm_a.pk, 1,
    )  # fmt: skip
    assert AuditEvent.objects.count() == before_audit


# --- timeline ------------------------------------------------------------------------------------
def test_timeline_api_walks_every_entry_once(client_a: APIClient, rm_a: User, party_a: Party) -> None:
    seed_interactions(rm_a, party_a, 5)
    task = services.create_task(actor=rm_a, party=party_a, title="Call back", due_date=date(2025, 4, 1))
    services.complete_task(actor=rm_a, task=task)
    services.update_task(actor=rm_a, task=task, expected_version=None, status="open")

    seen: list[tuple[str, int]] = []
    url: str | None = f"/api/v1/parties/{party_a.pk}/timeline/?limit=2"
    pages = 0
    while url:
        response = client_a.get(url)
        assert response.status_code == 200
        body = response.json()
        seen += [(e["kind"], e["id"]) for e in body["results"]]
        pages += 1
        url = (
            f"/api/v1/parties/{party_a.pk}/timeline/?limit=2&cursor={body['next']}" if body["next"] else None
        )

    kinds = [k for k, _ in seen]
    assert len(seen) == len(set(seen)) == 7  # five interactions, one task created, one change (reopened)
    assert kinds[:2] == ["change", "task_created"]  # newest first; completion was undone by the reopen
    assert pages == 4


def test_timeline_entry_shape_hides_changed_values(client_a: APIClient, rm_a: User, party_a: Party) -> None:
    task = services.create_task(actor=rm_a, party=party_a, title="Old title", due_date=date(2025, 4, 1))
    services.update_task(actor=rm_a, task=task, expected_version=1, title="Secret new title")

    entries = client_a.get(f"/api/v1/parties/{party_a.pk}/timeline/").json()["results"]

    change = entries[0]
    assert change["kind"] == "change"
    assert change["change"] == {
        "action": "task.updated", "object_type": "task", "object_id": str(task.pk), "changed": ["title"],
    }  # fmt: skip
    assert (change["interaction"], change["task"], change["actor"]) == (None, None, rm_a.pk)
    assert entries[1]["kind"] == "task_created"
    assert set(entries[1]["task"]) == TASK_KEYS


@pytest.mark.parametrize("query", ["cursor=bogus", "cursor=%25%25", "limit=0", "limit=201", "limit=x"])
def test_timeline_bad_query_is_400(client_a: APIClient, party_a: Party, query: str) -> None:
    problem(client_a.get(f"/api/v1/parties/{party_a.pk}/timeline/?{query}"), 400)


def test_timeline_of_an_unknown_party_is_404(client_a: APIClient) -> None:
    problem(client_a.get("/api/v1/parties/999999/timeline/"), 404)
    problem(client_a.get(f"/api/v1/parties/{2**64}/timeline/"), 404)


@pytest.mark.parametrize("size", [2, 30])
def test_timeline_query_count_does_not_grow(
    client_a: APIClient, rm_a: User, party_a: Party, size: int, django_assert_num_queries: Any
) -> None:
    seed_interactions(rm_a, party_a, size)
    for n in range(size):
        task = services.create_task(actor=rm_a, party=party_a, title=f"T{n}", due_date=date(2025, 4, 1))
        services.complete_task(actor=rm_a, task=task)
    first = client_a.get(f"/api/v1/parties/{party_a.pk}/timeline/?limit=4").json()

    with django_assert_num_queries(TIMELINE_QUERIES):
        response = client_a.get(f"/api/v1/parties/{party_a.pk}/timeline/?limit=4&cursor={first['next']}")
    assert len(response.json()["results"]) == min(4, 3 * size - 4)  # 3 entries a step, 4 seen already


# Authentication (token with its user, roles) plus the endpoint's own work, pinned so an N+1 fails:
# lists count and fetch one page; the timeline resolves the party and reads its four sources.
LIST_QUERIES = 2 + 2
TIMELINE_QUERIES = 2 + 1 + 4
