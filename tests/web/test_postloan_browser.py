"""Post-loan monitoring in a real browser (Debian's Chromium, headless): the monitoring officer records a
borrower's statements, the DSCR covenant is breached at once; the daily job (run as cron would) raises an
early-warning signal and puts the party on the watchlist; the monitor sees it on the watchlist and the
portfolio page, and the relationship manager sees the signal and the watchlist entry on their home page.

Screenshots go to the run's folder (printed at the end of the run)."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.monitoring import daily
from lendcrm.monitoring.models import CovenantTest, Signal, WatchlistEntry
from lendcrm.monitoring.services import covenants
from lendcrm.parties.models import Party
from tests.conftest import PASSWORD
from tests.servicing import factories
from tests.web.test_origination_browser import chromium, desk, reference_data  # noqa: F401  (shared fixtures)

pytestmark = pytest.mark.django_db(transaction=True)
BORROWER = "Jiangnan Textile Mills Co., Ltd."
# The year's lines: (EBITDA - tax) / (interest + principal repaid) = (9.0M - 1.5M) / (2.4M + 5.0M) = 1.01.
WEAK_YEAR = {
    "revenue": "61000000",
    "ebitda": "9000000",
    "ebit": "6500000",
    "interest_expense": "2400000",
    "tax": "1500000",
    "principal_repaid": "5000000",
    "short_term_debt": "12000000",
    "long_term_debt": "30000000",
    "equity": "35000000",
}


@pytest.fixture
def book(reference_data: None) -> dict[str, Any]:  # noqa: F811
    """A term loan of the RM's borrower, monitored by `monitor`, with a DSCR covenant (at least 1.25x)
    whose latest period ended two months ago and whose statements are due in two months."""
    today = timezone.localdate()
    monitor = factories.staff("pl_monitor", Role.PORTFOLIO_MONITOR)
    borrower = factories.borrower_party(BORROWER)
    Party.objects.filter(pk=borrower.pk).update(
        local_name="江南纺织有限公司", segment="sme", industry_code="C17"
    )
    facility = factories.booked_facility(
        borrower=borrower,
        amount=Decimal("30000000.00"),
        tenor_months=60,
        frequency_months=3,
        start_date=today - timedelta(days=75),  # before the first quarterly instalment
        booking={"monitor": monitor.pk},
    )
    period_end = today - timedelta(days=60)
    covenants.add_covenant(
        actor=monitor,
        facility_id=facility.pk,
        kind="financial",
        name="Minimum DSCR 1.25x",
        metric="dscr",
        bound="min",
        threshold=Decimal("1.25"),
        first_test_date=period_end,
        frequency_months=12,
        due_days=120,
    )
    daily.run_daily()  # the morning's job before the statements arrive: nothing to flag on this party
    return {
        "monitor": monitor,
        "rm": factories.relationship_manager(),
        "borrower": borrower,
        "facility": facility,
        "period_end": period_end,
    }


def _sign_in(tab: Any, base: str, user: User) -> None:
    tab.goto(f"{base}/login/")
    tab.fill("#id_username", user.username)
    tab.fill("#id_password", PASSWORD)
    tab.click("form.stack button[type=submit]")
    tab.wait_for_url(f"{base}/")


def _shot(tab: Any, folder: Path, name: str) -> None:
    tab.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_a_dscr_breach_reaches_the_watchlist_and_the_rms_home(
    live_server: Any,
    desk: Callable[[], Any],  # noqa: F811
    book: dict[str, Any],
    screenshot_dir: Path,
) -> None:
    base = live_server.url
    borrower: Party = book["borrower"]
    assert not Signal.objects.filter(party=borrower, rule="covenant_breach").exists()
    assert not WatchlistEntry.objects.filter(party=borrower).exists()

    # The monitoring officer enters last year's audited statements; the DSCR test runs at once.
    monitor = desk()
    _sign_in(monitor, base, book["monitor"])
    monitor.goto(f"{base}/parties/{borrower.pk}/statements/")
    monitor.wait_for_selector("#statement-form")
    monitor.fill("#statement-form [name=period_end]", book["period_end"].isoformat())
    monitor.fill("#statement-form [name=period_months]", "12")
    monitor.select_option("#statement-form [name=kind]", "audited")
    monitor.select_option("#statement-form [name=currency]", "CNY")
    for code, amount in WEAK_YEAR.items():
        monitor.fill(f"#statement-form [name=line_{code}]", amount)
    _shot(monitor, screenshot_dir, "postloan-1-statement-entry")
    monitor.locator("#statement-form [name=line_equity]").press("Tab")  # leave the last field, then submit
    with monitor.expect_navigation():
        monitor.click("#statement-form button[type=submit]")
    breach = monitor.wait_for_selector("#test-table tr[data-status=breach]")
    assert "Minimum DSCR 1.25x" in breach.inner_text()
    assert "1.01" in monitor.locator("#ratio-table tr[data-ratio=dscr]").inner_text()
    _shot(monitor, screenshot_dir, "postloan-2-dscr-breach")
    test = CovenantTest.objects.get(covenant__facility=book["facility"], period_end=book["period_end"])
    assert test.status == "breach"

    # Overnight, the daily job evaluates the signals and the watch rules.
    run = daily.run_daily()
    changed = {step.name: step.changed for step in run.steps}
    assert changed["evaluate_signals"] >= 1
    assert changed["apply_watch_rules"] >= 1
    signal = Signal.objects.get(party=borrower, rule="covenant_breach", status="open")
    entry = WatchlistEntry.objects.get(party=borrower, status="active")
    assert entry.source == "rule"

    # The monitor finds the party on the watchlist and in the portfolio view.
    monitor.click("nav.mainnav a[href='/watchlist/']")
    monitor.wait_for_selector(f"#watch-table tr[data-entry='{entry.pk}']")
    assert BORROWER in monitor.locator(f"#watch-table tr[data-entry='{entry.pk}']").inner_text()
    _shot(monitor, screenshot_dir, "postloan-3-watchlist")
    monitor.click("nav.mainnav a[href='/portfolio/']")
    monitor.wait_for_selector("#exposure-table")
    assert BORROWER in monitor.locator("#watchlist").inner_text()
    assert "Minimum DSCR 1.25x" in monitor.locator("#breaches").inner_text()
    _shot(monitor, screenshot_dir, "postloan-4-portfolio")

    # The RM signs in and sees the signal and the watchlist entry on their home page.
    rm = desk()
    _sign_in(rm, base, book["rm"])
    rm.wait_for_selector(f"#my-signal-table tr[data-signal='{signal.pk}']")
    assert "Minimum DSCR 1.25x" in rm.locator(f"#my-signal-table tr[data-signal='{signal.pk}']").inner_text()
    rm.wait_for_selector(f"#my-watchlist tr[data-entry='{entry.pk}']")
    _shot(rm, screenshot_dir, "postloan-5-rm-home")
