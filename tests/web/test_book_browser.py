"""Loan operations in a real browser (Debian's Chromium, headless): opens a ready-to-disburse application,
books its facility, pays out a drawdown and reads the rebuilt schedule; the RM finds the facility on the
party's 360. Screenshots go to the run's folder."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lendcrm.origination.models import Status
from lendcrm.servicing.models import Facility
from tests.conftest import PASSWORD
from tests.origination.conftest import facility as facility_terms
from tests.servicing import factories
from tests.web.test_origination_browser import _shot, chromium, desk, reference_data

__all__ = ["chromium", "desk", "reference_data"]  # the browser, its windows and the seeds, shared

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.django_db(transaction=True)


def _sign_in(tab: Any, base: str, username: str) -> None:
    tab.goto(f"{base}/login/")
    tab.fill("#id_username", username)
    tab.fill("#id_password", PASSWORD)
    tab.click("form.stack button[type=submit]")
    tab.wait_for_url(f"{base}/")


def test_loan_operations_books_and_pays_out(
    live_server: Any, desk: Callable[[], Any], reference_data: None, screenshot_dir: Path
) -> None:
    base = live_server.url
    borrower = factories.borrower_party("Lingang Turbine Works")
    guarantor = factories.borrower_party("Lingang Holdings")
    application = factories.ready_application(
        borrower=borrower,
        facilities=[facility_terms(amount=5_000_000, upfront_fee_pct=1)],
        guarantors=[guarantor],
    )
    ops = desk()
    _sign_in(ops, base, factories.ops().username)
    ops.goto(f"{base}/applications/{application.pk}/")
    ops.click("#book-link")
    ops.fill("#id_start_date", "2026-01-15")
    prefix = f"#id_f{application.facilities.get().pk}"
    ops.select_option(f"{prefix}-frequency_months", "3")
    _shot(ops, screenshot_dir, "en-book-form")
    ops.click("#book-submit")
    ops.wait_for_selector("#facility-head")
    facility = Facility.objects.get(application=application)
    assert application.__class__.objects.get(pk=application.pk).status == Status.BOOKED
    ops.fill("#id_amount", "3000000")
    ops.fill("#id_value_date", "2026-01-15")
    ops.fill("#id_reference", "PAY-0001")
    ops.click("#drawdown-form button[type=submit]")
    ops.wait_for_selector("#schedule-table")
    assert ops.locator("#schedule-table tbody tr").count() == 12
    _shot(ops, screenshot_dir, "en-facility")
    over = ops.locator("#drawdown-form")
    ops.fill("#id_amount", "2500000")
    ops.fill("#id_value_date", "2026-02-01")
    ops.fill("#id_reference", "PAY-0002")
    over.locator("button[type=submit]").click()
    ops.wait_for_selector("#drawdown-form .notice.bad, #drawdown-form .errorlist")
    _shot(ops, screenshot_dir, "en-facility-over-limit")
    ops.click("nav.mainnav a[href='/facilities/']")
    ops.wait_for_selector("#facility-table")
    _shot(ops, screenshot_dir, "en-loan-book")

    rm = desk()
    _sign_in(rm, base, factories.relationship_manager().username)
    rm.goto(f"{base}/parties/{borrower.pk}/")
    assert rm.locator(f"#party-facilities a[href='/facilities/{facility.pk}/']").count() == 1
    _shot(rm, screenshot_dir, "en-party-facilities")
