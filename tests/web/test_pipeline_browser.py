"""The pipeline in a real browser (Debian's Chromium): an RM opens an opportunity, drags it across the
board, builds a proposal with a facility and a guarantor, and reads the term sheet in both languages.
Screenshots go to the run's folder (see tests/web/conftest.py)."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.parties import services as party_services
from lendcrm.pipeline import services
from lendcrm.pipeline.models import Opportunity, Proposal
from tests.web.test_browser import _shot, _sign_in, browser, page
from tests.web.test_pipeline_pages import add_catalogue

__all__ = ["browser", "page"]  # fixtures shared with the workspace's browser test

pytestmark = pytest.mark.django_db(transaction=True)
BORROWER = "Waigaoqiao Bonded Logistics Co., Ltd."


@pytest.fixture
def book(rm_a: User) -> dict[str, Any]:
    add_catalogue(django_apps, None)  # an earlier transactional test flushed what the migration seeded
    borrower = party_services.create_party(
        actor=rm_a,
        kind="corporate",
        legal_name=BORROWER,
        local_name="外高桥保税物流有限公司",
        branch=rm_a.branch,
        country="CN",
    )
    guarantor = party_services.create_party(
        actor=rm_a,
        kind="corporate",
        legal_name="Waigaoqiao Port Holdings",
        local_name="外高桥港口控股",
        branch=rm_a.branch,
    )
    for i, stage in enumerate(("qualify", "needs_analysis", "proposal")):
        other = party_services.create_party(
            actor=rm_a, kind="sme", legal_name=f"Jinqiao Components {i}", branch=rm_a.branch
        )
        o = services.create_opportunity(
            actor=rm_a,
            party_id=other.pk,
            data={
                "title": f"Working capital line {i}",
                "products": ["working_capital"],
                "amount": Decimal(2_500_000 * (i + 1)),
                "currency": "CNY",
                "expected_close": timezone.localdate() + timedelta(days=20 * (i + 1)),
            },
        )
        if stage != "qualify":
            services.move_opportunity(actor=rm_a, opportunity_id=o.pk, stage=stage)
    services.create_lead(actor=rm_a, data={"source": "partner", "name": "Lingang Battery Recycling"})
    matched = services.create_lead(
        actor=rm_a, data={"source": "referral", "name": BORROWER.upper(), "product": "trade_finance"}
    )
    return {"borrower": borrower, "guarantor": guarantor, "lead": matched}


def _column(page: Any, stage: str) -> Any:
    return page.locator(f'[data-drop-stage="{stage}"]')


def test_rm_opens_an_opportunity_moves_it_and_issues_a_term_sheet(
    live_server: Any, page: Any, book: dict[str, Any], screenshot_dir: Path
) -> None:
    base = live_server.url
    _sign_in(page, base, "rm_a")

    # Open an opportunity on a customer found by the picker (the search term is posted, not in the URL).
    page.click("nav.mainnav >> text=Pipeline")
    page.wait_for_url(f"{base}/pipeline/")
    page.click("text=New opportunity")
    page.fill("#party-q", "外高桥保税")
    page.locator("#party-results label", has_text=BORROWER).click()
    page.locator("#party-chosen input[name=party]").wait_for()
    page.fill("#id_title", "Bonded warehouse expansion")
    page.check("#opportunity-form input[name=products] >> nth=0")  # term loan
    page.fill("#id_amount", "60000000")
    page.select_option("#id_currency", "CNY")
    _shot(page, screenshot_dir, "en-pipeline-new-opportunity")
    page.click("#opportunity-form button[type=submit]")
    page.wait_for_url(f"{base}/pipeline/opportunities/*/")
    opportunity = Opportunity.objects.get(title="Bonded warehouse expansion")
    assert "?" not in page.url

    # Drag it from qualify to needs analysis: saved without a page load.
    page.goto(f"{base}/pipeline/")
    card = f"#opp-{opportunity.pk}"
    _column(page, "qualify").locator(card).wait_for()
    page.evaluate("window.loadedOnce = true")
    page.drag_and_drop(card, '[data-drop-stage="needs_analysis"]')
    page.locator("#board-status.ok", has_text="Needs analysis").wait_for()
    _column(page, "needs_analysis").locator(card).wait_for()
    assert page.locator('[data-count-for="needs_analysis"]').inner_text() == "2"
    opportunity.refresh_from_db()
    assert opportunity.stage == "needs_analysis"

    # An illegal move (needs analysis cannot be won) is refused and the card snaps back.
    page.drag_and_drop(card, '[data-drop-stage="won"]')
    page.locator("#board-status.bad").wait_for()
    _column(page, "needs_analysis").locator(card).wait_for()
    assert _column(page, "won").locator(card).count() == 0

    # Lost asks why; cancelling leaves the card where it was.
    page.drag_and_drop(card, '[data-drop-stage="lost"]')
    page.locator("#lost-dialog[open]").wait_for()
    page.click("#lost-dialog button[value=cancel]")
    _column(page, "needs_analysis").locator(card).wait_for()

    # The keyboard path: the card's own Move form, same endpoint.
    page.select_option(f"#move-{opportunity.pk}", "proposal")
    page.click(f"{card} .card-move button")
    page.locator("#board-status.ok", has_text="moved to Proposal").wait_for()
    _column(page, "proposal").locator(card).wait_for()
    assert page.evaluate("document.activeElement.id") == f"move-{opportunity.pk}"  # focus stays on the card
    assert page.evaluate("window.loadedOnce === true")
    _shot(page, screenshot_dir, "en-pipeline-board")

    # Build a proposal: the first facility starts from what the opportunity asks for.
    page.goto(f"{base}/pipeline/opportunities/{opportunity.pk}/")
    _shot(page, screenshot_dir, "en-pipeline-opportunity")
    page.click("text=New proposal")
    assert page.input_value("#id_facilities-0-amount") == "60000000.00"
    page.fill("#id_facilities-0-tenor_months", "96")
    page.fill("#id_facilities-0-grace_months", "12")
    page.select_option("#id_facilities-0-repayment_profile", "equal_principal")
    page.select_option("#id_facilities-0-base_rate", "lpr_5y")
    page.fill("#id_facilities-0-margin_pct", "0.75")
    page.fill("#id_facilities-0-upfront_fee_pct", "0.3")
    page.fill("#id_facilities-0-security", "First mortgage over the bonded warehouse")
    page.fill("#id_facilities-0-covenants", "DSCR at least 1.25x, tested yearly")
    page.fill("#guarantor-q", "Port Holdings")
    page.locator("#guarantor-results label", has_text="Waigaoqiao Port Holdings").click()
    page.locator("#guarantors-chosen input:checked").wait_for()
    page.fill("#id_summary", "Eight-year amortising loan for the bonded warehouse extension")
    page.fill("#id_conditions", "Registered mortgage; signed guarantee")
    page.fill("#id_valid_until", (timezone.localdate() + timedelta(days=30)).isoformat())
    _shot(page, screenshot_dir, "en-pipeline-proposal-form")
    page.click("#proposal-form section:last-of-type button.btn[type=submit]")
    page.wait_for_url(f"{base}/pipeline/proposals/*/")
    page.locator("h1", has_text="Proposal version 1").wait_for()
    proposal = Proposal.objects.get(opportunity=opportunity)
    assert [g.legal_name for g in proposal.guarantors.all()] == ["Waigaoqiao Port Holdings"]
    _shot(page, screenshot_dir, "en-pipeline-proposal")

    # The term sheet in English, then in Chinese, from the same page.
    page.click(".doc-links >> nth=0 >> a[lang=en]")
    page.locator("#termsheet[lang=en]").wait_for()
    text = page.locator("#termsheet").inner_text()
    assert BORROWER in text
    assert "CNY 60,000,000.00" in text
    assert "Waigaoqiao Port Holdings" in text
    _shot(page, screenshot_dir, "en-pipeline-term-sheet")
    page.click(".ts-toolbar a[lang=zh-Hans]")
    page.locator("#termsheet[lang=zh-Hans]").wait_for()
    assert "外高桥保税物流有限公司" in page.locator("#termsheet").inner_text()
    _shot(page, screenshot_dir, "zh-pipeline-term-sheet")

    # The other pipeline pages, for a person to look at.
    for path, name in (
        ("/pipeline/opportunities/", "en-pipeline-list"),
        ("/pipeline/leads/", "en-pipeline-leads"),
        ("/pipeline/funnel/", "en-pipeline-funnel"),
        (f"/pipeline/leads/{book['lead'].pk}/", "en-pipeline-lead"),
    ):
        page.goto(base + path)
        page.locator("h1").wait_for()
        _shot(page, screenshot_dir, name)
