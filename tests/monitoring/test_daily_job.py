"""The daily job over real facilities: every step does its part in order, and a second run on the same day
changes nothing and writes nothing (no history, no audit, no signals, no watchlist rows)."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import F, Sum
from django.utils import timezone

from lendcrm.core.models import AuditEvent
from lendcrm.core.roles import Role
from lendcrm.monitoring import daily
from lendcrm.monitoring.models import Covenant, CovenantTest, Review, Signal, WatchlistEntry
from lendcrm.servicing.models import ClassificationChange, Facility, Instalment
from lendcrm.servicing.services.repayments import post_repayment
from tests.servicing import factories

pytestmark = pytest.mark.django_db


def _due_before(facility: Facility, day: Any) -> Decimal:
    lines = Instalment.objects.filter(
        facility=facility, schedule_version=facility.schedule_version, due_date__lt=day
    )
    total = lines.aggregate(s=Sum(F("principal") + F("interest") + F("fees")))["s"]
    return Decimal(total or 0)


@pytest.fixture
def book() -> dict[str, Any]:
    """A facility nothing has been paid on for 200 days; one paid up to date with a quarterly
    management-accounts covenant whose report never came; one party on each."""
    today = timezone.localdate()
    late = factories.booked_facility(
        borrower=factories.borrower_party("Huangpu Shipyard Services"), start_date=today - timedelta(days=200)
    )
    current = factories.booked_facility(
        borrower=factories.borrower_party("Minhang Cold Chain"), start_date=today - timedelta(days=70)
    )
    due = _due_before(current, today)
    assert due > 0
    post_repayment(
        actor=factories.ops(), facility_id=current.pk, amount=due, value_date=today, reference="RP-1"
    )
    monitor = factories.staff("dj_monitor", Role.PORTFOLIO_MONITOR)
    quarter_end = today - timedelta(days=100)
    covenant = Covenant.objects.create(
        facility=current,
        kind="reporting",
        name="Quarterly management accounts",
        document="management_accounts",
        frequency_months=3,
        first_test_date=quarter_end,
        due_days=30,
        created_by=monitor,
    )
    return {"late": late, "current": current, "covenant": covenant, "today": today}


def _counts() -> dict[str, int]:
    return {
        "audit": AuditEvent.objects.count(),
        "classification": ClassificationChange.objects.count(),
        "tests": CovenantTest.objects.count(),
        "reviews": Review.objects.count(),
        "signals": Signal.objects.count(),
        "watch": WatchlistEntry.objects.count(),
    }


def test_the_first_run_does_the_days_work_and_the_second_changes_nothing(book: dict[str, Any]) -> None:
    today = book["today"]
    first = daily.run_daily(as_of=today)
    changed = {s.name: s.changed for s in first.steps}
    assert list(changed) == list(daily.STEP_NAMES)
    assert changed["refresh_delinquency"] >= 1
    assert changed["classify"] >= 1
    assert changed["run_tests"] >= 1
    assert changed["schedule_reviews"] >= 2
    assert changed["evaluate_signals"] >= 1
    assert changed["apply_watch_rules"] >= 1

    late = Facility.objects.get(pk=book["late"].pk)
    assert late.days_past_due > 90
    assert late.arrears_principal > 0
    assert late.category == "substandard"
    assert late.stage == 3
    current = Facility.objects.get(pk=book["current"].pk)
    assert current.days_past_due == 0
    assert current.category == "normal"
    assert CovenantTest.objects.filter(covenant=book["covenant"], status="breach").exists()
    assert Signal.objects.filter(party_id=late.borrower_id, rule="days_past_due", status="open").exists()
    assert WatchlistEntry.objects.filter(party_id=late.borrower_id, source="rule").exists()
    assert Review.objects.filter(party_id=late.borrower_id, status="scheduled").exists()
    assert AuditEvent.objects.filter(action="daily.run").count() == 1

    before = _counts()
    second = daily.run_daily(as_of=today)
    assert {s.name: s.changed for s in second.steps} == dict.fromkeys(daily.STEP_NAMES, 0)
    assert _counts() == before


def test_the_command_runs_the_real_steps(book: dict[str, Any]) -> None:
    out = StringIO()
    call_command("daily", stdout=out)
    assert "refresh_delinquency" in out.getvalue()
    out = StringIO()
    call_command("daily", stdout=out)
    assert "nothing to change" in out.getvalue()
