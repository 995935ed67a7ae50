"""The pipeline API: status codes, problem+json, scoping, ETags, idempotency and query counts."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from lendcrm.core.models import User
from lendcrm.origination.models import Application
from lendcrm.parties.models import Party
from lendcrm.pipeline import services
from lendcrm.pipeline.models import Lead, Opportunity, Proposal
from tests.pipeline.conftest import make_lei, opportunity_data, proposal_data

pytestmark = pytest.mark.django_db

LEADS, OPPS, PROPOSALS = "/api/v1/leads/", "/api/v1/opportunities/", "/api/v1/proposals/"


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def facility_json(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "product": "term_loan",
        "amount": "30000000.00",
        "currency": "CNY",
        "tenor_months": 60,
        "repayment_profile": "annuity",
        "grace_months": 6,
        "rate_type": "floating",
        "base_rate": "lpr_5y",
        "margin_pct": "0.85",
    }
    body.update(overrides)
    return body


@pytest.fixture
def client_a(api_client: Callable[[User], APIClient], rm_a: User) -> APIClient:
    return api_client(rm_a)


@pytest.fixture
def client_b(api_client: Callable[[User], APIClient], rm_b: User) -> APIClient:
    return api_client(rm_b)


def test_every_endpoint_needs_authentication(api_client: Callable[[User | None], APIClient]) -> None:
    anonymous = api_client(None)
    for path in ("/api/v1/products/", LEADS, OPPS, PROPOSALS, f"{OPPS}funnel/", f"{OPPS}time-in-stage/"):
        body = problem(anonymous.get(path), 401)
        assert body["code"] == "not_authenticated"


def test_products_list_the_active_catalogue_in_order(client_a: APIClient) -> None:
    body = client_a.get("/api/v1/products/").json()
    assert [p["code"] for p in body][:3] == ["term_loan", "revolving_facility", "working_capital"]
    assert len(body) == 13
    lending = client_a.get("/api/v1/products/?family=non_lending").json()
    assert {p["family"] for p in lending} == {"non_lending"}


# --- leads -----------------------------------------------------------------------------------------
def test_create_a_lead_then_read_it_with_its_etag(client_a: APIClient, rm_a: User) -> None:
    created = client_a.post(
        LEADS,
        {
            "name": "Lujiazui Solar Co.",
            "source": "partner",
            "lei": make_lei(),
            "product": "green_loan",
            "requested_amount": {"amount": "12000000.00", "currency": "CNY"},
            "contact_email": "cfo@solar.example",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["requested_amount"] == {"amount": "12000000.00", "currency": "CNY"}
    assert (body["branch"], body["owner"], body["status"], body["party"]) == ("SH01", rm_a.pk, "new", None)
    assert body["matches_existing_party"] is False
    read = client_a.get(f"{LEADS}{body['id']}/")
    assert read["ETag"] == f'"{body["id"]}-1"'
    assert read.json() == body


def test_a_bad_lei_is_a_400_naming_the_field(client_a: APIClient) -> None:
    body = problem(client_a.post(LEADS, {"name": "X", "lei": "5493001KJTIIGC8Y1R13"}, format="json"), 400)
    assert "check digits" in body["errors"]["lei"][0]
    assert not Lead.objects.exists()


def test_a_duplicate_of_a_hidden_party_says_only_that_it_matches(client_a: APIClient, rm_b: User) -> None:
    from lendcrm.parties import services as party_services

    lei = make_lei()
    party_services.create_party(
        actor=rm_b, kind="corporate", legal_name="Hidden Ltd", branch=rm_b.branch, identifiers=[("lei", lei)]
    )
    body = client_a.post(LEADS, {"name": "Anything", "lei": lei}, format="json").json()

    assert (body["party"], body["matches_existing_party"], body["matched_by"]) == (None, True, "lei")
    assert "Hidden" not in str(body)
    qualify = problem(
        client_a.post(f"{LEADS}{body['id']}/qualify/", {"products": ["term_loan"]}, format="json"), 409
    )
    assert "Hidden" not in str(qualify)


def test_lead_creation_is_idempotent(client_a: APIClient) -> None:
    key = "lead-1"
    first = client_a.post(LEADS, {"name": "Once Only"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    again = client_a.post(LEADS, {"name": "Once Only"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    other = client_a.post(LEADS, {"name": "Another body"}, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    problem(other, 422)
    assert Lead.objects.count() == 1


def test_patch_needs_if_match_and_refuses_a_stale_one(client_a: APIClient, rm_a: User) -> None:
    lead = services.create_lead(actor=rm_a, data={"name": "Editable"})
    url = f"{LEADS}{lead.pk}/"

    problem(client_a.patch(url, {"notes": "x"}, format="json"), 428)
    ok = client_a.patch(url, {"notes": "first"}, format="json", HTTP_IF_MATCH=f'"{lead.pk}-1"')
    assert ok.status_code == 200
    assert ok["ETag"] == f'"{lead.pk}-2"'
    stale = problem(
        client_a.patch(url, {"notes": "second"}, format="json", HTTP_IF_MATCH=f'"{lead.pk}-1"'), 412
    )
    assert stale["current_etag"] == f'"{lead.pk}-2"'
    assert Lead.objects.get().notes == "first"


def test_lead_filters(client_a: APIClient, rm_a: User, rm_a2: User) -> None:
    services.create_lead(actor=rm_a, data={"name": "One", "source": "web_form"})
    services.create_lead(actor=rm_a2, data={"name": "Two", "source": "campaign"})
    done = services.create_lead(actor=rm_a, data={"name": "Three", "source": "campaign"})
    services.disqualify_lead(actor=rm_a, lead_id=done.pk, reason="too_small")

    def names(query: str) -> list[str]:
        return [lead["name"] for lead in client_a.get(f"{LEADS}?{query}").json()["results"]]

    assert names("source=campaign") == ["Three", "Two"]
    assert names("status=new") == ["Two", "One"]
    assert names(f"owner={rm_a2.pk}") == ["Two"]
    assert names("branch=SH01&status=disqualified") == ["Three"]
    assert problem(client_a.get(f"{LEADS}?status=maybe"), 400)["errors"]["status"]
    assert problem(client_a.get(f"{LEADS}?branch=NOPE"), 400)["errors"]["branch"]


def test_qualify_and_disqualify_over_the_api(client_a: APIClient, rm_a: User) -> None:
    lead = services.create_lead(actor=rm_a, data={"name": "Qualify Me", "product": "term_loan"})
    qualified = client_a.post(
        f"{LEADS}{lead.pk}/qualify/",
        {"title": "Expansion", "amount": {"amount": "1000000.00", "currency": "CNY"}, "probability": 20},
        format="json",
    )
    assert qualified.status_code == 201, qualified.content
    body = qualified.json()
    assert (body["title"], body["stage"], body["probability"], body["lead"]) == (
        "Expansion",
        "qualify",
        20,
        lead.pk,
    )
    assert body["products"] == ["term_loan"]
    assert (
        problem(client_a.post(f"{LEADS}{lead.pk}/qualify/", {}, format="json"), 409)["code"] == "lead_closed"
    )

    other = services.create_lead(actor=rm_a, data={"name": "Not for us"})
    assert problem(client_a.post(f"{LEADS}{other.pk}/disqualify/", {}, format="json"), 400)["errors"][
        "reason"
    ]
    done = client_a.post(
        f"{LEADS}{other.pk}/disqualify/", {"reason": "no_need", "note": "Cash rich"}, format="json"
    )
    assert done.json()["status"] == "disqualified"


# --- opportunities ---------------------------------------------------------------------------------
def test_create_patch_and_move_an_opportunity(client_a: APIClient, party_a: Party) -> None:
    created = client_a.post(
        OPPS,
        {
            "party": party_a.pk,
            "title": "New plant",
            "products": ["term_loan", "fx_hedging"],
            "amount": {"amount": "5000000.00", "currency": "USD"},
            "expected_close": str(timezone.localdate() + timedelta(days=90)),
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["party_name"], body["stage"], body["probability"]) == (
        "Pudong Widgets Co., Ltd.",
        "qualify",
        10,
    )
    url = f"{OPPS}{body['id']}/"

    patched = client_a.patch(
        url, {"title": "New plant, phase 1"}, format="json", HTTP_IF_MATCH=created["ETag"]
    )
    assert patched.json()["title"] == "New plant, phase 1"
    moved = client_a.post(f"{url}stage/", {"stage": "needs_analysis"}, format="json")
    assert (moved.json()["stage"], moved.json()["probability"]) == ("needs_analysis", 25)
    assert problem(client_a.post(f"{url}stage/", {"stage": "lost"}, format="json"), 400)["errors"][
        "lost_reason"
    ]
    refused = problem(client_a.post(f"{url}stage/", {"stage": "application"}, format="json"), 409)
    assert refused["code"] == "application_via_proposal"
    lost = client_a.post(f"{url}stage/", {"stage": "lost", "lost_reason": "competitor"}, format="json")
    assert lost.json()["stage"] == "lost"
    assert problem(client_a.post(f"{url}stage/", {"stage": "qualify"}, format="json"), 409)["code"] == (
        "opportunity_closed"
    )
    assert Opportunity.objects.get().stage == "lost"


def test_opportunity_filters(client_a: APIClient, rm_a: User, party_a: Party, guarantor_a: Party) -> None:
    first = services.create_opportunity(actor=rm_a, party_id=party_a.pk, data=opportunity_data(title="A"))
    services.create_opportunity(actor=rm_a, party_id=guarantor_a.pk, data=opportunity_data(title="B"))
    services.move_opportunity(actor=rm_a, opportunity_id=first.pk, stage="lost", lost_reason="price")

    def titles(query: str) -> list[str]:
        return sorted(o["title"] for o in client_a.get(f"{OPPS}?{query}").json()["results"])

    assert titles("") == ["A", "B"]
    assert titles("open=true") == ["B"]
    assert titles("stage=lost") == ["A"]
    assert titles(f"party={party_a.pk}") == ["A"]
    assert titles(f"owner={rm_a.pk}") == ["A", "B"]


def test_funnel_and_time_in_stage_endpoints(
    client_a: APIClient, opportunity_a: Opportunity, rm_a: User
) -> None:
    funnel = client_a.get(f"{OPPS}funnel/").json()
    assert funnel["currency"] == "CNY"
    assert funnel["overall"]["stages"][0] == {
        "stage": "qualify",
        "entered": 1,
        "amount": "50000000.00",
        "converted": 0,
        "conversion_rate": "0.0000",
    }
    assert [o["owner"] for o in funnel["by_owner"]] == [rm_a.pk]
    times = client_a.get(f"{OPPS}time-in-stage/?owner={rm_a.pk}").json()
    assert times["overall"]["stages"][0]["count"] == 1
    assert problem(client_a.get(f"{OPPS}funnel/?since=2025-01-01T00:00:00"), 400)["errors"]["since"]


# --- proposals -------------------------------------------------------------------------------------
def test_proposal_field_errors_are_named_by_facility(client_a: APIClient, opportunity_a: Opportunity) -> None:
    def post(*facilities: dict[str, Any]) -> dict[str, Any]:
        return problem(
            client_a.post(
                PROPOSALS, {"opportunity": opportunity_a.pk, "facilities": list(facilities)}, format="json"
            ),
            400,
        )

    assert "facilities.1.tenor_months" in post(facility_json(), facility_json(tenor_months=0))["errors"]
    assert "facilities.0.amount" in post(facility_json(amount=12))["errors"]  # a number, not a string
    errors = post(facility_json(rate_type="fixed"), facility_json(product="insurance"))["errors"]
    assert set(errors) == {"facilities.0.fixed_rate_pct", "facilities.0.base_rate", "facilities.1.product"}
    assert not Proposal.objects.exists()


def test_draft_issue_accept_over_the_api(client_a: APIClient, opportunity_a: Opportunity) -> None:
    created = client_a.post(
        PROPOSALS,
        {
            "opportunity": opportunity_a.pk,
            "facilities": [facility_json()],
            "summary": "Term loan",
            "valid_until": str(timezone.localdate() + timedelta(days=10)),
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="proposal-1",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["number"], body["status"], body["application"]) == (1, "draft", None)
    assert body["facilities"][0]["margin_pct"] == "0.85000"
    url = f"{PROPOSALS}{body['id']}/"
    edited = client_a.patch(url, {"summary": "Term loan, 5y"}, format="json", HTTP_IF_MATCH=created["ETag"])
    assert edited.json()["summary"] == "Term loan, 5y"
    assert client_a.post(f"{url}issue/").json()["status"] == "issued"
    problem(client_a.patch(url, {"summary": "late"}, format="json", HTTP_IF_MATCH=f'"{body["id"]}-3"'), 409)

    accepted = client_a.post(f"{url}accept/")
    assert accepted.status_code == 200
    assert accepted.json()["application"] == Application.objects.get().pk
    assert problem(client_a.post(f"{url}accept/"), 409)["code"] == "proposal_status"
    assert Application.objects.count() == 1
    listed = client_a.get(f"{PROPOSALS}?opportunity={opportunity_a.pk}").json()
    assert [p["status"] for p in listed["results"]] == ["accepted"]


# --- scope -----------------------------------------------------------------------------------------
def test_another_branch_sees_nothing(
    client_b: APIClient, rm_a: User, opportunity_a: Opportunity, party_a: Party
) -> None:
    lead = services.create_lead(actor=rm_a, data={"name": "Secret lead"})
    proposal = services.create_proposal(actor=rm_a, opportunity_id=opportunity_a.pk, data=proposal_data())

    for path in (f"{LEADS}{lead.pk}/", f"{OPPS}{opportunity_a.pk}/", f"{PROPOSALS}{proposal.pk}/"):
        assert problem(client_b.get(path), 404)["code"] == "not_found"
    for path, body in (
        (f"{LEADS}{lead.pk}/qualify/", {}),
        (f"{LEADS}{lead.pk}/disqualify/", {"reason": "no_need"}),
        (f"{OPPS}{opportunity_a.pk}/stage/", {"stage": "proposal"}),
        (f"{PROPOSALS}{proposal.pk}/issue/", {}),
        (OPPS, {"party": party_a.pk, "title": "Poach", "products": ["term_loan"]}),
        (PROPOSALS, {"opportunity": opportunity_a.pk, "facilities": [facility_json()]}),
    ):
        problem(client_b.post(path, body, format="json"), 404)
    for path in (LEADS, OPPS, PROPOSALS):
        assert client_b.get(path).json()["count"] == 0
    assert client_b.get(f"{OPPS}funnel/").json()["by_owner"] == []
    assert Opportunity.objects.get().stage == "qualify"
    assert Lead.objects.get().status == "new"


def test_a_reader_cannot_write(
    api_client: Callable[[User], APIClient], compliance: User, opportunity_a: Opportunity
) -> None:
    client = api_client(compliance)
    assert client.get(f"{OPPS}{opportunity_a.pk}/").status_code == 200
    problem(client.post(f"{OPPS}{opportunity_a.pk}/stage/", {"stage": "proposal"}, format="json"), 403)
    problem(client.post(LEADS, {"name": "Nope"}, format="json"), 403)


# --- constant queries ------------------------------------------------------------------------------
def _grow(rm: User, party: Party, n: int) -> None:
    """n more leads, opportunities (two products each, moved once) and proposals (two facilities)."""
    from tests.pipeline.conftest import facility

    for index in range(n):
        services.create_lead(actor=rm, data={"name": f"Lead {index} {party.pk}", "product": "term_loan"})
        opportunity = services.create_opportunity(
            actor=rm, party_id=party.pk, data=opportunity_data(products=["term_loan", "fx_hedging"])
        )
        services.move_opportunity(actor=rm, opportunity_id=opportunity.pk, stage="needs_analysis")
        services.create_proposal(
            actor=rm, opportunity_id=opportunity.pk, data=proposal_data(facilities=[facility(), facility()])
        )


@pytest.mark.parametrize(
    "path", [LEADS, OPPS, PROPOSALS, "/api/v1/products/", f"{OPPS}funnel/", f"{OPPS}time-in-stage/"]
)
def test_lists_run_a_fixed_number_of_queries(
    client_a: APIClient, rm_a: User, party_a: Party, guarantor_a: Party, path: str
) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client_a.get(path).status_code == 200
        return len(queries)

    _grow(rm_a, party_a, 2)
    count()  # the first call also notes the token's use
    small = count()
    _grow(rm_a, guarantor_a, 5)
    assert count() == small
    assert small == EXPECTED_QUERIES[path]


# Two queries authenticate (token with its user, the user's roles); then the count and the page, and one
# per prefetched relation (products; facilities and guarantors); the reports read the stage history once
# and the owners' names once.
EXPECTED_QUERIES = {
    LEADS: 4,
    OPPS: 5,
    PROPOSALS: 6,
    "/api/v1/products/": 2,
    f"{OPPS}funnel/": 4,
    f"{OPPS}time-in-stage/": 4,
}


def test_amounts_are_decimal_strings(client_a: APIClient, opportunity_a: Opportunity) -> None:
    body = client_a.get(f"{OPPS}{opportunity_a.pk}/").json()
    assert body["amount"] == {"amount": "50000000.00", "currency": "CNY"}
    assert Decimal(body["amount"]["amount"]) == opportunity_a.amount


def test_details_run_a_fixed_number_of_queries(
    client_a: APIClient, rm_a: User, opportunity_a: Opportunity
) -> None:
    from tests.pipeline.conftest import facility

    lead = services.create_lead(actor=rm_a, data={"name": "Counted", "product": "term_loan"})
    proposal = services.create_proposal(
        actor=rm_a, opportunity_id=opportunity_a.pk, data=proposal_data(facilities=[facility()] * 3)
    )
    client_a.get(f"{LEADS}{lead.pk}/")  # the first call also notes the token's use
    # Authentication (2), then the row with its relations, plus one per prefetched relation.
    for path, expected in (
        (f"{LEADS}{lead.pk}/", 3),
        (f"{OPPS}{opportunity_a.pk}/", 4),
        (f"{PROPOSALS}{proposal.pk}/", 5),
    ):
        with CaptureQueriesContext(connection) as queries:
            assert client_a.get(path).status_code == 200
        assert len(queries) == expected, path
