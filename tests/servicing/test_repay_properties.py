"""Random sequences of repayments on one facility (Hypothesis, each example rolled back): every repayment's
allocation adds up to its amount, the instalments hold exactly what the repayments allocated, the
outstanding balance is what was drawn less the principal repaid, and no instalment is overpaid."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lendcrm.core import errors
from lendcrm.servicing.models import Facility, Instalment, Repayment
from lendcrm.servicing.services.repayments import post_repayment
from tests.servicing.factories import START, booked_facility, ops

pytestmark = pytest.mark.django_db
D = Decimal

payments = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=400),  # days after the previous payment (or the start)
        st.integers(min_value=1, max_value=30_000_000).map(lambda cents: D(cents) / 100),
        st.booleans(),  # early repayment
    ),
    min_size=1,
    max_size=6,
)


@pytest.fixture
def loan() -> Facility:
    return booked_facility(amount=D("300000.00"), tenor_months=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=payments)
def test_money_is_conserved_whatever_is_paid_when(
    loan: Facility, sequence: list[tuple[int, Decimal, bool]]
) -> None:
    actor = ops()
    with transaction.atomic():
        day: date = START
        for number, (gap, amount, early) in enumerate(sequence):
            day += timedelta(days=gap)
            if Facility.objects.filter(pk=loan.pk, status="repaid").exists():
                with pytest.raises(errors.Conflict):  # a repaid facility takes nothing more
                    post_repayment(
                        actor=actor,
                        facility_id=loan.pk,
                        amount=amount,
                        value_date=day,
                        reference="late",
                        today=day,
                    )
                break
            post_repayment(
                actor=actor,
                facility_id=loan.pk,
                amount=amount,
                value_date=day,
                reference=f"H-{number}",
                is_prepayment=early,
                today=day,
            )
        facility = Facility.objects.get(pk=loan.pk)
        posted = list(Repayment.objects.filter(facility=facility))
        for r in posted:
            assert r.to_fees + r.to_interest + r.to_principal + r.prepaid_principal + r.unapplied == r.amount
            assert min(r.to_fees, r.to_interest, r.to_principal, r.prepaid_principal, r.unapplied) >= 0
        lines = list(Instalment.objects.filter(facility=facility, schedule_version=facility.schedule_version))
        principal = sum((r.to_principal + r.prepaid_principal for r in posted), D(0))
        assert sum((line.principal_paid for line in lines), D(0)) == principal
        assert sum((line.interest_paid for line in lines), D(0)) == sum((r.to_interest for r in posted), D(0))
        assert sum((line.principal for line in lines), D(0)) == D("300000.00")
        assert facility.outstanding_principal == D("300000.00") - principal
        for line in lines:
            assert line.principal_paid <= line.principal
            assert line.interest_paid <= line.interest
            assert (line.settled_on is not None) == (
                line.principal_paid == line.principal and line.interest_paid == line.interest
            )
        if facility.status == "repaid":
            assert facility.outstanding_principal == 0
        transaction.set_rollback(True)
