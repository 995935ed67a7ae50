"""The party API: create with identifiers, ETags, idempotent creates, strict input, search and filters."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from lendcrm.core.models import AuditEvent, Branch, IdempotencyRecord, User
from lendcrm.core.roles import Role
from lendcrm.parties import api as party_api
from lendcrm.parties import services
from lendcrm.parties.models import Identifier, Party, PartyKind
from lendcrm.parties.services import NewContactPoint
from tests.parties.conftest import make_lei, make_uscc

pytestmark = pytest.mark.django_db

Client = Callable[[User | None], APIClient]
MakeParty = Callable[..., Party]
URL = "/api/v1/parties/"


def detail(party: Party | int) -> str:
    return f"{URL}{party if isinstance(party, int) else party.pk}/"


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": "corporate", "legal_name": "Shanghai Pudong Development Bank"}
    data.update(overrides)
    return data


# --- create ---------------------------------------------------------------------------------------
def test_create_party_with_identifiers(api_client: Client, rm_a: User) -> None:
    lei, uscc = make_lei(), make_uscc()
    response = api_client(rm_a).post(
        URL,
        body(
            local_name="上海浦东发展银行",
            country="CN",
            industry_code="K6419",
            segment="institutional",
            annual_revenue={"amount": "170000000000.50", "currency": "CNY"},
            employees=60000,
            incorporation_date="1992-10-19",
            identifiers=[{"scheme": "lei", "value": lei.lower()}, {"scheme": "uscc", "value": uscc}],
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    party = Party.objects.get()
    assert response["ETag"] == f'"{party.pk}-1"'
    assert set(data) == {
        "id",
        "kind",
        "legal_name",
        "local_name",
        "short_name",
        "country",
        "industry_code",
        "segment",
        "lifecycle",
        "kyc_status",
        "kyc_next_review",
        "branch",
        "lead_rm",
        "annual_revenue",
        "total_assets",
        "employees",
        "incorporation_date",
        "birth_date",
        "version",
        "identifiers",
        "created_at",
        "updated_at",
    }
    assert data["id"] == party.pk
    assert (data["branch"], data["lead_rm"], data["lifecycle"]) == ("SH01", rm_a.pk, "prospect")
    assert data["annual_revenue"] == {"amount": "170000000000.50", "currency": "CNY"}
    assert data["total_assets"] is None
    assert sorted((i["scheme"], i["value"]) for i in data["identifiers"]) == [("lei", lei), ("uscc", uscc)]
    assert all(isinstance(i["id"], int) for i in data["identifiers"])


def test_create_books_at_a_named_branch_with_a_lead(
    api_client: Client, analyst: User, rm_b: User, branch_b: Branch
) -> None:
    response = api_client(analyst).post(URL, body(branch="bj01", lead_rm=rm_b.pk), format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["branch"], response.json()["lead_rm"]) == ("BJ01", rm_b.pk)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"branch": "XX99"}, "branch"),
        ({"lead_rm": 999_999}, "lead_rm"),
        ({"kind": "bank"}, "kind"),
        ({"country": "China"}, "country"),
        ({"annual_revenue": {"amount": "1.5", "currency": "cny"}}, "annual_revenue.currency"),
        ({"annual_revenue": {"amount": "-1", "currency": "CNY"}}, "annual_revenue.amount"),
        ({"annual_revenue": {"amount": "1", "currency": "CNY", "fx": 1}}, "annual_revenue.fx"),
        ({"employees": 2**40}, "employees"),
        ({"identifiers": [{"scheme": "duns", "value": "123456789"}]}, "identifiers.0.scheme"),
        (
            {"identifiers": [{"scheme": "lei", "value": make_lei(1), "primary": True}]},
            "identifiers.0.primary",
        ),
        ({"search_text": "x"}, "search_text"),
        ({"version": 7}, "version"),
    ],
)
def test_bad_input_is_a_400_and_nothing_is_written(
    api_client: Client, rm_a: User, overrides: dict[str, Any], field: str
) -> None:
    response = api_client(rm_a).post(URL, body(**overrides), format="json")
    assert response.status_code == 400, response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]
    assert not Party.objects.exists()


@pytest.mark.parametrize(
    ("scheme", "value", "words"),
    [("lei", "5493001KJTIIGC8Y1R13", "LEI"), ("uscc", "91350100M000100Y44", "unified social credit code")],
)
def test_invalid_identifier_is_a_400_naming_the_scheme(
    api_client: Client, rm_a: User, scheme: str, value: str, words: str
) -> None:
    response = api_client(rm_a).post(
        URL, body(identifiers=[{"scheme": scheme, "value": value}]), format="json"
    )
    assert response.status_code == 400
    problem = response.json()
    assert words in problem["detail"]
    assert words in problem["errors"]["identifiers.0.value"][0]
    assert not Party.objects.exists()
    assert not Identifier.objects.exists()


def test_duplicate_identifier_names_the_holder(api_client: Client, rm_a: User, make_party: MakeParty) -> None:
    lei = make_lei()
    holder = make_party("中国长江三峡集团", identifiers=[("lei", lei)])
    response = api_client(rm_a).post(URL, body(identifiers=[{"scheme": "lei", "value": lei}]), format="json")
    assert response.status_code == 400
    assert f"中国长江三峡集团 (party {holder.pk})" in response.json()["detail"]
    assert Party.objects.count() == 1


def test_malformed_json_and_wrong_types_are_400(api_client: Client, rm_a: User) -> None:
    client = api_client(rm_a)
    assert client.post(URL, "{not json", content_type="application/json").status_code == 400
    assert client.post(URL, ["a", "list"], format="json").status_code == 400
    assert client.post(URL, body(legal_name=42, identifiers="lei"), format="json").status_code == 400
    assert not Party.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"legal_name": 0}, "legal_name"),
        ({"kind": 1}, "kind"),
        ({"employees": "12"}, "employees"),
        ({"employees": True}, "employees"),
        ({"lead_rm": "5"}, "lead_rm"),
        ({"annual_revenue": {"amount": 12.5, "currency": "CNY"}}, "annual_revenue.amount"),
        ({"incorporation_date": 20200101}, "incorporation_date"),
    ],
)
def test_json_types_are_not_coerced(
    api_client: Client, rm_a: User, overrides: dict[str, Any], field: str
) -> None:
    """The schema says string, integer, date: a 0 is not read as "0", nor "12" as 12."""
    response = api_client(rm_a).post(URL, body(**overrides), format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not Party.objects.exists()


def test_empty_query_parameters_are_refused_except_search(api_client: Client, analyst: User) -> None:
    client = api_client(analyst)
    assert client.get(URL, {"search": ""}).status_code == 200
    for name in ("kind", "segment", "rm", "branch", "ordering"):
        assert client.get(f"{URL}?{name}=").status_code == 400, name


def test_roles_without_write_get_403(api_client: Client, make_user: Callable[..., User]) -> None:
    compliance = make_user("compliance", Role.COMPLIANCE_OFFICER)
    response = api_client(compliance).post(URL, body(), format="json")
    assert response.status_code == 403
    assert not Party.objects.exists()


def test_unauthenticated_is_401(api_client: Client, make_party: MakeParty) -> None:
    party = make_party("Acme")
    client = api_client(None)
    assert client.get(URL).status_code == 401
    assert client.get(detail(party)).status_code == 401
    assert client.post(URL, body(), format="json").status_code == 401


# --- idempotency ----------------------------------------------------------------------------------
def test_idempotent_create_replays_and_refuses_a_different_body(api_client: Client, rm_a: User) -> None:
    client = api_client(rm_a)
    first = client.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="create-spdb-1")
    again = client.post(URL, body(), format="json", HTTP_IDEMPOTENCY_KEY="create-spdb-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Party.objects.count() == 1
    other = client.post(URL, body(legal_name="Other"), format="json", HTTP_IDEMPOTENCY_KEY="create-spdb-1")
    assert other.status_code == 422
    assert Party.objects.count() == 1


def test_a_refused_create_is_not_remembered_as_a_party(api_client: Client, rm_a: User) -> None:
    client = api_client(rm_a)
    bad = client.post(URL, body(kind="bank"), format="json", HTTP_IDEMPOTENCY_KEY="k-bad")
    assert bad.status_code == 400
    assert not Party.objects.exists()
    assert not IdempotencyRecord.objects.filter(key="k-bad").exists()


# --- read and update ------------------------------------------------------------------------------
def test_etag_flow_428_412_200(api_client: Client, rm_a: User, make_party: MakeParty) -> None:
    party = make_party("Acme", actor=rm_a)
    client = api_client(rm_a)
    got = client.get(detail(party))
    assert got.status_code == 200
    etag = got["ETag"]
    assert etag == f'"{party.pk}-1"'
    assert client.patch(detail(party), {"short_name": "A"}, format="json").status_code == 428
    stale = client.patch(detail(party), {"short_name": "A"}, format="json", HTTP_IF_MATCH='"0-0"')
    assert stale.status_code == 412
    party.refresh_from_db()
    assert (party.short_name, party.version) == ("", 1)
    ok = client.patch(
        detail(party),
        {"short_name": "A", "lifecycle": "active", "total_assets": {"amount": "5", "currency": "USD"}},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert ok.status_code == 200, ok.json()
    assert ok["ETag"] == f'"{party.pk}-2"'
    assert (ok.json()["short_name"], ok.json()["version"]) == ("A", 2)
    assert ok.json()["total_assets"] == {"amount": "5.00", "currency": "USD"}
    assert (
        client.patch(detail(party), {"short_name": "B"}, format="json", HTTP_IF_MATCH=etag).status_code == 412
    )
    assert AuditEvent.objects.filter(action="party.updated", party_id=party.pk).count() == 1


def test_patch_refusals(api_client: Client, rm_a: User, make_party: MakeParty) -> None:
    party = make_party("Acme", actor=rm_a)
    client = api_client(rm_a)
    etag = client.get(detail(party))["ETag"]
    assert (
        client.patch(detail(party), {"lifecycle": "dormant"}, format="json", HTTP_IF_MATCH=etag).status_code
        == 409
    )
    unknown = client.patch(detail(party), {"identifiers": []}, format="json", HTTP_IF_MATCH=etag)
    assert unknown.status_code == 400
    assert "identifiers" in unknown.json()["errors"]
    assert (
        client.patch(detail(party), {"legal_name": ""}, format="json", HTTP_IF_MATCH=etag).status_code == 400
    )
    party.refresh_from_db()
    assert (party.legal_name, party.lifecycle, party.version) == ("Acme", "prospect", 1)


def test_get_unknown_or_huge_id_is_404(api_client: Client, analyst: User) -> None:
    client = api_client(analyst)
    assert client.get(detail(999_999)).status_code == 404
    assert client.get(f"{URL}99999999999999999999999/").status_code == 404


# --- identifiers and coverage ---------------------------------------------------------------------
def test_identifier_endpoints(api_client: Client, rm_a: User, make_party: MakeParty) -> None:
    party = make_party("Acme", actor=rm_a)
    client = api_client(rm_a)
    uscc = make_uscc()
    added = client.post(f"{detail(party)}identifiers/", {"scheme": "uscc", "value": uscc}, format="json")
    assert added.status_code == 201, added.json()
    listed = client.get(f"{detail(party)}identifiers/")
    assert listed.json() == [{"id": added.json()["id"], "scheme": "uscc", "value": uscc}]
    bad = client.post(f"{detail(party)}identifiers/", {"scheme": "lei", "value": "123"}, format="json")
    assert bad.status_code == 400
    assert "LEI" in bad.json()["detail"]
    assert client.get(detail(party))["ETag"] == f'"{party.pk}-2"'  # identifiers are part of the party
    assert client.delete(f"{detail(party)}identifiers/{added.json()['id']}/").status_code == 204
    assert client.delete(f"{detail(party)}identifiers/{added.json()['id']}/").status_code == 404
    assert client.get(f"{detail(party)}identifiers/").json() == []


def test_coverage_endpoints(
    api_client: Client, rm_a: User, analyst: User, make_user: Callable[..., User], make_party: MakeParty
) -> None:
    party = make_party("Acme", actor=rm_a)
    rm_2 = make_user("rm_2", Role.RELATIONSHIP_MANAGER)
    client = api_client(rm_a)
    url = f"{detail(party)}coverage/"
    assert client.get(url).json() == {
        "lead": {"id": rm_a.pk, "username": "rm_a", "first_name": "", "last_name": ""},
        "team": [],
    }
    put = client.put(url, {"lead": rm_2.pk, "team": [rm_a.pk, analyst.pk]}, format="json")
    assert put.status_code == 200, put.json()
    assert put.json()["lead"]["id"] == rm_2.pk
    assert sorted(u["id"] for u in put.json()["team"]) == sorted([rm_a.pk, analyst.pk])
    assert client.get(detail(party)).json()["lead_rm"] == rm_2.pk
    refused = client.put(url, {"lead": analyst.pk}, format="json")
    assert refused.status_code == 400
    assert client.put(url, {"lead": 10**12}, format="json").json()["errors"] == refused.json()["errors"]
    assert client.put(url, {"lead": rm_a.pk}, format="json", HTTP_IF_MATCH='"1-1"').status_code == 412
    assert client.get(url).json()["lead"]["id"] == rm_2.pk


def test_coverage_with_an_unknown_team_member_names_it_and_changes_nothing(
    api_client: Client, rm_a: User, make_user: Callable[..., User], make_party: MakeParty
) -> None:
    party = make_party("Acme", actor=rm_a)
    client = api_client(rm_a)
    url = f"{detail(party)}coverage/"
    agent = make_user("agent_1", Role.SERVICE_AGENT)
    before = client.get(url).json()
    unknown = client.put(url, {"lead": rm_a.pk, "team": [agent.pk, 10**12]}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == {"team": [f"{10**12} is not an active member of staff."]}
    assert client.get(url).json() == before


# --- list, search and filters ---------------------------------------------------------------------
@pytest.fixture
def book(make_party: MakeParty, rm_a: User, branch_b: Branch) -> dict[str, Party]:
    spdb = make_party(
        "Shanghai Pudong Development Bank",
        local_name="上海浦东发展银行",
        kind=PartyKind.FINANCIAL_INSTITUTION,
        country="CN",
        identifiers=[("lei", make_lei(42))],
        actor=rm_a,
        segment="institutional",
    )
    ctg = make_party(
        "China Three Gorges Corporation",
        local_name="中国长江三峡集团",
        country="CN",
        industry_code="D3511",
        branch=branch_b,
        lifecycle="active",
        segment="large_corporate",
    )
    acme = make_party("Acme Trading GmbH", kind=PartyKind.SME, country="DE", actor=rm_a, segment="sme")
    services.create_contact(
        actor=None,
        party=acme,
        role="cfo",
        full_name="Hans Müller",
        points=[NewContactPoint("email", "hans.mueller@acme-trading.example")],
    )
    return {"spdb": spdb, "ctg": ctg, "acme": acme}


def found(client: APIClient, **params: Any) -> list[str]:
    response = client.get(URL, params)
    assert response.status_code == 200, response.json()
    return [p["legal_name"] for p in response.json()["results"]]


def test_search_by_chinese_name_lei_and_contact_email(
    api_client: Client, analyst: User, book: dict[str, Party]
) -> None:
    client = api_client(analyst)
    assert found(client, search="上海浦东发展银行") == ["Shanghai Pudong Development Bank"]
    assert found(client, search="长江三峡") == ["China Three Gorges Corporation"]
    assert found(client, search=make_lei(42)) == ["Shanghai Pudong Development Bank"]
    assert found(client, search="Hans.Mueller@ACME-trading.example") == ["Acme Trading GmbH"]
    assert found(client, search="three gorges") == ["China Three Gorges Corporation"]
    assert found(client, search="nobody") == []


def test_filters_and_page_size(api_client: Client, analyst: User, rm_a: User, book: dict[str, Party]) -> None:
    client = api_client(analyst)
    assert found(client, branch="BJ01") == ["China Three Gorges Corporation"]
    assert found(client, kind="sme") == ["Acme Trading GmbH"]
    assert found(client, segment="institutional") == ["Shanghai Pudong Development Bank"]
    assert found(client, lifecycle="active") == ["China Three Gorges Corporation"]
    assert found(client, country="CN", ordering="-legal_name") == [
        "Shanghai Pudong Development Bank",
        "China Three Gorges Corporation",
    ]
    assert found(client, industry="D3511") == ["China Three Gorges Corporation"]
    assert found(client, rm=rm_a.pk) == ["Acme Trading GmbH", "Shanghai Pudong Development Bank"]
    page = client.get(URL, {"page_size": 2}).json()
    assert (page["count"], len(page["results"])) == (3, 2)
    assert page["next"] is not None
    for bad in ({"kind": "bank"}, {"page_size": 0}, {"page_size": 10_000}, {"page": "x"}, {"ordering": "x"}):
        response = client.get(URL, bad)
        assert response.status_code == 400, bad
        assert response["Content-Type"] == "application/problem+json"
    assert client.get(URL, {"page": 99}).status_code == 404


def test_a_search_count_stops_at_its_cap(
    api_client: Client, analyst: User, rm_a: User, make_party: MakeParty, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a search, `count` stops at the cap and `count_capped` says more matched; every page is still
    reachable through `next`. Without a search the count is exact."""
    monkeypatch.setattr(party_api, "SEARCH_COUNT_CAP", 3)
    for i in range(5):
        make_party(f"Capped Solar {i}", local_name=f"光伏{i}", actor=rm_a)
    make_party("Other Co", actor=rm_a)
    client = api_client(analyst)
    pages, url = [], f"{URL}?search=solar&page_size=2"
    while url:
        page = client.get(url).json()
        pages.append(page)
        url = page["next"]
    assert [(p["count"], p["count_capped"]) for p in pages] == [(3, True)] * 3
    assert [r["legal_name"] for p in pages for r in p["results"]] == [f"Capped Solar {i}" for i in range(5)]
    assert pages[0]["previous"] is None
    assert "page=2" in pages[2]["previous"]
    assert client.get(URL, {"search": "solar", "page_size": 2, "page": 4}).status_code == 404
    exact = client.get(URL, {"search": "光伏", "page_size": 2}).json()
    assert (exact["count"], exact["count_capped"]) == (3, True)
    few = client.get(URL, {"search": "solar 4"}).json()
    assert (few["count"], few["count_capped"], len(few["results"])) == (1, False, 1)
    unsearched = client.get(URL, {"page_size": 2}).json()
    assert (unsearched["count"], unsearched["count_capped"]) == (6, False)


def test_who_sees_what(
    api_client: Client, book: dict[str, Party], admin_user: User, analyst: User, rm_a: User, rm_b: User
) -> None:
    assert found(api_client(admin_user)) == []
    assert len(found(api_client(analyst))) == 3
    assert found(api_client(rm_a)) == ["Acme Trading GmbH", "Shanghai Pudong Development Bank"]
    assert found(api_client(rm_b)) == ["China Three Gorges Corporation"]
    assert api_client(admin_user).get(detail(book["acme"])).status_code == 404


def test_list_query_count_is_constant(
    api_client: Client, analyst: User, make_party: MakeParty, rm_a: User
) -> None:
    client = api_client(analyst)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(URL, {"page_size": 200})
        assert response.status_code == 200
        return len(ctx.captured_queries)

    make_party("One", identifiers=[("lei", make_lei())], actor=rm_a)
    count()  # the first request also stamps the token's last use
    small = count()
    for i in range(15):
        make_party(f"Many {i}", identifiers=[("lei", make_lei()), ("uscc", make_uscc())], actor=rm_a)
    assert count() == small


# --- group and 360 --------------------------------------------------------------------------------
def test_group_and_360_endpoints(api_client: Client, rm_a: User, make_party: MakeParty) -> None:
    head = make_party("中国长江三峡集团", actor=rm_a)
    sub = make_party("China Yangtze Power", actor=rm_a)
    sponsor = make_party("Sponsor Co", actor=rm_a)
    services.create_relationship(
        actor=None, from_party=head, to_party=sub, kind="parent_of", ownership_pct=Decimal(60)
    )
    services.create_relationship(actor=None, from_party=sponsor, to_party=sub, kind="sponsor_of")
    client = api_client(rm_a)
    group = client.get(f"{detail(sub)}group/").json()
    assert group["ultimate_parent"]["id"] == head.pk
    assert group["tree"]["children"][0]["legal_name"] == "China Yangtze Power"
    assert group["tree"]["children"][0]["ownership_pct"] == "60.000"
    assert {n["id"] for n in group["connected"]} == {head.pk, sponsor.pk}
    view = client.get(f"{detail(sub)}360/")
    assert view.status_code == 200
    data = view.json()
    assert set(data) == {
        "party",
        "identifiers",
        "coverage",
        "contacts",
        "group",
        "relationships",
        "recent_interactions",
        "open_tasks",
    }
    assert data["party"]["id"] == sub.pk
    assert data["coverage"]["lead"]["id"] == rm_a.pk
    assert data["group"]["ultimate_parent"]["legal_name"] == "中国长江三峡集团"
    assert sorted(r["kind"] for r in data["relationships"]) == ["parent_of", "sponsor_of"]
    assert AuditEvent.objects.filter(action="party.viewed_360", party_id=sub.pk, actor=rm_a).count() == 1
