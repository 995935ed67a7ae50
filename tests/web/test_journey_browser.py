"""The whole lending journey in a real browser (Debian's Chromium, headless), once in English and once in
Chinese: an RM opens an opportunity, builds a proposal with one facility, issues it and records the
customer's acceptance (which creates the application), and submits the application; an analyst reviews
it, signs off the checklist, spreads a statement and completes the memo; an approver whose delegation
covers it approves it from the Decisions queue; the RM issues the offer and reads the letter.

Each person works in a browser window of their own. The test asserts on structure (ids, data
attributes, stored statuses) and, in Chinese, that the page says it is Chinese and every status badge
shows the catalogue's Chinese label. Screenshots of every step go to the run's folder."""

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone, translation

from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.origination.models import (
    Application,
    AuthorityLevel,
    ChecklistStatus,
    Decision,
    Offer,
    OfferStatus,
    Outcome,
    RiskGrade,
    Status,
)
from lendcrm.origination.services import policy
from lendcrm.parties import services as party_services
from lendcrm.parties.models import Party
from lendcrm.pipeline.models import Opportunity, Product, Proposal, ProposalStatus
from tests.web.test_origination_browser import _shot, _sign_in, chromium, desk

__all__ = ["chromium", "desk"]  # the browser and its windows, shared with the origination browser test

pytestmark = pytest.mark.django_db(transaction=True)

BORROWER = "Jinqiao Precision Moulds Co., Ltd."
LOCAL_NAME = "金桥精密模具有限公司"
HAN = re.compile(r"[\u4e00-\u9fff]")
APPROVAL_LEVEL = "branch_credit_officer"  # CNY 10 million, grade 6, working capital among its products


@pytest.fixture
def cast(make_user: Callable[..., User], rm_a: User, analyst: User) -> dict[str, Any]:
    """The borrower, the three people, and an approver's delegation granted through the policy service."""
    approver = make_user("approver", Role.CREDIT_APPROVER)
    today = timezone.localdate()
    policy.grant_delegation(
        actor=None,
        user_id=approver.pk,
        level_id=AuthorityLevel.objects.get(slug=APPROVAL_LEVEL).pk,
        valid_from=today - timedelta(days=1),
        expires_on=today + timedelta(days=365),
    )
    borrower = party_services.create_party(
        actor=rm_a,
        kind="corporate",
        legal_name=BORROWER,
        local_name=LOCAL_NAME,
        branch=rm_a.branch,
        kyc_status="verified",
        country="CN",
    )
    return {"rm": rm_a, "analyst": analyst, "approver": approver, "borrower": borrower}


def _label(choice: Any, language: str) -> str:
    with translation.override(language):
        return str(choice.label)


def _says(badge: Any, choice: Any, language: str) -> None:
    """A status badge shows the status's label in the page's language (Chinese characters in Chinese)."""
    shown = badge.inner_text().strip()
    assert shown == _label(choice, language), (shown, choice)
    if language != "en":
        assert HAN.search(shown), f"{choice} is not in Chinese: {shown!r}"


def _status(tab: Any, status: Status, language: str) -> None:
    """Wait for the application page to show `status`, in the page's language."""
    badge = tab.locator(f"#application-head h1 .badge[data-value={status.value}]")
    badge.wait_for()
    _says(badge, status, language)


def _page_language(tab: Any, language: str) -> None:
    assert tab.locator("html").get_attribute("lang") == language
    assert tab.locator("h1").count() == 1


# The drawn width, in ems, of the first opening curly quote in an element's text.
QUOTE_WIDTH = """(selector) => {
  const root = document.querySelector(selector);
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf("\u201c");
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + 1);
    return range.getBoundingClientRect().width / parseFloat(getComputedStyle(node.parentElement).fontSize);
  }
  return null;
}"""


def _quotes_fit_the_language(tab: Any, language: str) -> None:
    """English quotes are drawn by the Latin font (narrow); Chinese ones by the CJK font (full width)."""
    width = tab.evaluate(QUOTE_WIDTH, ".messages")
    assert width is not None
    if language == "en":
        assert width < 0.6, width
    else:
        assert width > 0.8, width


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_from_opportunity_to_offer(
    live_server: Any,
    desk: Callable[[], Any],
    cast: dict[str, Any],
    screenshot_dir: Path,
    language: str,
) -> None:
    base = live_server.url
    step = iter(range(1, 100))

    def shot(tab: Any, name: str) -> None:
        _shot(tab, screenshot_dir, f"{language[:2]}-journey-{next(step):02d}-{name}")

    borrower: Party = cast["borrower"]

    # --- the RM opens an opportunity for the borrower, picked by a fragment of its Chinese name --------
    rm = desk()
    _sign_in(rm, base, cast["rm"], language)
    rm.click("nav.mainnav a[href='/pipeline/']")
    rm.click("a[href='/pipeline/opportunities/new/']")
    rm.fill("#party-q", "金桥精密")
    rm.locator("#party-results label", has_text=BORROWER).click()
    rm.locator(f"#party-chosen input[name=party][value='{borrower.pk}']").wait_for(state="attached")
    rm.fill("#id_title", "Mould shop working capital")
    working_capital = Product.objects.get(code="working_capital")
    rm.check(f"#opportunity-form input[name=products][value='{working_capital.pk}']")
    rm.fill("#id_amount", "6000000")
    rm.select_option("#id_currency", "CNY")
    _page_language(rm, language)
    shot(rm, "opportunity-form")
    rm.click("#opportunity-form .actions button[type=submit]")
    rm.wait_for_url(re.compile(r"/pipeline/opportunities/\d+/$"))
    opportunity = Opportunity.objects.get(party=borrower)
    assert rm.url == f"{base}/pipeline/opportunities/{opportunity.pk}/"
    shot(rm, "opportunity")

    # --- a proposal with one facility, issued and accepted: the acceptance creates the application ------
    rm.click(f"a[href='/pipeline/opportunities/{opportunity.pk}/proposals/new/']")
    rm.locator("#proposal-form").wait_for()
    assert rm.locator("#id_facilities-0-product").input_value() == "working_capital"  # from the opportunity
    rm.fill("#id_facilities-0-amount", "6000000")
    rm.fill("#id_facilities-0-tenor_months", "24")
    rm.select_option("#id_facilities-0-repayment_profile", "bullet")
    rm.select_option("#id_facilities-0-rate_type", "floating")
    rm.select_option("#id_facilities-0-base_rate", "lpr_1y")
    rm.fill("#id_facilities-0-margin_pct", "0.6")
    rm.fill("#id_facilities-0-security", "Pledge of receivables")
    rm.fill("#id_summary", "Two-year working capital line for the mould shop")
    rm.fill("#id_valid_until", (timezone.localdate() + timedelta(days=30)).isoformat())
    shot(rm, "proposal-form")
    rm.click("#proposal-form section:last-of-type button.btn[type=submit]")
    rm.wait_for_url(re.compile(r"/pipeline/proposals/\d+/$"))
    proposal = Proposal.objects.get(opportunity=opportunity)
    assert proposal.facilities.count() == 1
    head = rm.locator(".pagehead .actions .badge").first
    _says(head, ProposalStatus.DRAFT, language)
    rm.click(f"form[action='/pipeline/proposals/{proposal.pk}/issue/'] button[type=submit]")
    rm.locator(f"form[action='/pipeline/proposals/{proposal.pk}/accept/']").wait_for()
    _says(head, ProposalStatus.ISSUED, language)
    shot(rm, "proposal-issued")
    rm.click(f"form[action='/pipeline/proposals/{proposal.pk}/accept/'] button[type=submit]")
    rm.locator("#application-link a").wait_for()
    _says(head, ProposalStatus.ACCEPTED, language)
    application = Application.objects.get(proposal=proposal)
    assert application.reference in rm.locator("#application-link a").inner_text()  # not its row id
    shot(rm, "proposal-accepted")
    rm.click("#application-link a")
    rm.wait_for_url(f"{base}/applications/{application.pk}/")
    _status(rm, Status.DRAFT, language)
    assert rm.locator("#facility-table tbody tr").count() == 1
    assert BORROWER in rm.locator("#application-head .subtitle").inner_text()
    rm.click("[data-move=submitted]")
    _status(rm, Status.SUBMITTED, language)
    _page_language(rm, language)
    _quotes_fit_the_language(rm, language)  # "The application is now “Submitted”."
    # nothing forward for the RM now: no "Next step" bar, withdrawing is folded away
    assert rm.locator(".moves-row").count() == 0
    assert not rm.locator("#close-app [data-move=withdrawn]").is_visible()
    shot(rm, "application-submitted")
    rm.click("#close-app summary")
    assert rm.locator("#close-app [data-move=withdrawn]").is_visible()
    shot(rm, "application-close-unfolded")

    # --- the analyst reviews, signs off the checklist inline, spreads a statement, completes the memo ---
    analyst = desk()
    _sign_in(analyst, base, cast["analyst"], language)
    analyst.click("nav.mainnav a[href='/applications/']")
    row = analyst.locator(f"#application-table tr[data-application='{application.pk}']")
    row.wait_for()
    _says(row.locator(".badge[data-value=submitted]"), Status.SUBMITTED, language)
    shot(analyst, "application-list")
    row.locator(f"a[href='/applications/{application.pk}/']").first.click()
    analyst.click("[data-move=in_review]")
    _status(analyst, Status.IN_REVIEW, language)
    analyst.click("[data-move=credit_analysis]")
    _status(analyst, Status.CREDIT_ANALYSIS, language)
    analyst.evaluate("window.loadedOnce = true")
    items = analyst.locator("#checklist li.check-item")
    verify, waive = items.nth(0), items.nth(1)
    verify_id, waive_id = verify.get_attribute("id"), waive.get_attribute("id")
    verify.locator("select[name=status]").select_option("verified")
    verify.locator("button[type=submit]").click()
    verified = analyst.locator(f"#{verify_id} .badge[data-value=verified]")
    verified.wait_for()
    _says(verified, ChecklistStatus.VERIFIED, language)
    waive.locator("select[name=status]").select_option("waived")
    waive.locator("[name=waiver_reason]").fill("Filed with last year's facility")
    waive.locator("button[type=submit]").click()
    waived = analyst.locator(f"#{waive_id} .badge[data-value=waived]")
    waived.wait_for()
    _says(waived, ChecklistStatus.WAIVED, language)
    assert analyst.evaluate("window.loadedOnce === true")  # both saved without a page load
    # the rows that say "Saved." keep their controls where every other row has them
    for control in ("select[name=status]", "button[type=submit]"):
        lefts = {round(items.nth(i).locator(control).bounding_box()["x"]) for i in range(items.count())}
        assert len(lefts) == 1, (control, lefts)
    assert analyst.locator(f"#{waive_id}").inner_text().count("Filed with last year's facility") == 0
    assert waive.locator("[name=waiver_reason]").input_value() == "Filed with last year's facility"
    shot(analyst, "checklist")

    analyst.click("#memo-link")
    analyst.locator("#statement-form").wait_for()
    analyst.fill("#statement-form [name=period_end]", "2024-12-31")
    for code, amount in {
        "revenue": "90000000",
        "ebitda": "15000000",
        "interest_expense": "2500000",
        "short_term_debt": "20000000",
        "long_term_debt": "25000000",
        "equity": "35000000",
        "current_assets": "48000000",
        "current_liabilities": "30000000",
    }.items():
        analyst.fill(f"#statement-form [name=line_{code}]", amount)
    analyst.click("#statement-form button[type=submit]")
    analyst.locator("#ratio-table tr[data-ratio=leverage]").wait_for()
    assert "3.00" in analyst.locator("#ratio-table tr[data-ratio=leverage]").inner_text()  # 45m / 15m
    # no principal repaid entered: the DSCR is unknown, not EBITDA over interest (6.00x)
    assert analyst.locator("#ratio-table tr[data-ratio=dscr] td.num").inner_text() == "—"
    grade = RiskGrade.objects.get(grade=4)
    option = analyst.locator(f"#memo-form [name=risk_grade] option[value='{grade.pk}']").inner_text()
    assert option.startswith(f"4 · {grade.label if language == 'en' else grade.local_label} · ")
    analyst.select_option("#memo-form [name=risk_grade]", str(RiskGrade.objects.get(grade=4).pk))
    analyst.fill("#memo-form [name=business]", "Injection moulds for household appliances.")
    analyst.fill("#memo-form [name=recommendation]", "Approve the two-year line.")
    analyst.click("#memo-form button[type=submit]")
    analyst.locator("#el-total").wait_for()  # graded: expected loss per facility and in total
    analyst.click("#complete-form button[type=submit]")
    analyst.locator("#memo-state.ok").wait_for()
    _page_language(analyst, language)
    shot(analyst, "memo-complete")
    analyst.click(f"#memo-head a[href='/applications/{application.pk}/']")
    analyst.click("[data-move=pending_decision]")
    _status(analyst, Status.PENDING_DECISION, language)
    application.refresh_from_db()
    assert application.required_level is not None
    assert application.required_level.slug == APPROVAL_LEVEL
    shot(analyst, "pending-decision")

    # --- the approver within authority approves from the Decisions queue -------------------------------
    approver = desk()
    _sign_in(approver, base, cast["approver"], language)
    approver.click("nav.mainnav a[href='/decisions/']")
    queued = approver.locator(f"#queue-table tr[data-application='{application.pk}']")
    queued.wait_for()
    _says(queued.locator(".badge[data-value=pending_decision]"), Status.PENDING_DECISION, language)
    _page_language(approver, language)
    shot(approver, "decision-queue")
    queued.locator("a").first.click()
    approver.locator("#decision-form").wait_for()
    shot(approver, "decision-form")
    approver.select_option("#decision-form [name=outcome]", "approved")
    approver.fill("#decision-form [name=comment]", "Within appetite; modest leverage.")
    approver.click("#decision-form button[type=submit]")
    _status(approver, Status.APPROVED, language)
    decision = Decision.objects.get(application=application)
    assert decision.decided_by == cast["approver"]
    assert decision.level.slug == APPROVAL_LEVEL
    outcome = approver.locator(f"#decision-{decision.pk} .badge[data-value=approved]")
    outcome.wait_for()
    _says(outcome, Outcome.APPROVED, language)
    shot(approver, "approved")

    # --- the RM issues the offer and reads the letter -----------------------------------------------------
    rm.goto(f"{base}/applications/{application.pk}/")
    _status(rm, Status.APPROVED, language)
    rm.click("#offer-form button[type=submit]")
    rm.locator("#offer-letter").wait_for()
    offer = Offer.objects.get(application=application)
    assert rm.url == f"{base}/offers/{offer.pk}/"
    _says(rm.locator(".pagehead h1 .badge[data-value=issued]"), OfferStatus.ISSUED, language)
    letter = rm.locator("#offer-letter")
    assert offer.reference in letter.inner_text()
    assert application.reference in letter.inner_text()
    assert BORROWER in letter.inner_text()
    assert rm.locator("#offer-facilities tbody tr").count() == 1
    _page_language(rm, language)
    shot(rm, "offer-letter")
    application.refresh_from_db()
    assert application.status == Status.OFFER_ISSUED
    assert offer.status == OfferStatus.ISSUED
    rm.goto(f"{base}/applications/{application.pk}/")
    _status(rm, Status.OFFER_ISSUED, language)
    shot(rm, "application-offered")
