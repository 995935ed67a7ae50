"""The pipeline's workspace pages through the pages as a person uses them: every page renders, scope and
roles, leads, the board and its moves, the opportunity list and forms, constant queries. Proposals and
the term sheet are in test_pipeline_proposal_pages.py."""

import importlib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.parties import services as party_services
from lendcrm.parties.models import Party
from lendcrm.pipeline import services
from lendcrm.pipeline.models import Lead, Opportunity, Product, Proposal, StageChange
from tests.contract.test_access_matrix import _database_digest
from tests.web.conftest import VALID_USCC, html
from tests.web.test_accessibility import _check as labelled_and_no_inline_code
from tests.web.test_i18n import _untranslated

pytestmark = pytest.mark.django_db

# The catalogue's data migration (its module name starts with a digit).
add_catalogue = importlib.import_module("lendcrm.pipeline.migrations.0002_catalogue").add_catalogue
PIPELINE_TEMPLATES = Path(__file__).parents[2] / "src" / "lendcrm" / "pipeline" / "templates"
FACILITY = {
    "product": "term_loan",
    "amount": Decimal("30000000.00"),
    "currency": "CNY",
    "tenor_months": 60,
    "repayment_profile": "annuity",
    "grace_months": 6,
    "rate_type": "floating",
    "base_rate": "lpr_5y",
    "margin_pct": Decimal("0.85"),
    "upfront_fee_pct": Decimal("0.5"),
    "security": "Mortgage over the quay cranes",
    "covenants": "Net debt / EBITDA below 3.5x",
    "purpose": "Two new quay cranes",
}


def _opportunity(rm: User, party: Party, title: str = "Quay crane finance", **data: Any) -> Opportunity:
    values = {"title": title, "products": ["term_loan"], "amount": Decimal("30000000"), "currency": "CNY"}
    return services.create_opportunity(actor=rm, party_id=party.pk, data={**values, **data})


def _proposal(rm: User, opportunity: Opportunity, **data: Any) -> Proposal:
    values = {
        "facilities": [FACILITY],
        "summary": "Five-year amortising term loan",
        "conditions": "Signed mortgage over the cranes",
        "valid_until": timezone.localdate() + timedelta(days=30),
    }
    return services.create_proposal(actor=rm, opportunity_id=opportunity.pk, data={**values, **data})


@pytest.fixture(autouse=True)
def _catalogue(db: Any) -> None:
    """The product catalogue a migration seeds; a transactional test that ran before (the browser
    tests) flushed it, so seed it again inside this test's transaction."""
    add_catalogue(django_apps, None)


@pytest.fixture
def opportunity(rm_a: User, party_a: Party) -> Opportunity:
    return _opportunity(rm_a, party_a)


@pytest.fixture
def proposal(rm_a: User, opportunity: Opportunity) -> Proposal:
    return _proposal(rm_a, opportunity)


@pytest.fixture
def lead(rm_a: User) -> Lead:
    return services.create_lead(
        actor=rm_a,
        data={"source": "referral", "name": "Lingang Cold Chain Co.", "product": "working_capital"},
    )


@pytest.fixture
def compliance(make_user: Any) -> User:
    """Reads the whole book, writes nothing."""
    return make_user("compliance", Role.COMPLIANCE_OFFICER)


def _move(client: Any, o: Opportunity, stage: str, version: int | None = None, **extra: Any) -> Any:
    data = {"stage": stage, "version": o.version if version is None else version, **extra}
    return client.post(f"/pipeline/opportunities/{o.pk}/move/", data, HTTP_ACCEPT="application/json")


# --- every page renders -------------------------------------------------------------------------------
def test_every_page_renders_for_the_rm(
    rm_a: User, web: Any, party_a: Party, lead: Lead, opportunity: Opportunity, proposal: Proposal
) -> None:
    client = web(rm_a)
    pages = {
        "/pipeline/": ["Quay crane finance", party_a.legal_name, "CNY 30,000,000.00", 'draggable="true"'],
        "/pipeline/opportunities/": ["Quay crane finance", "Term loan"],
        "/pipeline/opportunities/new/": ["New opportunity", 'name="products"'],
        f"/pipeline/opportunities/{opportunity.pk}/": ["Stage history", "Version 1", "New proposal"],
        f"/pipeline/opportunities/{opportunity.pk}/edit/": ["Edit opportunity", 'value="Quay crane finance"'],
        f"/pipeline/opportunities/{opportunity.pk}/move/": ["Move to another stage"],
        f"/pipeline/opportunities/{opportunity.pk}/proposals/new/": ["New proposal", "Add another facility"],
        "/pipeline/leads/": ["Lingang Cold Chain Co.", "Referral"],
        "/pipeline/leads/new/": ["New lead", "Prospect name"],
        f"/pipeline/leads/{lead.pk}/": ["Lingang Cold Chain Co.", "Qualify", "Disqualify"],
        f"/pipeline/leads/{lead.pk}/edit/": ["Edit lead"],
        f"/pipeline/proposals/{proposal.pk}/": ["Proposal version 1", "Issue to the customer", "LPR 5 years"],
        f"/pipeline/proposals/{proposal.pk}/edit/": [
            "Edit proposal version 1",
            "Mortgage over the quay cranes",
        ],
        f"/pipeline/proposals/{proposal.pk}/term-sheet/?lang=en": [
            "Indicative term sheet",
            party_a.legal_name,
        ],
        "/pipeline/funnel/": ["Conversion funnel", "Time in stage"],
    }
    for path, expected in pages.items():
        response = client.get(path)
        assert response.status_code == 200, path
        body = html(response)
        for text in expected:
            assert text in body, (path, text)
        labelled_and_no_inline_code(body, path)
    nav = html(client.get("/"))
    assert 'href="/pipeline/"' in nav


def test_templates_have_no_text_outside_translate_tags() -> None:
    offenders = {}
    for path in PIPELINE_TEMPLATES.rglob("*.html"):
        left = _untranslated(path.read_text())
        if left:
            offenders[path.name] = left[:5]
    assert not offenders, offenders


# --- scope and roles ----------------------------------------------------------------------------------
def test_an_rm_of_another_branch_sees_nothing_and_changes_nothing(
    rm_b: User, web: Any, party_a: Party, lead: Lead, opportunity: Opportunity, proposal: Proposal
) -> None:
    client = web(rm_b)
    before = _database_digest()
    for path in (
        f"/pipeline/leads/{lead.pk}/",
        f"/pipeline/leads/{lead.pk}/edit/",
        f"/pipeline/opportunities/{opportunity.pk}/",
        f"/pipeline/opportunities/{opportunity.pk}/edit/",
        f"/pipeline/opportunities/{opportunity.pk}/move/",
        f"/pipeline/opportunities/{opportunity.pk}/proposals/new/",
        f"/pipeline/proposals/{proposal.pk}/",
        f"/pipeline/proposals/{proposal.pk}/edit/",
        f"/pipeline/proposals/{proposal.pk}/term-sheet/",
        f"/pipeline/proposals/{proposal.pk}/term-sheet.pdf",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert party_a.legal_name not in html(response)
    for path, data in (
        (f"/pipeline/leads/{lead.pk}/qualify/", {"version": lead.version}),
        (f"/pipeline/leads/{lead.pk}/disqualify/", {"version": lead.version, "reason": "no_need"}),
        (f"/pipeline/opportunities/{opportunity.pk}/move/", {"version": 1, "stage": "needs_analysis"}),
        (f"/pipeline/proposals/{proposal.pk}/issue/", {"version": proposal.version}),
        (f"/pipeline/proposals/{proposal.pk}/accept/", {"version": proposal.version}),
    ):
        assert client.post(path, data).status_code == 404, path
    for path in ("/pipeline/", "/pipeline/opportunities/", "/pipeline/leads/", "/pipeline/funnel/"):
        body = html(client.get(path))
        assert "Quay crane finance" not in body, path
        assert "Lingang" not in body, path
    picker = html(client.post("/pipeline/pick-party/", {"q": "Pudong"}))
    assert party_a.legal_name not in picker
    assert _database_digest() == before


def test_a_read_only_role_reads_but_cannot_write(
    compliance: User, web: Any, lead: Lead, opportunity: Opportunity, proposal: Proposal
) -> None:
    client = web(compliance)
    board = html(client.get("/pipeline/"))
    assert "Quay crane finance" in board
    assert 'draggable="true"' not in board
    assert "card-move" not in board
    assert "Issue to the customer" not in html(client.get(f"/pipeline/proposals/{proposal.pk}/"))
    before = _database_digest()
    for method, path, data in (
        ("get", "/pipeline/leads/new/", {}),
        ("post", "/pipeline/leads/new/", {"source": "rm", "name": "Anything"}),
        ("get", f"/pipeline/opportunities/{opportunity.pk}/edit/", {}),
        ("post", f"/pipeline/opportunities/{opportunity.pk}/move/", {"stage": "proposal", "version": 1}),
        ("post", f"/pipeline/leads/{lead.pk}/qualify/", {"version": lead.version}),
        ("get", f"/pipeline/opportunities/{opportunity.pk}/proposals/new/", {}),
        ("post", f"/pipeline/proposals/{proposal.pk}/issue/", {"version": proposal.version}),
    ):
        assert getattr(client, method)(path, data).status_code == 403, path
    assert _database_digest() == before


def test_an_administrator_without_a_business_role_sees_no_pipeline(
    admin_user: User, web: Any, opportunity: Opportunity
) -> None:
    client = web(admin_user)
    assert "Quay crane finance" not in html(client.get("/pipeline/"))
    assert client.get(f"/pipeline/opportunities/{opportunity.pk}/").status_code == 404


# --- leads --------------------------------------------------------------------------------------------
def test_a_lead_is_recorded_and_qualified_into_a_party_and_an_opportunity(rm_a: User, web: Any) -> None:
    client = web(rm_a)
    response = client.post(
        "/pipeline/leads/new/",
        {"source": "campaign", "party_kind": "sme", "name": "Yangshan Reefer Services", "uscc": VALID_USCC},
    )
    lead = Lead.objects.get(name="Yangshan Reefer Services")
    assert response.status_code == 302
    assert response["Location"] == f"/pipeline/leads/{lead.pk}/"
    page = html(client.get(response["Location"]))
    assert "matched an existing customer" not in page
    response = client.post(
        f"/pipeline/leads/{lead.pk}/qualify/",
        {
            "version": lead.version,
            "products": [_product_id("trade_finance")],
            "amount": "8000000",
            "currency": "CNY",
        },
    )
    opportunity = Opportunity.objects.get(lead=lead)
    assert response.status_code == 302
    assert response["Location"] == f"/pipeline/opportunities/{opportunity.pk}/"
    assert opportunity.party.legal_name == "Yangshan Reefer Services"
    assert opportunity.amount == Decimal("8000000")
    assert "A prospect and this opportunity were created" in html(client.get(response["Location"]))


def test_a_lead_for_an_existing_customer_says_so_and_qualifies_onto_it(
    rm_a: User, web: Any, party_a: Party
) -> None:
    client = web(rm_a)
    client.post(
        "/pipeline/leads/new/",
        {"source": "rm", "party_kind": "corporate", "name": "  pudong harbour logistics co., ltd. "},
    )
    lead = Lead.objects.get()
    page = html(client.get(f"/pipeline/leads/{lead.pk}/"))
    assert "This lead matched an existing customer" in page
    assert f'href="/parties/{party_a.pk}/"' in page
    parties_before = Party.objects.count()
    response = client.post(
        f"/pipeline/leads/{lead.pk}/qualify/",
        {"version": lead.version, "title": "Warehouse loan", "products": [_product_id("term_loan")]},
    )
    assert response.status_code == 302
    assert Party.objects.count() == parties_before
    assert Opportunity.objects.get(lead=lead).party_id == party_a.pk
    assert "matched an existing customer" in html(client.get(response["Location"]))


def test_disqualifying_needs_a_reason_and_a_bad_lead_is_refused_on_its_fields(
    rm_a: User, web: Any, lead: Lead
) -> None:
    client = web(rm_a)
    before = _database_digest()
    response = client.post(f"/pipeline/leads/{lead.pk}/disqualify/", {"version": lead.version, "reason": ""})
    assert response.status_code == 400
    assert "Say why the lead is disqualified." in html(response)
    response = client.post(
        "/pipeline/leads/new/", {"source": "rm", "party_kind": "sme", "name": "X Co.", "lei": "NOT-A-LEI"}
    )
    assert response.status_code == 400
    assert 'id="id_lei-errors"' in html(response)
    assert _database_digest() == before
    response = client.post(
        f"/pipeline/leads/{lead.pk}/disqualify/",
        {"version": lead.version, "reason": "too_small", "note": "Below our minimum ticket"},
    )
    assert response.status_code == 302
    page = html(client.get(f"/pipeline/leads/{lead.pk}/"))
    assert "Too small" in page
    assert 'id="qualify-form"' not in page  # a closed lead offers no actions


def test_a_stale_lead_action_is_refused_with_409(rm_a: User, web: Any, lead: Lead) -> None:
    services.update_lead(actor=rm_a, lead_id=lead.pk, changes={"notes": "Called twice"})
    response = web(rm_a).post(f"/pipeline/leads/{lead.pk}/qualify/", {"version": lead.version})
    assert response.status_code == 409
    assert "Someone changed this" in html(response)
    assert Lead.objects.get().status == "new"
    response = web(rm_a).post(
        f"/pipeline/leads/{lead.pk}/edit/",
        {"source": "referral", "party_kind": "sme", "name": "Renamed", "version": lead.version},
    )
    assert response.status_code == 409
    assert "Renamed" in html(response)  # what was typed is listed beside the current values
    assert Lead.objects.get().name == "Lingang Cold Chain Co."


def test_the_lead_list_filters(rm_a: User, web: Any, lead: Lead) -> None:
    services.create_lead(actor=rm_a, data={"source": "web_form", "name": "Fengxian Solar"})
    client = web(rm_a)
    referrals = html(client.get("/pipeline/leads/?source=referral"))
    assert "Lingang Cold Chain Co." in referrals
    assert "Fengxian Solar" not in referrals
    assert client.get("/pipeline/leads/?status=sleeping").status_code == 400


def _product_id(code: str) -> int:
    return Product.objects.get(code=code).pk


# --- the board and moves ------------------------------------------------------------------------------
def test_a_move_from_the_board_answers_with_the_fresh_card(
    rm_a: User, web: Any, opportunity: Opportunity
) -> None:
    response = _move(web(rm_a), opportunity, "needs_analysis")
    assert response.status_code == 200
    data = response.json()
    assert 'data-stage="needs_analysis"' in data["card"]
    assert f'data-version="{opportunity.version + 1}"' in data["card"]
    assert "Needs analysis" in data["message"]
    opportunity.refresh_from_db()
    assert opportunity.stage == "needs_analysis"
    assert StageChange.objects.filter(opportunity=opportunity).count() == 2


def test_a_refused_move_is_409_and_changes_nothing(rm_a: User, web: Any, opportunity: Opportunity) -> None:
    client = web(rm_a)
    before = _database_digest()
    illegal = _move(client, opportunity, "won")  # qualify cannot jump to won
    assert illegal.status_code == 409
    assert "cannot move" in illegal.json()["message"]
    to_application = _move(client, opportunity, "application")
    assert to_application.status_code == 409
    stale = _move(client, opportunity, "needs_analysis", version=opportunity.version + 5)
    assert stale.status_code == 409
    assert "reload" in stale.json()["message"]
    no_reason = _move(client, opportunity, "lost")
    assert no_reason.status_code == 400
    assert "Say why the opportunity was lost." in no_reason.json()["message"]
    assert _database_digest() == before


def test_the_no_script_move_posts_the_same_endpoint_and_comes_back(
    rm_a: User, web: Any, opportunity: Opportunity
) -> None:
    client = web(rm_a)
    response = client.post(
        f"/pipeline/opportunities/{opportunity.pk}/move/",
        {"stage": "lost", "version": opportunity.version, "next": "/pipeline/"},
    )
    assert response.status_code == 400  # the move page asks for the reason
    assert "Say why the opportunity was lost." in html(response)
    response = client.post(
        f"/pipeline/opportunities/{opportunity.pk}/move/",
        {"stage": "lost", "lost_reason": "price", "version": opportunity.version, "next": "/pipeline/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/pipeline/"
    board = html(client.get("/pipeline/"))
    assert "Price" in board  # the lost column shows it with its reason
    evil = client.post(
        f"/pipeline/opportunities/{opportunity.pk}/move/",
        {"stage": "lost", "lost_reason": "price", "version": 99, "next": "//evil.example/"},
    )
    assert evil.status_code == 409


def _book(rm: User, n: int) -> None:

    for i in range(n):
        party = party_services.create_party(
            actor=rm, kind="sme", legal_name=f"Filler {i:03d} Co.", branch=rm.branch
        )
        o = _opportunity(rm, party, title=f"Deal {i:03d}", products=["term_loan", "fx_hedging"])
        if i % 3 == 1:
            services.move_opportunity(actor=rm, opportunity_id=o.pk, stage="needs_analysis")
        if i % 3 == 2:
            services.move_opportunity(actor=rm, opportunity_id=o.pk, stage="lost", lost_reason="timing")


def _queries(client: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "path",
    ["/pipeline/", "/pipeline/opportunities/", "/pipeline/opportunities/?ordering=-amount&stage=qualify"],
)
def test_the_board_and_list_run_the_same_queries_at_two_sizes(rm_a: User, web: Any, path: str) -> None:
    client = web(rm_a)
    client.get("/")  # the first request of a session also saves the session
    _book(rm_a, 3)
    small = _queries(client, path)
    _book(rm_a, 12)
    assert _queries(client, path) == small
    assert small <= 9


# --- opportunity forms ----------------------------------------------------------------------------------
def test_an_opportunity_is_opened_on_a_picked_party_and_refusals_change_nothing(
    rm_a: User, rm_b: User, web: Any, party_a: Party
) -> None:
    client = web(rm_a)
    picker = html(client.post("/pipeline/pick-party/", {"q": "Harbour"}))
    assert f'type="radio" name="party" value="{party_a.pk}"' in picker
    before = _database_digest()
    no_product = client.post(
        "/pipeline/opportunities/new/", {"party": party_a.pk, "title": "Crane loan", "currency": "CNY"}
    )
    assert no_product.status_code == 400
    assert "Name at least one product." in html(no_product)
    elsewhere = party_services.create_party(
        actor=rm_b, kind="sme", legal_name="Chaoyang Mills", branch=rm_b.branch
    )
    before = _database_digest()
    foreign = client.post(
        "/pipeline/opportunities/new/",
        {"party": elsewhere.pk, "title": "Crane loan", "products": [_product_id("term_loan")]},
    )
    assert foreign.status_code == 400
    assert "Choose a party from the search results." in html(foreign)
    assert "Chaoyang Mills" not in html(foreign)
    assert _database_digest() == before
    response = client.post(
        "/pipeline/opportunities/new/",
        {
            "party": party_a.pk,
            "title": "Crane loan",
            "products": [_product_id("term_loan")],
            "amount": "9000000",
            "currency": "CNY",
        },
    )
    opportunity = Opportunity.objects.get(title="Crane loan")
    assert response.status_code == 302
    assert response["Location"] == f"/pipeline/opportunities/{opportunity.pk}/"
    assert opportunity.owner == rm_a


def test_a_stale_opportunity_edit_is_409_and_keeps_what_was_typed(
    rm_a: User, web: Any, opportunity: Opportunity
) -> None:
    services.update_opportunity(
        actor=rm_a, opportunity_id=opportunity.pk, changes={"title": "Renamed meanwhile"}
    )
    data = {"title": "My title", "products": [_product_id("term_loan")], "version": opportunity.version}
    response = web(rm_a).post(f"/pipeline/opportunities/{opportunity.pk}/edit/", data)
    assert response.status_code == 409
    assert "My title" in html(response)
    assert 'value="Renamed meanwhile"' in html(response)
    opportunity.refresh_from_db()
    assert opportunity.title == "Renamed meanwhile"
    response = web(rm_a).post(
        f"/pipeline/opportunities/{opportunity.pk}/edit/", {**data, "version": opportunity.version}
    )
    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.title == "My title"


def test_a_lead_matching_a_customer_out_of_scope_names_no_one_and_cannot_be_qualified(
    rm_a: User, rm_b: User, web: Any
) -> None:
    theirs = party_services.create_party(
        actor=rm_b, kind="sme", legal_name="Chaoyang Precision Mills", branch=rm_b.branch, country="CN"
    )
    lead = services.create_lead(actor=rm_a, data={"source": "rm", "name": "Chaoyang Precision Mills"})
    client = web(rm_a)
    page = html(client.get(f"/pipeline/leads/{lead.pk}/"))
    assert "This lead matched an existing customer" in page
    assert "a customer outside your access" in page
    assert f"/parties/{theirs.pk}/" not in page
    before = _database_digest()
    response = client.post(
        f"/pipeline/leads/{lead.pk}/qualify/",
        {"version": lead.version, "products": [_product_id("term_loan")]},
    )
    assert response.status_code == 409
    assert "relationship manager to take it on" in html(response)  # the service's words, on the form
    assert _database_digest() == before
