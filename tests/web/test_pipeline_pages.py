"""The pipeline's workspace pages: leads, the board and its moves, the opportunity list, proposals and
the term sheet (HTML and PDF, in both languages), through the pages as a person uses them."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.parties.models import Party
from lendcrm.pipeline import services
from lendcrm.pipeline.models import Lead, Opportunity, Proposal
from tests.contract.test_access_matrix import _database_digest
from tests.web.conftest import html
from tests.web.test_i18n import _untranslated

pytestmark = pytest.mark.django_db

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
