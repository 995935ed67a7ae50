"""Drawdowns: within the available limit and the availability period, no open condition precedent; each
one writes a new schedule version that keeps the instalments already due."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.utils import timezone

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent
from lendcrm.core.roles import Role
from lendcrm.origination.models import (
    AuthorityLevel,
    AuthorityMatrix,
    Condition,
    ConditionKind,
    ConditionStatus,
    Decision,
)
from lendcrm.servicing.models import Drawdown, Facility, Instalment
from lendcrm.servicing.selectors import current_schedule
from lendcrm.servicing.services import draw
from tests.servicing import factories

pytestmark = pytest.mark.django_db

START = factories.START


def undrawn(**kwargs: object) -> Facility:
    return factories.booked_facility(drawn=False, **kwargs)  # type: ignore[arg-type]


def test_first_drawdown_schedules_it_and_charges_the_upfront_fee() -> None:
    facility = undrawn(
        terms={"upfront_fee_pct": Decimal("0.5")}, booking={"availability_end": date(2026, 6, 30)}
    )
    drawdown = factories.draw_facility(facility, Decimal("400000.00"), START, reference="TR-1")
    facility.refresh_from_db()
    assert drawdown.reference == "TR-1"
    assert (facility.drawn, facility.outstanding_principal) == (Decimal("400000.00"), Decimal("400000.00"))
    assert facility.schedule_version == 1
    lines = list(current_schedule(facility))
    assert sum(line.principal for line in lines) == Decimal("400000.00")
    # 0.5 % of the CNY 1,000,000 limit, due with the first instalment.
    assert [line.fees for line in lines[:2]] == [Decimal("5000.00"), Decimal("0.00")]
    event = AuditEvent.objects.filter(action="facility.drawdown", object_id=str(facility.pk)).get()
    assert event.changes["upfront_fee"] == "5000.00"


def test_a_second_drawdown_keeps_the_due_instalments_and_carries_accrued_interest() -> None:
    facility = undrawn(booking={"availability_end": date(2026, 6, 30)})
    factories.draw_facility(facility, Decimal("400000.00"), START)
    facility.refresh_from_db()
    first = list(current_schedule(facility))
    factories.draw_facility(facility, Decimal("600000.00"), date(2026, 3, 25))
    facility.refresh_from_db()
    assert facility.schedule_version == 2
    assert facility.drawn == Decimal("1000000.00")
    second = list(current_schedule(facility))
    # Instalments due 15 Feb (a Sunday: Monday 16 Feb) and 16 March 2026 are kept as they were.
    kept = [line for line in first if line.due_date <= date(2026, 3, 25)]
    assert len(kept) == 2
    for old, new in zip(kept, second[:2], strict=True):
        assert (old.number, old.due_date, old.principal, old.interest) == (
            new.number,
            new.due_date,
            new.principal,
            new.interest,
        )
    following = second[2]
    assert following.number == 3
    assert following.period_start == kept[-1].due_date
    # The new balance: what the old schedule still had to repay plus the new tranche.
    assert following.opening_balance == kept[-1].closing_balance + Decimal("600000.00")
    # Interest on the old balance from 16 March to 25 March (9 days, ACT/360) is carried into it, beside
    # the interest on the new balance from 25 March to 15 April (21 days); that stub period repays nothing.
    old_balance = kept[-1].closing_balance
    accrued = (old_balance * Decimal("4.35") * 9 / 36000).quantize(Decimal("0.01"), ROUND_HALF_UP)
    stub = ((old_balance + Decimal("600000.00")) * Decimal("4.35") * 21 / 36000).quantize(
        Decimal("0.01"), ROUND_HALF_UP
    )
    assert following.due_date == date(2026, 4, 15)
    assert following.interest == accrued + stub
    assert following.principal == 0
    assert following.days == 30
    assert sum(line.principal for line in second) == Decimal("1000000.00")
    assert facility.outstanding_principal == Decimal("1000000.00")
    # Earlier versions are kept.
    assert Instalment.objects.filter(facility=facility, schedule_version=1).count() == len(first)


@pytest.mark.parametrize(
    ("amount", "value_date", "code"),
    [
        (Decimal("1000000.01"), START, "over_limit"),
        (Decimal("1000.00"), date(2026, 1, 14), "outside_availability"),
        (Decimal("1000.00"), date(2026, 4, 16), "outside_availability"),
    ],
)
def test_refusals_change_nothing(amount: Decimal, value_date: date, code: str) -> None:
    facility = undrawn()
    with pytest.raises(errors.Conflict) as refused:
        factories.draw_facility(facility, amount, value_date)
    assert refused.value.code == code
    facility.refresh_from_db()
    assert (facility.drawn, facility.schedule_version) == (Decimal("0.00"), 0)
    assert not Drawdown.objects.filter(facility=facility).exists()


def test_an_open_condition_precedent_stops_the_payout() -> None:
    facility = undrawn()
    level = AuthorityLevel.objects.order_by("rank").first()
    matrix = AuthorityMatrix.objects.order_by("id").first()
    assert level is not None
    assert matrix is not None
    decision = Decision.objects.create(
        application_id=facility.application_id,
        round=2,
        outcome="approved_with_conditions",
        decided_by=factories.staff("bk_approver", Role.CREDIT_APPROVER),
        decided_at=timezone.now(),
        level=level,
        matrix=matrix,
        memo_version=1,
        risk_grade=4,
        group_exposure=Decimal("1000000.00"),
        exposure_currency="CNY",
    )
    Condition.objects.create(
        application_id=facility.application_id,
        decision=decision,
        kind=ConditionKind.PRECEDENT,
        status=ConditionStatus.OPEN,
        text="Share pledge registered",
    )
    with pytest.raises(errors.Conflict) as refused:
        factories.draw_facility(facility, Decimal("1000.00"), START)
    assert refused.value.code == "conditions_open"
    Condition.objects.update(status=ConditionStatus.MET)
    factories.draw_facility(facility, Decimal("1000.00"), START)


def test_the_same_reference_is_a_retry_or_a_conflict() -> None:
    facility = undrawn()
    first = factories.draw_facility(facility, Decimal("1000.00"), START, reference="TR-9")
    again = factories.draw_facility(facility, Decimal("1000.00"), START, reference="TR-9")
    assert again.pk == first.pk
    facility.refresh_from_db()
    assert facility.drawn == Decimal("1000.00")
    assert facility.schedule_version == 1
    with pytest.raises(errors.Conflict) as refused:
        factories.draw_facility(facility, Decimal("2000.00"), START, reference="TR-9")
    assert refused.value.code == "drawdown_reference_reused"


def test_only_loan_operations_draws_and_out_of_scope_is_not_found() -> None:
    facility = undrawn()
    rm = factories.relationship_manager()
    with pytest.raises(errors.PermissionDenied):
        draw(actor=rm, facility_id=facility.pk, amount=Decimal("1.00"), value_date=START, reference="X")
    other = factories.staff("bk_rm_other", Role.RELATIONSHIP_MANAGER, at=None)
    other.branch = None
    other.save(update_fields=["branch"])
    with pytest.raises(errors.NotFound):
        draw(actor=other, facility_id=facility.pk, amount=Decimal("1.00"), value_date=START, reference="X")


def test_bad_input_is_a_field_error() -> None:
    facility = undrawn(currency="JPY", amount=Decimal("100000000"))
    with pytest.raises(errors.ValidationFailed) as refused:
        factories.draw_facility(facility, Decimal("10.50"), START)
    assert "amount" in refused.value.field_errors
    with pytest.raises(errors.ValidationFailed):
        factories.draw_facility(facility, Decimal("-1"), START)
    with pytest.raises(errors.ValidationFailed):
        factories.draw_facility(facility, Decimal("1"), START, reference=" " * 3)
