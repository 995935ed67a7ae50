"""Group exposure counts the limits of the group's active booked facilities (a booked application counts
by its facilities, a repaid facility no longer counts)."""

from decimal import Decimal

import pytest

from lendcrm.origination import authority
from lendcrm.origination.models import Application
from lendcrm.servicing.models import Facility, FacilityStatus
from tests.origination.conftest import facility as facility_terms
from tests.servicing import factories

pytestmark = pytest.mark.django_db


def test_active_booked_facilities_count_against_the_group() -> None:
    borrower = factories.borrower_party()
    booked = factories.booked_facility(borrower=borrower, amount=Decimal("3000000.00"))
    new = factories.ready_application(
        borrower=borrower, facilities=[facility_terms(amount=Decimal("500000.00"))]
    )
    exposure = authority.group_exposure(new)
    assert exposure.existing == Decimal("3000000.00")
    assert exposure.requested == Decimal("500000.00")
    # The booked application itself counts once, by its facility, not also by its approved amount.
    assert authority.group_exposure(Application.objects.get(pk=booked.application_id)).existing == Decimal(
        "500000.00"
    )
    Facility.objects.filter(pk=booked.pk).update(status=FacilityStatus.REPAID)
    assert authority.group_exposure(new).existing == Decimal("0.00")


def test_the_booked_limit_counts_in_the_base_currency() -> None:
    borrower = factories.borrower_party()
    factories.booked_facility(borrower=borrower, amount=Decimal("100000.00"), currency="USD", drawn=False)
    new = factories.ready_application(borrower=borrower, facilities=[facility_terms(amount=Decimal("1.00"))])
    exposure = authority.group_exposure(new)
    assert exposure.existing > Decimal("100000.00")  # USD converted to CNY
