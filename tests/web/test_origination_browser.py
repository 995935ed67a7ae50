"""From application to offer in a real browser (Debian's Chromium, headless) in English and in Chinese:
an RM submits an application, an analyst spreads the statements, grades and completes the memo and sends
it for decision, an approver within authority approves, and the RM issues the offer and sees it.

Screenshots go to the run's folder (printed at the end); the Chinese run asserts on structure (ids,
data attributes, the page's language), not on words that are translated later."""

import importlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps

from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.origination.models import Application, Decision, Offer, RiskGrade, Status
from lendcrm.parties import services as party_services
from tests.conftest import PASSWORD
from tests.origination.authority_fixtures import delegate

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
pytestmark = pytest.mark.django_db(transaction=True)
# The data migrations that seed the product catalogue and the credit policy (master scale, approval
# ladder, authority matrix, checklists, targets); both are idempotent.
SEEDS = (
    ("lendcrm.pipeline.migrations.0002_catalogue", "add_catalogue"),
    ("lendcrm.origination.migrations.0002_reference_data", "add_reference_data"),
)


@pytest.fixture
def reference_data() -> None:
    """A transactional test's flush (any earlier browser test's) empties the tables the migrations
    seeded, and serialized rollback cannot restore them beside Playwright's event loop; seed again."""
    for module, function in SEEDS:
        getattr(importlib.import_module(module), function)(django_apps, None)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-packages` (Debian's chromium)")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # ORM calls beside Playwright's event loop
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def desk(chromium: Any) -> Iterator[Callable[[], Any]]:
    """New browser windows (one per person), each failing the test on a script or htmx error."""
    problems: list[str] = []
    contexts: list[Any] = []

    def open_tab() -> Any:
        context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
        contexts.append(context)
        tab = context.new_page()
        tab.on("pageerror", lambda exc: problems.append(str(exc)))
        tab.on(
            "console",
            lambda msg: (
                problems.append(msg.text)
                if msg.type == "error" and not msg.text.startswith("Failed to load resource")
                else None
            ),
        )
        return tab

    yield open_tab
    for context in contexts:
        context.close()
    assert not problems, f"the browser reported errors: {problems}"


@pytest.fixture
def people(
    reference_data: None, make_user: Callable[..., User], rm_a: User, analyst: User
) -> dict[str, User]:
    approver = make_user("approver", Role.CREDIT_APPROVER)
    delegate(approver, "regional_head")
    party_services.create_party(
        actor=rm_a,
        kind="corporate",
        legal_name="Pujiang Precision Castings Co., Ltd.",
        local_name="浦江精密铸造有限公司",
        branch=rm_a.branch,
        kyc_status="verified",
    )
    return {"rm": rm_a, "analyst": analyst, "approver": approver}


def _sign_in(tab: Any, base: str, user: User, language: str) -> None:
    tab.goto(f"{base}/login/")
    tab.fill("#id_username", user.username)
    tab.fill("#id_password", PASSWORD)
    tab.click("form.stack button[type=submit]")
    tab.wait_for_url(f"{base}/")
    if language != "en":
        tab.click(f"button[lang={language}]")
        tab.wait_for_selector("text=我的一天")  # the switch itself, already in the catalogue
    assert tab.locator("html").get_attribute("lang") == language


def _shot(tab: Any, folder: Path, name: str) -> None:
    tab.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _in_language(tab: Any, language: str) -> None:
    assert tab.locator("html").get_attribute("lang") == language
    assert tab.locator("h1").count() == 1


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_from_application_to_offer(
    live_server: Any, desk: Callable[[], Any], people: dict[str, User], screenshot_dir: Path, language: str
) -> None:
    base = live_server.url
    prefix = "en" if language == "en" else "zh"

    # The RM creates the application: the borrower from the picker, one facility.
    rm = desk()
    _sign_in(rm, base, people["rm"], language)
    rm.click("nav.mainnav a[href='/applications/']")
    rm.click("#new-application")
    rm.fill("#borrower-q", "Pujiang")
    rm.locator("#borrower-results input[type=radio]").first.check()
    rm.fill("#id_purpose", "New casting line")
    rm.select_option("#id_facilities-0-product", "working_capital")
    rm.fill("#id_facilities-0-amount", "5000000")
    rm.fill("#id_facilities-0-tenor_months", "36")
    rm.fill("#id_facilities-0-margin_pct", "0.85")
    _shot(rm, screenshot_dir, f"{prefix}-application-new")
    rm.click("#create-application")
    rm.wait_for_selector("#application-head")
    application = Application.objects.get()
    assert rm.url == f"{base}/applications/{application.pk}/"
    _in_language(rm, language)
    rm.click("[data-move=submitted]")
    rm.wait_for_selector("#application-head .badge[data-value=submitted]")
    rm.click("nav.mainnav a[href='/applications/']")
    rm.wait_for_selector(f"#application-table tr[data-application='{application.pk}']")
    _shot(rm, screenshot_dir, f"{prefix}-application-list")

    # The analyst reviews, verifies a document inline, spreads the statements and completes the memo.
    analyst = desk()
    _sign_in(analyst, base, people["analyst"], language)
    analyst.goto(f"{base}/applications/{application.pk}/")
    analyst.click("[data-move=in_review]")
    analyst.wait_for_selector("#application-head .badge[data-value=in_review]")
    analyst.click("[data-move=credit_analysis]")
    analyst.wait_for_selector("#application-head .badge[data-value=credit_analysis]")
    analyst.evaluate("window.loadedOnce = true")
    first = analyst.locator("#checklist li.check-item").first
    item_id = first.get_attribute("id")
    first.locator("select").select_option("verified")
    first.locator("button[type=submit]").click()
    analyst.wait_for_selector(f"#{item_id} .badge[data-value=verified]")
    assert analyst.evaluate("window.loadedOnce === true")  # saved without a page load
    analyst.click("#memo-link")
    analyst.wait_for_selector("#statement-form")
    analyst.fill("#statement-form [name=period_end]", "2024-12-31")
    for code, amount in {
        "revenue": "100000000",
        "ebitda": "20000000",
        "interest_expense": "4000000",
        "short_term_debt": "30000000",
        "long_term_debt": "50000000",
        "equity": "40000000",
        "current_assets": "60000000",
        "current_liabilities": "40000000",
    }.items():
        analyst.fill(f"#statement-form [name=line_{code}]", amount)
    analyst.click("#statement-form button[type=submit]")
    analyst.wait_for_selector("#ratio-table tr[data-ratio=leverage]")
    assert "4.00" in analyst.locator("#ratio-table tr[data-ratio=leverage]").inner_text()
    analyst.select_option("#memo-form [name=risk_grade]", str(RiskGrade.objects.get(grade=4).pk))
    analyst.fill("#memo-form [name=business]", "Castings for the automotive industry.")
    analyst.fill("#memo-form [name=recommendation]", "Approve.")
    analyst.click("#memo-form button[type=submit]")
    analyst.wait_for_selector("#el-total")
    analyst.click("#complete-form button")
    analyst.wait_for_selector("#memo-state.ok")
    _in_language(analyst, language)
    _shot(analyst, screenshot_dir, f"{prefix}-credit-memo")
    analyst.goto(f"{base}/applications/{application.pk}/")
    analyst.click("[data-move=pending_decision]")
    analyst.wait_for_selector("#application-head .badge[data-value=pending_decision]")

    # The approver finds it in the queue and approves within authority.
    approver = desk()
    _sign_in(approver, base, people["approver"], language)
    approver.wait_for_selector(f"#awaiting-decision tr[data-application='{application.pk}']")
    _shot(approver, screenshot_dir, f"{prefix}-approver-day")
    approver.click("nav.mainnav a[href='/decisions/']")
    approver.wait_for_selector(f"#queue-table tr[data-application='{application.pk}']")
    _in_language(approver, language)
    _shot(approver, screenshot_dir, f"{prefix}-decision-queue")
    approver.click(f"#queue-table tr[data-application='{application.pk}'] a")
    approver.wait_for_selector("#decision-form")
    _shot(approver, screenshot_dir, f"{prefix}-application-pending")
    approver.select_option("#decision-form [name=outcome]", "approved")
    approver.fill("#decision-form [name=comment]", "Within appetite.")
    approver.click("#decision-form button[type=submit]")
    approver.wait_for_selector("#application-head .badge[data-value=approved]")
    decision = Decision.objects.get(application=application)
    approver.wait_for_selector(f"#decision-{decision.pk}")
    assert decision.decided_by == people["approver"]

    # The RM issues the offer and sees the letter.
    rm.goto(f"{base}/applications/{application.pk}/")
    rm.click("#offer-form button[type=submit]")
    rm.wait_for_selector("#offer-letter")
    offer = Offer.objects.get(application=application)
    assert rm.url == f"{base}/offers/{offer.pk}/"
    assert offer.reference in rm.locator("#offer-letter").inner_text()
    assert rm.locator("#offer-facilities tbody tr").count() == 1
    _in_language(rm, language)
    _shot(rm, screenshot_dir, f"{prefix}-offer")
    rm.click("#accept-form button")
    rm.wait_for_selector("#application-head .badge[data-value=offer_accepted]")
    _shot(rm, screenshot_dir, f"{prefix}-application-accepted")
    application.refresh_from_db()
    assert application.status == Status.OFFER_ACCEPTED
    if language == "en":  # the same pages on a tablet: nothing runs off the side
        rm.set_viewport_size({"width": 820, "height": 1180})
        for path, name in (
            (f"/applications/{application.pk}/", "application"),
            (f"/applications/{application.pk}/memo/", "memo"),
        ):
            rm.goto(base + path)
            overflow = rm.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, path
            _shot(rm, screenshot_dir, f"tablet-{name}")
