"""Posting repayments through the service: allocation against the stored schedule, paying ahead, the
unapplied rest, idempotent references, refusals that change nothing, early repayment with a new schedule
version to the same maturity, and closing a facility that is repaid."""

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, User
from lendcrm.core.roles import Role
from lendcrm.servicing.models import Facility, FacilityStatus, Instalment, Repayment
from lendcrm.servicing.services.repayments import post_repayment
from tests.servicing.factories import START, booked_facility, ops

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = date(2026, 11, 30)


def lines(facility: Facility) -> list[Instalment]:
    facility.refresh_from_db()
    return list(
        Instalment.objects.filter(facility=facility, schedule_version=facility.schedule_version).order_by(
            "number"
        )
    )


def pay(facility: Facility, amount: str, value_date: date, reference: str, **kwargs: Any) -> Repayment:
    return post_repayment(
        actor=kwargs.pop("actor", None) or ops(),
        facility_id=facility.pk,
        amount=D(amount),
        value_date=value_date,
        reference=reference,
        today=kwargs.pop("today", value_date),
        **kwargs,
    )


def unpaid_principal(facility: Facility) -> Decimal:
    return sum((line.principal - line.principal_paid for line in lines(facility)), D(0))


@pytest.fixture
def loan() -> Facility:
    """CNY 1,000,000 over 24 months, annuity at 4.35 % (ACT/360), drawn on 2026-01-15."""
    return booked_facility()


def test_paying_the_first_instalment_on_its_due_date_settles_it(loan: Facility) -> None:
    first = lines(loan)[0]
    amount = first.fees + first.interest + first.principal
    repayment = pay(loan, str(amount), first.due_date, "RP-1")
    first.refresh_from_db()
    assert (first.fees_paid, first.interest_paid, first.principal_paid) == (
        first.fees,
        first.interest,
        first.principal,
    )
    assert first.settled_on == first.due_date
    assert (repayment.to_fees, repayment.to_interest, repayment.to_principal) == (
        first.fees,
        first.interest,
        first.principal,
    )
    assert repayment.unapplied == 0
    assert repayment.prepaid_principal == 0
    loan.refresh_from_db()
    assert loan.outstanding_principal == D("1000000.00") - first.principal == unpaid_principal(loan)
    assert loan.days_past_due == 0
    assert loan.arrears_principal == 0
    event = AuditEvent.objects.filter(action="repayment.posted").get()
    assert event.party_id == loan.borrower_id
    assert event.changes["reference"] == "RP-1"


def test_a_partial_payment_settles_fees_then_interest_then_principal(loan: Facility) -> None:
    first, second = lines(loan)[:2]
    value = second.due_date + timedelta(days=3)
    owed_first = first.fees + first.interest + first.principal
    repayment = pay(loan, str(owed_first + second.fees + second.interest + D("10.00")), value, "RP-2")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.settled_on == value
    assert second.interest_paid == second.interest
    assert second.principal_paid == D("10.00")
    assert second.settled_on is None
    assert repayment.to_principal == first.principal + D("10.00")
    loan.refresh_from_db()
    # as of the value date the second instalment is 3 days overdue, its principal in arrears
    assert loan.days_past_due == 3
    assert loan.arrears_principal == second.principal - D("10.00")
    assert loan.arrears_interest == 0


def test_the_facility_order_may_put_principal_first(loan: Facility) -> None:
    Facility.objects.filter(pk=loan.pk).update(allocation_order="principal,interest,fees")
    first = lines(loan)[0]
    repayment = pay(loan, str(first.principal + D("1.00")), first.due_date, "RP-P")
    assert repayment.to_principal == first.principal
    assert repayment.to_interest == D("1.00")


def test_paying_before_the_due_date_pays_the_current_instalment_and_keeps_the_rest_unapplied(
    loan: Facility,
) -> None:
    first = lines(loan)[0]
    owed = first.fees + first.interest + first.principal
    repayment = pay(loan, str(owed + D("500.00")), first.due_date - timedelta(days=5), "RP-AHEAD")
    first.refresh_from_db()
    assert first.settled_on == first.due_date - timedelta(days=5)
    assert repayment.unapplied == D("500.00")
    assert lines(loan)[1].principal_paid == 0


def test_the_same_reference_again_is_the_same_repayment(loan: Facility) -> None:
    first = lines(loan)[0]
    one = pay(loan, "1000.00", first.due_date, "RP-SAME")
    again = pay(loan, "1000.00", first.due_date, "RP-SAME")
    assert again.pk == one.pk
    assert Repayment.objects.count() == 1
    assert AuditEvent.objects.filter(action="repayment.posted").count() == 1
    with pytest.raises(errors.Conflict) as caught:
        pay(loan, "1001.00", first.due_date, "RP-SAME")
    assert caught.value.code == "repayment_reference_reused"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": D("0")}, "amount"),
        ({"amount": D("-5.00")}, "amount"),
        ({"amount": D("1.001")}, "amount"),
        ({"value_date": TODAY + timedelta(days=1)}, "value_date"),
        ({"value_date": START - timedelta(days=1)}, "value_date"),
        ({"reference": "  "}, "reference"),
        ({"reference": "R" * 61}, "reference"),
        ({"currency": "USD"}, "currency"),
        ({"currency": "XXX"}, "currency"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    loan: Facility, changes: dict[str, Any], field: str
) -> None:
    before = lines(loan)
    kwargs: dict[str, Any] = {
        "actor": ops(),
        "facility_id": loan.pk,
        "amount": D("100.00"),
        "value_date": date(2026, 3, 1),
        "reference": "RP-BAD",
        "today": TODAY,
        **changes,
    }
    with pytest.raises(errors.ValidationFailed) as caught:
        post_repayment(**kwargs)
    assert field in caught.value.field_errors
    assert not Repayment.objects.exists()
    assert lines(loan) == before
    assert [line.principal_paid for line in lines(loan)] == [b.principal_paid for b in before]


def test_only_loan_operations_posts_and_out_of_scope_is_not_found(
    loan: Facility, make_user: Callable[..., User], rm_b: User
) -> None:
    monitor = make_user("monitor_r", Role.PORTFOLIO_MONITOR)
    with pytest.raises(errors.PermissionDenied):
        pay(loan, "100.00", date(2026, 3, 1), "RP-X", actor=monitor)
    ops_b = make_user("ops_rb", Role.LOAN_OPERATIONS)
    with pytest.raises(errors.NotFound):
        post_repayment(
            actor=ops_b,
            facility_id=999_999,
            amount=D("1.00"),
            value_date=date(2026, 3, 1),
            reference="R",
            today=TODAY,
        )
    assert not Repayment.objects.exists()


def test_a_closed_facility_takes_no_repayment(loan: Facility) -> None:
    Facility.objects.filter(pk=loan.pk).update(status=FacilityStatus.WRITTEN_OFF)
    with pytest.raises(errors.Conflict) as caught:
        pay(loan, "100.00", date(2026, 3, 1), "RP-C")
    assert caught.value.code == "facility_not_active"


def test_prepayment_builds_a_new_schedule_to_the_same_maturity(loan: Facility, settings: Any) -> None:
    settings.LENDCRM_PREPAYMENT_FEE_PCT = D("1")
    old = lines(loan)
    first, second = old[:2]
    pay(loan, str(first.interest + first.principal), first.due_date, "RP-1")
    value = first.due_date + timedelta(days=10)  # inside the second period
    repayment = pay(loan, "201000.00", value, "RP-PRE", is_prepayment=True)
    new = lines(loan)
    loan.refresh_from_db()
    assert loan.schedule_version == 2
    # interest accrued for 10 days (ACT/360) on the balance of the running period, then principal and its fee
    accrued = (second.opening_balance * D("4.35") * 10 / 36000).quantize(D("0.01"))
    assert repayment.to_interest == accrued
    # what the fee's rounding leaves (a cent at most) stays unapplied
    assert repayment.prepaid_principal + repayment.to_fees + accrued + repayment.unapplied == D("201000.00")
    assert repayment.unapplied <= D("0.01")
    assert repayment.to_fees == (repayment.prepaid_principal * D("0.01")).quantize(D("0.01"))
    # kept line, the settled prepayment line, then the reduced schedule to the same last due date
    assert new[0].settled_on == first.due_date
    assert new[0].principal == first.principal
    prepay_line = new[1]
    assert prepay_line.due_date == value
    assert prepay_line.settled_on == value
    assert prepay_line.principal == prepay_line.principal_paid == repayment.prepaid_principal
    assert new[-1].due_date == old[-1].due_date
    assert len(new) == len(old) + 1
    # smaller instalments, and the unpaid principal is the outstanding balance to the cent
    assert new[3].principal + new[3].interest < old[2].principal + old[2].interest
    assert (
        loan.outstanding_principal
        == second.opening_balance - repayment.prepaid_principal
        == unpaid_principal(loan)
    )
    assert [n.number for n in new] == list(range(1, len(new) + 1))


def test_prepayment_without_the_flag_pays_ahead_only(loan: Facility) -> None:
    first = lines(loan)[0]
    repayment = pay(loan, "300000.00", first.due_date - timedelta(days=1), "RP-NOFLAG")
    loan.refresh_from_db()
    assert loan.schedule_version == 1
    assert repayment.unapplied == D("300000.00") - (first.interest + first.principal)


def test_repaying_everything_closes_a_term_loan(loan: Facility) -> None:
    repayment = pay(loan, "1100000.00", date(2026, 1, 20), "RP-ALL", is_prepayment=True)
    loan.refresh_from_db()
    assert loan.status == FacilityStatus.REPAID
    assert loan.outstanding_principal == 0
    assert repayment.prepaid_principal == D("1000000.00")
    assert repayment.unapplied == D("1100000.00") - D("1000000.00") - repayment.to_interest
    assert lines(loan)[-1].closing_balance == 0
    with pytest.raises(errors.Conflict):
        pay(loan, "1.00", date(2026, 1, 21), "RP-AFTER")
    # the retry of the closing repayment is still answered with the stored one
    assert pay(loan, "1100000.00", date(2026, 1, 20), "RP-ALL", is_prepayment=True).pk == repayment.pk


def test_a_repayment_before_the_last_schedule_change_is_refused(loan: Facility) -> None:
    pay(loan, "100000.00", date(2026, 2, 1), "RP-PRE", is_prepayment=True)
    with pytest.raises(errors.Conflict) as caught:
        pay(loan, "100.00", date(2026, 1, 25), "RP-OLD")
    assert caught.value.code == "before_schedule_change"


def test_jpy_has_no_decimals() -> None:
    loan = booked_facility(currency="JPY", amount=D("100000000"))
    with pytest.raises(errors.ValidationFailed):
        pay(loan, "100.50", date(2026, 3, 1), "RP-JPY")
    assert pay(loan, "100", date(2026, 3, 1), "RP-JPY").amount == D("100")


def test_prepaying_after_paying_ahead_keeps_the_paid_instalment(loan: Facility) -> None:
    first = lines(loan)[0]
    ahead = first.due_date - timedelta(days=6)
    pay(loan, str(first.interest + first.principal), ahead, "RP-AHEAD")
    repayment = pay(loan, "100000.00", ahead + timedelta(days=1), "RP-PRE", is_prepayment=True)
    new = lines(loan)
    # the instalment paid ahead stays as it is; the prepayment runs from its due date, no interest accrues
    assert new[0].settled_on == ahead
    assert new[0].principal == first.principal
    assert repayment.to_interest == 0
    assert repayment.prepaid_principal == D("100000.00")
    assert new[1].period_start == new[1].due_date == first.due_date
    assert new[2].period_start == first.due_date
    loan.refresh_from_db()
    assert loan.outstanding_principal == first.closing_balance - D("100000.00") == unpaid_principal(loan)


def test_a_sculpted_project_loan_keeps_its_shape_when_prepaid() -> None:
    loan = booked_facility(
        kind="project_finance",
        profile="sculpted",
        tenor_months=60,
        frequency_months=6,
        booking={
            "construction_end": date(2027, 1, 15),
            "target_dscr": D("1.30"),
            "cfads": [D("190000.00")] * 10,
        },
    )
    old = lines(loan)
    value = date(2027, 3, 1)
    owed = sum((line.principal + line.interest for line in old if line.due_date <= value), D(0))
    repayment = pay(loan, str(owed + D("200000.00")), value, "PF-PRE", is_prepayment=True)
    new = lines(loan)
    assert new[-1].due_date == old[-1].due_date
    assert repayment.to_principal + repayment.to_interest >= owed - D("0.01")
    balance_before = next(line for line in old if line.due_date > value).opening_balance
    ratio = (balance_before - repayment.prepaid_principal) / balance_before
    # the full periods after the running one, but the last (which takes whatever balance is left)
    later_old = [line for line in old if line.due_date > value][1:-1]
    later_new = [line for line in new if line.due_date > value][1:-1]
    assert len(later_old) == len(later_new)
    for before, after in zip(later_old, later_new, strict=True):
        # debt service scales with the balance: the same DSCR profile on the smaller loan
        assert abs((before.principal + before.interest) * ratio - (after.principal + after.interest)) < D(
            "50.00"
        )
    assert new[-1].closing_balance == 0
    loan.refresh_from_db()
    assert loan.outstanding_principal == unpaid_principal(loan)


@pytest.mark.parametrize("fee", ["0", "1", "0.75"])
def test_the_payoff_quote_repays_everything(loan: Facility, settings: Any, fee: str) -> None:
    from lendcrm.servicing.services.prepayments import payoff_quote

    settings.LENDCRM_PREPAYMENT_FEE_PCT = D(fee)
    old = lines(loan)
    # the first instalment in arrears, the second paid ahead in part, the value date in the second period
    value = old[0].due_date + timedelta(days=9)
    pay(loan, "300.00", old[0].due_date - timedelta(days=20), "RP-EARLY")  # pays the first ahead, in part
    quote = payoff_quote(viewer=ops(), facility_id=loan.pk, value_date=value)
    assert quote.arrears == old[0].principal + old[0].interest - D("300.00")
    assert quote.begun == 0
    assert quote.accrued_interest == (old[1].opening_balance * D("4.35") * 9 / 36000).quantize(D("0.01"))
    assert quote.principal == old[1].opening_balance
    assert quote.fee == (quote.principal * D(fee) / 100).quantize(D("0.01"))
    repayment = pay(loan, str(quote.total), value, "RP-PAYOFF", is_prepayment=True)
    loan.refresh_from_db()
    assert repayment.unapplied == 0
    assert repayment.prepaid_principal == quote.principal
    assert loan.status == FacilityStatus.REPAID
    assert loan.outstanding_principal == 0


def test_a_payoff_finishes_an_instalment_paid_ahead_in_part(loan: Facility) -> None:
    from lendcrm.servicing.services.prepayments import payoff_quote

    first = lines(loan)[0]
    ahead = first.due_date - timedelta(days=5)
    pay(loan, "1000.00", ahead, "RP-PART")  # the first instalment, not yet due, paid in part
    quote = payoff_quote(viewer=ops(), facility_id=loan.pk, value_date=ahead + timedelta(days=1))
    assert quote.arrears == 0
    assert quote.begun == first.principal + first.interest - D("1000.00")
    assert quote.accrued_interest == 0  # the running period's interest is in the instalment begun
    assert quote.principal == first.closing_balance
    repayment = pay(loan, str(quote.total), ahead + timedelta(days=1), "RP-OFF", is_prepayment=True)
    loan.refresh_from_db()
    assert repayment.unapplied == 0
    assert loan.status == FacilityStatus.REPAID
