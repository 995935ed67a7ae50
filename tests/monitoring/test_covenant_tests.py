"""Covenants and their automatic tests: financial, reporting and undertakings; idempotent runs; one
action per breach; four-eyes waivers."""

from datetime import timedelta
from decimal import Decimal

import pytest

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent
from lendcrm.interactions.models import Task
from lendcrm.monitoring import covenant_selectors as sel
from lendcrm.monitoring.models import CovenantTest
from lendcrm.monitoring.models import TestStatus as Result
from lendcrm.monitoring.services import covenants
from lendcrm.monitoring.services.statements import submit_statement
from tests.monitoring.covenant_fixtures import (
    GOOD_LINES,
    NEXT_END,
    PAST_END,
    TODAY,
    WEAK_LINES,
    approver,
    facility,
    monitor,
    monitor2,
)
from tests.servicing.factories import relationship_manager

__all__ = ["approver", "facility", "monitor", "monitor2"]


def dscr_covenant(monitor, facility, **overrides):
    params = {
        "kind": "financial",
        "name": "Minimum DSCR 1.20x",
        "metric": "dscr",
        "bound": "min",
        "threshold": Decimal("1.20"),
        "frequency_months": 3,
        "first_test_date": NEXT_END,
        "due_days": 30,
        **overrides,
    }
    return covenants.add_covenant(actor=monitor, facility_id=facility.pk, **params)


def statement(monitor, facility, period_end, lines, kind="management"):
    return submit_statement(
        actor=monitor,
        party_id=facility.borrower_id,
        period_end=period_end,
        period_months=3,
        kind=kind,
        currency="CNY",
        lines=lines,
    )


def test_a_financial_test_is_not_due_then_a_breach_without_data(monitor, facility):
    covenant = dscr_covenant(monitor, facility)
    [test] = CovenantTest.objects.filter(covenant=covenant)
    assert (test.period_end, test.due_date) == (NEXT_END, NEXT_END + timedelta(days=30))
    assert (test.status, test.detail) == (Result.NOT_DUE, "awaiting_data")
    # On the due date itself it is still not due; the day after, no data is a breach.
    assert (
        covenants.run_tests(as_of=test.due_date, covenant_ids=[covenant.pk]) == 1
    )  # the next period appears
    test.refresh_from_db()
    assert test.status == Result.NOT_DUE
    covenants.run_tests(as_of=test.due_date + timedelta(days=1), covenant_ids=[covenant.pk])
    test.refresh_from_db()
    assert (test.status, test.detail, test.value) == (Result.BREACH, "no_data", None)


def test_submitting_a_statement_tests_the_covenant(monitor, facility):
    covenant = dscr_covenant(monitor, facility)
    submitted = statement(monitor, facility, NEXT_END, GOOD_LINES)
    assert submitted.ratios["dscr"] == Decimal("1.4667")
    assert submitted.tests_changed == 1
    test = CovenantTest.objects.get(covenant=covenant, period_end=NEXT_END)
    assert (test.status, test.value, test.threshold) == (
        Result.PASS,
        Decimal("1.4667"),
        Decimal("1.2000"),
    )
    assert test.statement_id == submitted.statement.pk
    # The replaced statement re-tests it: now a breach, with one action for the lead RM.
    statement(monitor, facility, NEXT_END, WEAK_LINES)
    test.refresh_from_db()
    assert (test.status, test.value) == (Result.BREACH, Decimal("0.9333"))
    task = Task.objects.get(pk=test.action_id)
    assert task.party_id == facility.borrower_id
    assert task.assignee.username == "bk_rm"  # no monitoring officer on the facility: the lead RM
    assert "Minimum DSCR" in task.title


def test_runs_are_idempotent_and_a_breach_opens_one_action(monitor, facility):
    covenant = dscr_covenant(monitor, facility)
    statement(monitor, facility, NEXT_END, WEAK_LINES)
    as_of = NEXT_END + timedelta(days=200)
    first = covenants.run_tests(as_of=as_of)
    assert first > 0
    tests = {
        t.pk: (t.status, t.value, t.detail, t.tested_at, t.action_id) for t in CovenantTest.objects.all()
    }
    tasks, events = Task.objects.count(), AuditEvent.objects.count()
    assert covenants.run_tests(as_of=as_of) == 0
    assert {
        t.pk: (t.status, t.value, t.detail, t.tested_at, t.action_id) for t in CovenantTest.objects.all()
    } == tests
    assert (Task.objects.count(), AuditEvent.objects.count()) == (tasks, events)
    # Every period end up to as_of has one test, plus the next (not yet due) one.
    ends = list(
        CovenantTest.objects.filter(covenant=covenant)
        .order_by("period_end")
        .values_list("period_end", "status")
    )
    assert ends[-1][1] == Result.NOT_DUE
    assert ends[-2][0] <= as_of < ends[-1][0]
    assert len(set(ends)) == len(ends)
    # One action per breached test, never two.
    breached = CovenantTest.objects.filter(covenant=covenant, status=Result.BREACH)
    assert Task.objects.filter(pk__in=breached.values("action_id")).count() == breached.count()
    # A pass and back to breach keeps the first action.
    test = CovenantTest.objects.get(covenant=covenant, period_end=NEXT_END)
    action = test.action_id
    statement(monitor, facility, NEXT_END, GOOD_LINES)
    statement(monitor, facility, NEXT_END, WEAK_LINES)
    test.refresh_from_db()
    assert (test.status, test.action_id) == (Result.BREACH, action)


def test_the_facility_monitor_gets_the_action(monitor, monitor2, facility):
    facility.monitor = monitor2
    facility.save(update_fields=["monitor"])
    dscr_covenant(monitor, facility)
    statement(monitor, facility, NEXT_END, WEAK_LINES)
    test = CovenantTest.objects.get(period_end=NEXT_END)
    assert Task.objects.get(pk=test.action_id).assignee == monitor2


def test_a_maximum_leverage_covenant_on_an_audited_statement(monitor, facility):
    covenant = dscr_covenant(
        monitor,
        facility,
        name="Leverage at most 2.5x",
        metric="leverage",
        bound="max",
        threshold=Decimal("2.5"),
    )
    statement(monitor, facility, NEXT_END, GOOD_LINES, kind="audited")
    test = CovenantTest.objects.get(covenant=covenant, period_end=NEXT_END)
    # 3,600 / (1,200 x 12 / 3) = 3,600 / 4,800 = 0.75 (a quarter's EBITDA annualised)
    assert (test.status, test.value) == (Result.PASS, Decimal("0.7500"))


def test_a_statement_missing_lines_is_no_data(monitor, facility):
    covenant = dscr_covenant(monitor, facility)
    statement(monitor, facility, NEXT_END, {"revenue": Decimal("100")})
    test = CovenantTest.objects.get(covenant=covenant, period_end=NEXT_END)
    assert (test.status, test.detail) == (Result.NOT_DUE, "awaiting_data")
    covenants.run_tests(as_of=test.due_date + timedelta(days=1), covenant_ids=[covenant.pk])
    test.refresh_from_db()
    assert (test.status, test.detail) == (Result.BREACH, "no_data")


def test_reporting_audited_statements_received_on_time_or_late(monitor, facility):
    on_time = covenants.add_covenant(
        actor=monitor,
        facility_id=facility.pk,
        kind="reporting",
        name="Audited statements within 120 days",
        document="audited_statements",
        first_test_date=NEXT_END,
        due_days=120,
    )
    late = covenants.add_covenant(
        actor=monitor,
        facility_id=facility.pk,
        kind="reporting",
        name="Management accounts within 10 days",
        document="management_accounts",
        frequency_months=3,
        first_test_date=PAST_END,
        due_days=10,
    )
    # Today, the past period's accounts are overdue: a breach (not received).
    late_test = CovenantTest.objects.get(covenant=late, period_end=PAST_END)
    assert (late_test.status, late_test.detail) == (Result.BREACH, "not_received")
    statement(monitor, facility, NEXT_END, GOOD_LINES, kind="audited")
    statement(monitor, facility, PAST_END, GOOD_LINES, kind="management")
    on_time_test = CovenantTest.objects.get(covenant=on_time, period_end=NEXT_END)
    assert (on_time_test.status, on_time_test.detail) == (Result.PASS, "received")
    late_test.refresh_from_db()
    assert (late_test.status, late_test.detail) == (Result.BREACH, "received_late")


def test_attested_documents_and_undertakings(monitor, facility):
    insurance = covenants.add_covenant(
        actor=monitor,
        facility_id=facility.pk,
        kind="reporting",
        name="Insurance certificate",
        document="insurance_certificate",
        first_test_date=NEXT_END,
        due_days=15,
    )
    pledge = covenants.add_covenant(
        actor=monitor,
        facility_id=facility.pk,
        kind="undertaking",
        name="Negative pledge",
        first_test_date=NEXT_END,
    )
    test = covenants.attest(actor=monitor, covenant_id=insurance.pk, period_end=NEXT_END, complied=True)
    assert (test.status, test.detail, test.attested_by) == (Result.PASS, "received", monitor)
    test = covenants.attest(actor=monitor, covenant_id=pledge.pk, period_end=NEXT_END, complied=False)
    assert (test.status, test.detail) == (Result.BREACH, "not_complied")
    assert test.action_id is not None
    # Not attested by the due date: a breach.
    covenants.run_tests(as_of=NEXT_END + timedelta(days=400), covenant_ids=[pledge.pk])
    later = (
        CovenantTest.objects.filter(covenant=pledge, status=Result.BREACH)
        .exclude(period_end=NEXT_END)
        .first()
    )
    assert later is not None
    assert later.detail == "not_attested"
    with pytest.raises(errors.ValidationFailed) as caught:
        covenants.attest(
            actor=monitor, covenant_id=pledge.pk, period_end=NEXT_END + timedelta(days=1), complied=True
        )
    assert "period_end" in caught.value.field_errors


def test_financial_covenants_are_not_attested(monitor, facility):
    covenant = dscr_covenant(monitor, facility)
    with pytest.raises(errors.Conflict):
        covenants.attest(actor=monitor, covenant_id=covenant.pk, period_end=NEXT_END, complied=True)


def test_waiver_needs_a_second_person(monitor, monitor2, approver, facility):
    dscr_covenant(monitor, facility)
    statement(monitor, facility, NEXT_END, WEAK_LINES)
    test = CovenantTest.objects.get(period_end=NEXT_END)
    with pytest.raises(errors.ValidationFailed):
        covenants.request_waiver(actor=monitor, test_id=test.pk, reason="  ")
    covenants.request_waiver(actor=monitor, test_id=test.pk, reason="Temporary dip, sponsor injects equity")
    with pytest.raises(errors.PermissionDenied):
        covenants.decide_waiver(actor=monitor, test_id=test.pk, approve=True)
    # A run leaves a test with a waiver asked for as it is.
    covenants.run_tests(as_of=NEXT_END + timedelta(days=60))
    test.refresh_from_db()
    assert test.status == Result.WAIVER_REQUESTED
    refused = covenants.decide_waiver(actor=monitor2, test_id=test.pk, approve=False, note="Not enough")
    assert (refused.status, refused.waiver_note) == (Result.BREACH, "Not enough")
    covenants.request_waiver(actor=monitor, test_id=test.pk, reason="With the equity letter attached")
    waived = covenants.decide_waiver(actor=approver, test_id=test.pk, approve=True, note="Agreed by lenders")
    assert (waived.status, waived.waived_by, waived.waiver_requested_by) == (
        Result.WAIVED,
        approver,
        monitor,
    )
    # A waived test stays waived, even when the data changes.
    statement(monitor, facility, NEXT_END, GOOD_LINES)
    test.refresh_from_db()
    assert test.status == Result.WAIVED
    with pytest.raises(errors.Conflict):
        covenants.request_waiver(actor=monitor, test_id=test.pk, reason="again")
    actions = list(AuditEvent.objects.filter(object_type="covenant_test").values_list("action", flat=True))
    assert "covenant_test.waived" in actions
    assert "covenant_test.waiver_refused" in actions


def test_only_monitors_keep_covenants_and_rms_out_of_scope_see_nothing(monitor, facility, rm_b):
    covering_rm = relationship_manager()  # covers the borrower: sees it, may not keep its covenants
    with pytest.raises(errors.PermissionDenied):
        dscr_covenant(covering_rm, facility)
    covenant = dscr_covenant(monitor, facility)
    assert sel.get_covenant(viewer=covering_rm, covenant_id=covenant.pk) == covenant
    with pytest.raises(errors.NotFound):
        sel.get_covenant(viewer=rm_b, covenant_id=covenant.pk)
    assert not sel.covenant_test_list(viewer=rm_b).exists()
    with pytest.raises(errors.NotFound):
        covenants.add_covenant(
            actor=rm_b, facility_id=facility.pk, kind="undertaking", name="x", first_test_date=NEXT_END
        )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"metric": ""}, "metric"),
        ({"bound": "between"}, "bound"),
        ({"threshold": None}, "threshold"),
        ({"threshold": Decimal("1.00001")}, "threshold"),
        ({"frequency_months": 2}, "frequency_months"),
        ({"due_days": -1}, "due_days"),
        ({"first_test_date": TODAY - timedelta(days=1000)}, "first_test_date"),
        ({"name": ""}, "name"),
        ({"kind": "reporting", "document": "tax_return"}, "document"),
        ({"kind": "promise"}, "kind"),
    ],
)
def test_bad_covenants_are_refused_and_nothing_is_written(monitor, facility, overrides, field):
    with pytest.raises(errors.ValidationFailed) as caught:
        dscr_covenant(monitor, facility, **overrides)
    assert field in caught.value.field_errors
    assert not CovenantTest.objects.exists()


def test_deactivated_covenants_are_not_tested(monitor, facility):
    covenant = dscr_covenant(monitor, facility)
    covenants.set_covenant_active(actor=monitor, covenant_id=covenant.pk, is_active=False, expected_version=1)
    assert covenants.run_tests(as_of=NEXT_END + timedelta(days=400)) == 0
    with pytest.raises(errors.PreconditionFailed):
        covenants.set_covenant_active(
            actor=monitor, covenant_id=covenant.pk, is_active=True, expected_version=1
        )


def test_upcoming_and_breach_selectors(monitor, facility):
    covenant = dscr_covenant(monitor, facility)
    upcoming = list(sel.upcoming_tests(viewer=monitor, as_of=TODAY, until=NEXT_END + timedelta(days=31)))
    assert [t.covenant_id for t in upcoming] == [covenant.pk]
    assert not sel.upcoming_tests(viewer=monitor, as_of=TODAY, until=NEXT_END).exists()
    statement(monitor, facility, NEXT_END, WEAK_LINES)
    assert [t.period_end for t in sel.breaches(viewer=monitor)] == [NEXT_END]
    assert [t.period_end for t in sel.breaches(viewer=monitor, party_id=facility.borrower_id)] == [NEXT_END]


def test_a_run_makes_the_same_number_of_queries_for_more_covenants(monitor, facility):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.servicing.factories import booked_facility

    def queries(as_of) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert covenants.run_tests(as_of=as_of) > 0
        return len(ctx.captured_queries)

    dscr_covenant(monitor, facility)
    statement(monitor, facility, NEXT_END, WEAK_LINES)
    covenants.run_tests(as_of=NEXT_END + timedelta(days=1))  # the next period, not yet due
    # Creates, updates (not due -> breach) and opens actions: every kind of write, one query each.
    small = queries(NEXT_END + timedelta(days=200))
    other = booked_facility(start_date=TODAY - timedelta(days=100), tenor_months=36)
    for target in (facility, other):
        for index in range(3):
            dscr_covenant(monitor, target, name=f"Covenant {index}")
        covenants.add_covenant(
            actor=monitor, facility_id=target.pk, kind="undertaking", name="Pledge", first_test_date=NEXT_END
        )
    statement(monitor, other, NEXT_END, WEAK_LINES)
    assert queries(NEXT_END + timedelta(days=400)) == small
