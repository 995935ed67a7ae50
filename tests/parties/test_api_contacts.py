"""Contacts and relationships through the API."""

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from lendcrm.core.models import User
from lendcrm.parties.models import ContactPoint, ContactRole, Party, Relationship

pytestmark = pytest.mark.django_db

Client = Callable[[User | None], APIClient]
MakeParty = Callable[..., Party]


def test_contact_lifecycle(api_client: Client, rm_a: User, make_party: MakeParty) -> None:
    party, other = make_party("Acme", actor=rm_a), make_party("Acme Holding", actor=rm_a)
    client = api_client(rm_a)
    created = client.post(
        "/api/v1/contacts/",
        {
            "party": party.pk,
            "role": "ubo",
            "ownership_pct": "25.5",
            "full_name": "Wang Fang",
            "local_name": "王芳",
            "points": [{"kind": "email", "value": "wang.fang@acme.example", "is_preferred": True}],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    contact = created.json()
    url = f"/api/v1/contacts/{contact['id']}/"
    assert contact["roles"] == [
        {"id": contact["roles"][0]["id"], "party": party.pk, "role": "ubo", "ownership_pct": "25.500"}
    ]
    assert contact["points"][0]["value"] == "wang.fang@acme.example"
    assert created["ETag"] == f'"{contact["id"]}-1"'
    assert client.get("/api/v1/parties/", {"search": "wang.fang@"}).json()["count"] == 1

    role = client.post(f"{url}roles/", {"party": other.pk, "role": "director"}, format="json")
    assert role.status_code == 201, role.json()
    point = client.post(
        f"{url}points/", {"kind": "email", "value": "fang@new.example", "is_preferred": True}, format="json"
    )
    assert point.status_code == 201, point.json()
    assert not ContactPoint.objects.get(value="wang.fang@acme.example").is_preferred

    got = client.get(url)
    assert got["ETag"] == f'"{contact["id"]}-3"'
    assert client.patch(url, {"title": "CFO"}, format="json").status_code == 428
    assert client.patch(url, {"title": "CFO"}, format="json", HTTP_IF_MATCH='"1-1"').status_code == 412
    patched = client.patch(url, {"title": "CFO"}, format="json", HTTP_IF_MATCH=got["ETag"])
    assert patched.status_code == 200, patched.json()
    assert patched.json()["title"] == "CFO"
    assert client.patch(url, {"roles": []}, format="json", HTTP_IF_MATCH=patched["ETag"]).status_code == 400


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"role": "ubo"}, "ownership_pct"),
        ({"role": "ubo", "ownership_pct": "101"}, "ownership_pct"),
        ({"role": "cfo", "ownership_pct": "5"}, "ownership_pct"),
        ({"role": "cfo", "points": [{"kind": "email", "value": "nope"}]}, "points.0.value"),
        ({"role": "cfo", "points": [{"kind": "phone", "value": "+86 21 5555", "fax": 1}]}, "points.0.fax"),
        ({"role": "cfo", "email": "x@y.cn"}, "email"),
    ],
)
def test_invalid_contact_is_a_400(
    api_client: Client, rm_a: User, make_party: MakeParty, payload: dict[str, object], field: str
) -> None:
    party = make_party("Acme", actor=rm_a)
    response = api_client(rm_a).post(
        "/api/v1/contacts/", {"party": party.pk, "full_name": "Wang Fang", **payload}, format="json"
    )
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not ContactRole.objects.exists()


def test_ubo_total_over_100_is_refused(api_client: Client, rm_a: User, make_party: MakeParty) -> None:
    party = make_party("Acme", actor=rm_a)
    client = api_client(rm_a)
    for name, pct, expected in (("A", "60", 201), ("B", "40.001", 400), ("B", "40", 201)):
        response = client.post(
            "/api/v1/contacts/",
            {"party": party.pk, "full_name": name, "role": "ubo", "ownership_pct": pct},
            format="json",
        )
        assert response.status_code == expected, response.json()
    assert ContactRole.objects.filter(role="ubo").count() == 2


def test_relationships(api_client: Client, analyst: User, make_party: MakeParty) -> None:
    a, b, c = make_party("A Corp"), make_party("B Corp"), make_party("C Corp")
    client = api_client(analyst)
    url = "/api/v1/relationships/"

    def link(src: Party, dst: Party, kind: str = "parent_of", pct: str | None = "60") -> dict[str, Any]:
        response = client.post(
            url, {"from_party": src.pk, "to_party": dst.pk, "kind": kind, "ownership_pct": pct}, format="json"
        )
        return {"status": response.status_code, **response.json()}

    ab, bc = link(a, b), link(b, c)
    assert (ab["status"], bc["status"]) == (201, 201)
    assert ab["ownership_pct"] == "60.000"
    cycle = link(c, a, pct="10")
    assert cycle["status"] == 400
    assert "cycle" in str(cycle["detail"])
    over = link(a, c, kind="shareholder_of", pct="40.5")
    assert over["status"] == 400
    assert "100" in str(over["detail"])
    assert link(a, c, kind="sponsor_of", pct=None)["status"] == 201

    listed = client.get(url, {"party": b.pk}).json()
    assert sorted(r["id"] for r in listed["results"]) == sorted([ab["id"], bc["id"]])
    assert client.get(url).json()["count"] == 3
    assert client.get(f"{url}{ab['id']}/").json()["kind"] == "parent_of"
    assert client.delete(f"{url}{ab['id']}/").status_code == 204
    assert client.get(f"{url}{ab['id']}/").status_code == 404
    assert Relationship.objects.count() == 2
    assert client.get(url, {"party": 10**15}).status_code == 404


def _contact(client: APIClient, party: Party, name: str, local: str = "", role: str = "director") -> int:
    response = client.post(
        "/api/v1/contacts/",
        {"party": party.pk, "role": role, "full_name": name, "local_name": local},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return int(response.json()["id"])


def test_contact_list_is_scoped_filtered_and_searchable(
    api_client: Client, rm_a: User, rm_b: User, analyst: User, make_party: MakeParty, branch_b: Any
) -> None:
    acme, other = make_party("Acme", actor=rm_a), make_party("Other", actor=rm_a)
    client = api_client(rm_a)
    wang = _contact(client, acme, "Wang Fang", "王芳")
    li = _contact(client, other, "Li Lei", "李雷")

    listed = client.get("/api/v1/contacts/").json()
    assert [c["id"] for c in listed["results"]] == [li, wang]  # by name
    assert [c["id"] for c in client.get("/api/v1/contacts/", {"party": acme.pk}).json()["results"]] == [wang]
    assert [c["id"] for c in client.get("/api/v1/contacts/", {"search": "王"}).json()["results"]] == [wang]
    assert [c["id"] for c in client.get("/api/v1/contacts/", {"search": "li l"}).json()["results"]] == [li]
    assert api_client(analyst).get("/api/v1/contacts/").json()["count"] == 2

    # Another branch sees none of them, and a filter on a hidden party is a 404, not an empty page.
    outsider = api_client(rm_b)
    assert outsider.get("/api/v1/contacts/").json()["count"] == 0
    assert outsider.get("/api/v1/contacts/", {"search": "Wang"}).json()["count"] == 0
    assert outsider.get("/api/v1/contacts/", {"party": acme.pk}).status_code == 404
    assert client.get("/api/v1/contacts/", {"party": "x"}).status_code == 400


def test_contact_list_shows_only_roles_at_visible_parties(
    api_client: Client, rm_a: User, rm_b: User, make_party: MakeParty, branch_b: Any
) -> None:
    acme = make_party("Acme", actor=rm_a)
    beijing = make_party("Beijing Co", actor=rm_b, branch=branch_b)
    wang = _contact(api_client(rm_a), acme, "Wang Fang")
    response = api_client(rm_b).post(
        f"/api/v1/contacts/{wang}/roles/", {"party": beijing.pk, "role": "cfo"}, format="json"
    )
    assert response.status_code == 404  # rm_b cannot reach a contact known only at branch A
    ContactRole.objects.create(contact_id=wang, party=beijing, role="cfo")
    seen_by_b = api_client(rm_b).get("/api/v1/contacts/").json()["results"]
    assert [r["party"] for r in seen_by_b[0]["roles"]] == [beijing.pk]


def test_contact_list_query_count_is_constant(
    api_client: Client, rm_a: User, make_party: MakeParty, django_assert_num_queries: Any
) -> None:
    client = api_client(rm_a)
    for index in range(3):
        _contact(client, make_party(f"Small {index}", actor=rm_a), f"Person {index}")
    client.get("/api/v1/contacts/")  # warm the token's last_used_at
    # token + user + roles, count, page, roles, points
    with django_assert_num_queries(6):
        assert client.get("/api/v1/contacts/").json()["count"] == 3
    for index in range(3, 25):
        _contact(client, make_party(f"Big {index}", actor=rm_a), f"Person {index}")
    with django_assert_num_queries(6):
        assert client.get("/api/v1/contacts/").json()["count"] == 25
