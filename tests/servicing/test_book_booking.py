"""Booking an application ready to disburse: facilities with the approved terms, guarantors, references,
the application booked; refusals change nothing."""

from datetime import date
from decimal import Decimal

import pytest

from lendcrm.core.models import AuditEvent
from lendcrm.origination.models import Application, Status
from lendcrm.servicing.models import FacilityKind
from lendcrm.servicing.selectors import current_schedule
from tests.servicing import factories

pytestmark = pytest.mark.django_db


def test_factory_books_and_draws_a_term_loan() -> None:
    facility = factories.booked_facility()
    assert facility.reference.startswith("FAC-")
    assert facility.kind == FacilityKind.TERM
    assert facility.limit == facility.drawn == facility.outstanding_principal == Decimal("1000000.00")
    assert facility.maturity_date == date(2028, 1, 15)
    lines = list(current_schedule(facility))
    assert len(lines) == 24
    assert sum(line.principal for line in lines) == Decimal("1000000.00")
    assert Application.objects.get(pk=facility.application_id).status == Status.BOOKED
    assert AuditEvent.objects.filter(action="facility.booked", object_id=str(facility.pk)).exists()
