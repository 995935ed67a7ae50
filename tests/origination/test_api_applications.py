"""The applications API: create (idempotent), list and detail with pinned query counts, draft edits with
If-Match, transitions with problem+json refusals, the checklist, and scope."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from lendcrm.core.models import User
from lendcrm.origination.models import Application, Status
from lendcrm.parties.models import Party
from tests.origination.conftest import AppFactory, facility

pytestmark = pytest.mark.django_db
Client = Callable[[User | None], APIClient]
LIST_QUERIES = 5
DETAIL_QUERIES = 9

FACILITY = {
    "product": "working_capital",
    "amount": "5000000.00",
    "currency": "CNY",
    "tenor_months": 36,
    "repayment_profile": "annuity",
    "rate_type": "floating",
    "base_rate": "lpr_1y",
    "margin_pct": "0.85",
}


def _create(client: APIClient, borrower: Party, **extra: Any) -> Any:
    body = {"borrower": borrower.pk, "purpose": "Order book", "facilities": [FACILITY], **extra}
    return client.post("/api/v1/applications/", body, format="json")


def test_create_returns_the_draft_with_etag_and_checklist(
    api_client: Client, rm_a: User, borrower: Party
) -> None:
    response = _create(api_client(rm_a), borrower)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft"
    assert body["reference"].startswith("APP-")
    assert body["facilities"][0]["amount"] == "5000000.00"
    assert body["facilities"][0]["lgd"] == "0.4000"
    assert body["next_statuses"] == ["expired", "submitted", "withdrawn"]
    assert body["checklist"]
    assert all(i["status"] == "required" for i in body["checklist"])
    assert body["status_history"][0]["to_status"] == "draft"
    assert response["ETag"] == f'"{body["id"]}-1"'


def test_create_is_idempotent(api_client: Client, rm_a: User, borrower: Party) -> None:
    client = api_client(rm_a)
    body = {"borrower": borrower.pk, "facilities": [FACILITY]}
    first = client.post("/api/v1/applications/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = client.post("/api/v1/applications/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Application.objects.count() == 1


def test_bad_terms_are_problem_json_with_field_names(api_client: Client, rm_a: User, borrower: Party) -> None:
    response = _create(api_client(rm_a), borrower, facilities=[{**FACILITY, "margin_pct": None}])
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "facilities.0.margin_pct" in response.json()["errors"]
    assert not Application.objects.exists()


def test_other_branch_sees_nothing(api_client: Client, rm_b: User, apps: AppFactory, borrower: Party) -> None:
    application = apps.draft()
    client = api_client(rm_b)
    assert client.get("/api/v1/applications/").json()["count"] == 0
    for path in ("", "transitions/", "memo/"):
        assert client.get(f"/api/v1/applications/{application.pk}/{path}").status_code == 404
    moved = client.post(
        f"/api/v1/applications/{application.pk}/transitions/", {"to_status": "submitted"}, format="json"
    )
    assert moved.status_code == 404
    assert _create(client, borrower).status_code == 404
    application.refresh_from_db()
    assert application.status == Status.DRAFT


def test_patch_needs_if_match_and_refuses_stale(api_client: Client, rm_a: User, apps: AppFactory) -> None:
    application = apps.draft()
    client = api_client(rm_a)
    path = f"/api/v1/applications/{application.pk}/"
    assert client.patch(path, {"purpose": "x"}, format="json").status_code == 428
    assert client.patch(path, {"purpose": "x"}, format="json", HTTP_IF_MATCH='"0-0"').status_code == 412
    etag = client.get(path)["ETag"]
    changed = client.patch(path, {"purpose": "New purpose"}, format="json", HTTP_IF_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["purpose"] == "New purpose"
    assert changed["ETag"] != etag


def test_patch_after_submission_is_409(api_client: Client, rm_a: User, apps: AppFactory) -> None:
    application = apps.at(Status.SUBMITTED)
    client = api_client(rm_a)
    path = f"/api/v1/applications/{application.pk}/"
    response = client.patch(path, {"purpose": "late"}, format="json", HTTP_IF_MATCH=client.get(path)["ETag"])
    assert response.status_code == 409
    assert response.json()["code"] == "not_draft"


def test_transition_and_history(api_client: Client, rm_a: User, apps: AppFactory) -> None:
    application = apps.draft()
    client = api_client(rm_a)
    path = f"/api/v1/applications/{application.pk}/transitions/"
    moved = client.post(path, {"to_status": "submitted", "note": "All in"}, format="json")
    assert moved.status_code == 200
    assert moved.json()["status"] == "submitted"
    history = client.get(path).json()
    assert history["status"] == "submitted"
    assert [h["to_status"] for h in history["history"]] == ["draft", "submitted"]
    assert history["history"][0]["target_hours"] == 240
    assert history["history"][1]["note"] == "All in"
    assert history["current_target_hours"] == 8
    assert history["overdue"] is False
    assert history["next_statuses"] == ["expired", "in_review", "withdrawn"]


@pytest.mark.parametrize(
    ("to_status", "code"),
    [
        ("approved", "use_decisions"),
        ("offer_issued", "use_offers"),
        ("ready_to_disburse", "illegal_transition"),
    ],
)
def test_refused_transitions_are_409_problems(
    api_client: Client, rm_a: User, apps: AppFactory, to_status: str, code: str
) -> None:
    application = apps.draft()
    response = api_client(rm_a).post(
        f"/api/v1/applications/{application.pk}/transitions/", {"to_status": to_status}, format="json"
    )
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    application.refresh_from_db()
    assert (application.status, application.version) == (Status.DRAFT, 1)


def test_stale_if_match_on_a_transition_is_412(api_client: Client, rm_a: User, apps: AppFactory) -> None:
    application = apps.draft()
    response = api_client(rm_a).post(
        f"/api/v1/applications/{application.pk}/transitions/",
        {"to_status": "submitted"},
        format="json",
        HTTP_IF_MATCH=f'"{application.pk}-99"',
    )
    assert response.status_code == 412


def test_checklist_item_patch(api_client: Client, rm_a: User, analyst: User, apps: AppFactory) -> None:
    application = apps.draft()
    item = application.checklist.first()
    assert item is not None
    path = f"/api/v1/applications/{application.pk}/checklist/{item.pk}/"
    received = api_client(rm_a).patch(path, {"status": "received"}, format="json")
    assert received.status_code == 200
    assert received.json()["status"] == "received"
    no_reason = api_client(analyst).patch(path, {"status": "waived"}, format="json")
    assert no_reason.status_code == 400
    assert "waiver_reason" in no_reason.json()["errors"]
    waived = api_client(analyst).patch(path, {"status": "waived", "waiver_reason": "On file"}, format="json")
    assert waived.json()["waiver_reason"] == "On file"
    assert api_client(rm_a).patch(path, {"status": "verified"}, format="json").status_code == 403


def test_list_filters(api_client: Client, rm_a: User, rm_a2: User, apps: AppFactory) -> None:
    apps.draft()
    submitted = apps.at(Status.SUBMITTED)
    client = api_client(rm_a)
    assert (
        client.get("/api/v1/applications/", {"status": "submitted"}).json()["results"][0]["id"]
        == submitted.pk
    )
    assert client.get("/api/v1/applications/", {"mine": "true"}).json()["count"] == 2
    assert api_client(rm_a2).get("/api/v1/applications/", {"mine": "true"}).json()["count"] == 0
    assert api_client(rm_a2).get("/api/v1/applications/").json()["count"] == 2
    assert client.get("/api/v1/applications/", {"status": "nope"}).status_code == 400


def _queries(client: APIClient, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_list_and_detail_queries_are_pinned(api_client: Client, rm_a: User, apps: AppFactory) -> None:
    """Token and roles (2), then the list: count, page, targets (3); the detail: the application with its
    memo, five prefetches (parties, facilities, checklist, history, offers) and the targets (7)."""
    client = api_client(rm_a)
    client.get("/api/v1/me/")  # the token's first use is recorded once; not part of the pinned counts
    first = apps.at(Status.CREDIT_ANALYSIS)
    assert _queries(client, "/api/v1/applications/") == LIST_QUERIES
    assert _queries(client, f"/api/v1/applications/{first.pk}/") == DETAIL_QUERIES
    for _ in range(3):
        apps.at(Status.CREDIT_ANALYSIS, facilities=[facility()] * 3)
    bigger = apps.at(Status.PENDING_DECISION, facilities=[facility()] * 4)
    assert _queries(client, "/api/v1/applications/") == LIST_QUERIES
    assert _queries(client, f"/api/v1/applications/{bigger.pk}/") == DETAIL_QUERIES
