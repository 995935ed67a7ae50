"""Each early-warning rule over booked facilities: days past due by bucket, covenant breach and late
reporting, rating downgrade (classification and memo grade), falling revenue and DSCR (statements and a
project's actuals), utilisation spike, a group member's NPL — and a high signal putting the party on
the watchlist with the facility's monitor as owner."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.monitoring.models import Covenant, CovenantTest, Project, ProjectCashFlow
from lendcrm.monitoring.oversight_models import Severity, Signal, SignalRule, SignalStatus, WatchlistEntry
from lendcrm.monitoring.services.signals import evaluate_signals
from lendcrm.monitoring.services.watchlist import apply_watch_rules
from lendcrm.monitoring.signal_rules import dpd_severity
from lendcrm.origination.models import FinancialLine, FinancialStatement
from lendcrm.parties.models import Party, Relationship
from lendcrm.servicing.models import ClassificationChange, Facility
from tests.monitoring.oversight_fixtures import *  # noqa: F403
from tests.servicing.factories import START, booked_facility, borrower_party, draw_facility, ops

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)


def _open(rule: str) -> list[Signal]:
    return list(Signal.objects.filter(rule=rule, status=SignalStatus.OPEN))


def test_dpd_severity_follows_the_buckets() -> None:
    assert [dpd_severity(d) for d in (1, 30, 31, 60, 61, 90, 91, 400)] == [1, 1, 2, 2, 3, 3, 4, 4]


def test_days_past_due_is_one_signal_per_facility_refreshed_then_cleared() -> None:
    facility = booked_facility()
    Facility.objects.filter(pk=facility.pk).update(days_past_due=45)
    assert evaluate_signals(as_of=AS_OF) == 1
    [signal] = _open(SignalRule.DAYS_PAST_DUE)
    assert (signal.facility_id, signal.subject, signal.severity) == (
        facility.pk,
        f"facility:{facility.pk}",
        Severity.MEDIUM,
    )
    assert facility.reference in signal.detail
    Facility.objects.filter(pk=facility.pk).update(days_past_due=95)
    assert evaluate_signals(as_of=AS_OF) == 1
    signal.refresh_from_db()
    assert signal.severity == Severity.CRITICAL
    assert evaluate_signals(as_of=AS_OF) == 0
    Facility.objects.filter(pk=facility.pk).update(days_past_due=0)
    assert evaluate_signals(as_of=AS_OF) == 1
    signal.refresh_from_db()
    assert signal.status == SignalStatus.CLEARED


def _covenant(facility: Facility, kind: str = "financial") -> Covenant:
    fields = (
        {"metric": "dscr", "bound": "min", "threshold": Decimal("1.20")}
        if kind == "financial"
        else {"document": "audited_statements", "due_days": 120}
    )
    return Covenant.objects.create(
        facility=facility,
        kind=kind,
        name="Minimum DSCR 1.20x" if kind == "financial" else "Audited statements",
        first_test_date=date(2026, 3, 31),
        frequency_months=3,
        created_by=ops(),
        **fields,
    )


def _test(covenant: Covenant, period_end: date, status: str) -> CovenantTest:
    return CovenantTest.objects.create(
        covenant=covenant, period_end=period_end, due_date=period_end + timedelta(days=30), status=status
    )


def test_covenant_breach_is_high_and_a_later_pass_clears_it(monitor: User) -> None:
    facility = booked_facility(booking={"monitor": monitor.pk})
    covenant = _covenant(facility)
    _test(covenant, date(2026, 3, 31), "breach")
    _test(covenant, date(2026, 6, 30), "not_due")
    evaluate_signals(as_of=AS_OF)
    [signal] = _open(SignalRule.COVENANT_BREACH)
    assert signal.severity == Severity.HIGH
    assert "Minimum DSCR 1.20x" in signal.detail
    # A high signal puts the party on watch, owned by the facility's monitor.
    assert apply_watch_rules(as_of=AS_OF) == 1
    entry = WatchlistEntry.objects.get()
    assert (entry.party_id, entry.owner, entry.signal) == (facility.borrower_id, monitor, signal)
    CovenantTest.objects.filter(covenant=covenant, period_end=date(2026, 6, 30)).update(status="pass")
    evaluate_signals(as_of=AS_OF)
    signal.refresh_from_db()
    assert signal.status == SignalStatus.CLEARED
    assert WatchlistEntry.objects.get().status == "active"  # leaving needs approval


def test_a_report_not_received_is_late_reporting_and_a_waiver_clears_it() -> None:
    facility = booked_facility()
    test = _test(_covenant(facility, "reporting"), date(2025, 12, 31), "breach")
    evaluate_signals(as_of=AS_OF)
    [signal] = _open(SignalRule.LATE_REPORTING)
    assert signal.severity == Severity.MEDIUM
    assert not _open(SignalRule.COVENANT_BREACH)
    CovenantTest.objects.filter(pk=test.pk).update(status="waived")
    evaluate_signals(as_of=AS_OF)
    assert not _open(SignalRule.LATE_REPORTING)


def test_classification_downgrade_within_the_window() -> None:
    facility = booked_facility()
    ClassificationChange.objects.create(
        facility=facility,
        category="substandard",
        stage=3,
        previous_category="special_mention",
        previous_stage=2,
        basis="days_past_due",
        days_past_due=95,
        effective_on=date(2026, 6, 1),
        recorded_at=timezone.now(),
    )
    evaluate_signals(as_of=AS_OF)
    [signal] = _open(SignalRule.RATING_DOWNGRADE)
    assert signal.severity == Severity.HIGH
    assert "Substandard" in signal.detail
    # Past the window the downgrade is no longer news.
    evaluate_signals(as_of=date(2026, 6, 1) + timedelta(days=181))
    assert not _open(SignalRule.RATING_DOWNGRADE)


def test_a_worse_memo_grade_than_the_previous_one() -> None:
    party = borrower_party()
    booked_facility(borrower=party, grade=4)
    booked_facility(borrower=party, grade=7)
    today = timezone.localdate()
    evaluate_signals(as_of=today)
    [signal] = _open(SignalRule.RATING_DOWNGRADE)
    assert (signal.party_id, signal.severity) == (party.pk, Severity.HIGH)
    assert "4" in signal.detail
    assert "7" in signal.detail


def _statement(party: Party, period_end: date, **lines: str) -> None:
    statement = FinancialStatement.objects.create(
        party=party, period_end=period_end, kind="audited", currency="CNY", entered_by=ops()
    )
    FinancialLine.objects.bulk_create(
        FinancialLine(statement=statement, code=code, amount=Decimal(amount))
        for code, amount in lines.items()
    )


def test_falling_revenue_and_dscr_from_the_statements() -> None:
    facility = booked_facility()
    party = facility.borrower
    debt = {"tax": "20", "interest_expense": "50", "principal_repaid": "50"}
    _statement(party, date(2024, 12, 31), revenue="1000", ebitda="200", **debt)  # DSCR 1.80
    _statement(party, date(2025, 12, 31), revenue="750", ebitda="110", **debt)  # DSCR 0.90
    _statement(party, date(2026, 12, 31), revenue="10", ebitda="1", **debt)  # after as_of: not read
    evaluate_signals(as_of=AS_OF)
    [revenue] = _open(SignalRule.REVENUE_DECLINE)
    assert revenue.severity == Severity.HIGH  # down 25 %, more than twice the 10 % threshold
    assert "25 %" in revenue.detail
    [dscr] = _open(SignalRule.DSCR_DECLINE)
    assert dscr.severity == Severity.HIGH  # down 50 % and below 1.00x
    assert "1.8000" in dscr.detail
    assert "0.9000" in dscr.detail


def test_small_moves_raise_nothing() -> None:
    facility = booked_facility()
    debt = {"tax": "20", "interest_expense": "50", "principal_repaid": "50"}
    _statement(facility.borrower, date(2024, 12, 31), revenue="1000", ebitda="200", **debt)
    _statement(facility.borrower, date(2025, 12, 31), revenue="950", ebitda="180", **debt)
    assert evaluate_signals(as_of=AS_OF) == 0


def test_falling_project_dscr_from_actual_cash_flows() -> None:
    facility = booked_facility(kind="project_finance")
    project = Project.objects.create(
        party=facility.borrower,
        facility=facility,
        name="Rudong offshore wind",
        currency="CNY",
        discount_rate_pct=Decimal("5"),
        lockup_dscr=Decimal("1.15"),
        default_dscr=Decimal("1.05"),
        dsra_balance=Decimal("0"),
        created_by=ops(),
    )
    for period_end, cfads, actual in (
        (date(2025, 12, 31), "150", True),
        (date(2026, 6, 30), "110", True),
        (date(2026, 12, 31), "10", False),
    ):
        zero = Decimal(0)
        ProjectCashFlow.objects.create(
            project=project,
            period_end=period_end,
            revenue=Decimal(cfads),
            operating_costs=zero,
            tax=zero,
            maintenance_capex=zero,
            working_capital_change=zero,
            reserve_movement=zero,
            cfads=Decimal(cfads),
            principal=Decimal("60"),
            interest=Decimal("40"),
            is_actual=actual,
        )
    evaluate_signals(as_of=AS_OF)
    [signal] = _open(SignalRule.DSCR_DECLINE)
    assert (signal.facility_id, signal.severity) == (facility.pk, Severity.MEDIUM)  # 1.50 → 1.10
    assert signal.subject == f"project:{project.pk}:2026-06-30"


def test_utilisation_spike_after_the_first_window() -> None:
    facility = booked_facility(
        amount=Decimal("1000000.00"),
        draw_amount=Decimal("200000.00"),
        booking={"availability_end": START + timedelta(days=120)},
    )
    draw_facility(facility, Decimal("500000.00"), START + timedelta(days=60))
    as_of = START + timedelta(days=70)
    evaluate_signals(as_of=as_of)
    [signal] = _open(SignalRule.UTILISATION_SPIKE)
    assert signal.severity == Severity.MEDIUM
    assert "50 points" in signal.detail
    # The booking drawdown itself is not a spike; the window moves on and the signal clears.
    evaluate_signals(as_of=START + timedelta(days=95))
    assert not _open(SignalRule.UTILISATION_SPIKE)


def test_a_group_member_s_npl_raises_a_review_signal_for_the_others() -> None:
    head = borrower_party("Lingang Holdings")
    member = borrower_party("Lingang Turbine Works")
    Relationship.objects.create(
        from_party=head, to_party=member, kind="parent_of", ownership_pct=Decimal("80")
    )
    sick = booked_facility(borrower=member)
    booked_facility(borrower=head)
    Facility.objects.filter(pk=sick.pk).update(category="substandard")
    evaluate_signals(as_of=AS_OF)
    [signal] = _open(SignalRule.GROUP_NPL)
    assert (signal.party_id, signal.severity) == (head.pk, Severity.MEDIUM)
    assert f"party no. {member.pk}" in signal.detail
    assert "Lingang Turbine Works" not in signal.detail  # another branch's reader must not learn the name
    assert evaluate_signals(as_of=AS_OF) == 0
