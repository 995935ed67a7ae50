"""Booking an application ready to disburse: facilities with the approved terms, guarantors, references,
the application booked; refusals change nothing."""

from datetime import date
from decimal import Decimal

import pytest

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent
from lendcrm.core.roles import Role
from lendcrm.origination import services as origination_services
from lendcrm.origination.models import Application, Status
from lendcrm.servicing.models import Facility, FacilityKind
from lendcrm.servicing.selectors import current_schedule
from lendcrm.servicing.services import book_application
from tests.origination.conftest import facility as facility_terms
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


def _ready(**terms: object) -> Application:
    return factories.ready_application(
        borrower=factories.borrower_party(), facilities=[facility_terms(**terms)]
    )


def _entry(application: Application, **extra: object) -> dict[str, object]:
    return {"application_facility": application.facilities.get().pk, **extra}


def test_a_floating_rate_is_booked_at_todays_base_rate_plus_the_margin() -> None:
    application = _ready(
        rate_type="floating", base_rate="lpr_1y", margin_pct=Decimal("0.85"), fixed_rate_pct=None
    )
    [facility] = book_application(
        actor=factories.ops(),
        application_id=application.pk,
        start_date=date(2026, 2, 27),
        facilities=[_entry(application, base_rate_pct=Decimal("3.10"), frequency_months=3)],
    )
    assert (facility.base_rate, facility.base_rate_pct, facility.margin_pct) == (
        "lpr_1y",
        Decimal("3.10"),
        Decimal("0.85"),
    )
    assert facility.interest_rate_pct == Decimal("3.95")
    assert facility.maturity_date == date(2029, 2, 27)
    assert facility.availability_end == date(2026, 5, 27)  # LENDCRM_AVAILABILITY_MONTHS = 3
    assert facility.day_count == "act_360"
    assert facility.schedule_version == 0  # scheduled at the first drawdown


def test_project_finance_draws_during_construction_and_is_sculpted_after_it() -> None:
    cfads = [Decimal("190000.00")] * 10
    facility = factories.booked_facility(
        kind="project_finance",
        profile="sculpted",
        tenor_months=60,
        frequency_months=6,
        drawn=False,
        booking={"construction_end": date(2027, 1, 15), "target_dscr": Decimal("1.30"), "cfads": cfads},
    )
    assert facility.kind == FacilityKind.PROJECT_FINANCE
    assert facility.grace_months == 12
    assert facility.grace_kind == "capitalised"
    assert facility.availability_end == date(2027, 1, 15)
    assert facility.sculpting_cfads == ["190000.00"] * 10
    factories.draw_facility(facility, Decimal("600000.00"), factories.START)
    factories.draw_facility(facility, Decimal("400000.00"), date(2026, 9, 1))
    facility.refresh_from_db()
    lines = list(current_schedule(facility))
    assert len(lines) == 10
    # Construction: nothing repaid, interest added to the balance; operations: debt service = CFADS / 1.30.
    assert all(line.principal == 0 for line in lines[:2])
    assert lines[2].opening_balance > Decimal("1000000.00")
    for line in lines[2:-1]:
        assert line.principal + line.interest == Decimal("146153.85")


def test_a_revolving_facility_is_available_until_maturity_and_reopens_what_was_repaid() -> None:
    facility = factories.booked_facility(kind="revolving", profile="bullet", draw_amount=Decimal("600000.00"))
    assert facility.availability_end == facility.maturity_date
    assert facility.drawn == Decimal("600000.00")
    with pytest.raises(errors.Conflict) as refused:
        factories.draw_facility(facility, Decimal("400000.01"), date(2026, 3, 1))
    assert refused.value.extra == {"available": "400000.00"}
    # A repayment of principal (the repayments area lowers outstanding) makes room again.
    Facility.objects.filter(pk=facility.pk).update(outstanding_principal=Decimal("100000.00"))
    factories.draw_facility(facility, Decimal("900000.00"), date(2026, 3, 1))
    facility.refresh_from_db()
    assert facility.drawn == Decimal("1000000.00")


def test_a_guarantee_is_booked_but_not_drawn_in_cash() -> None:
    facility = factories.booked_facility(kind="guarantee", profile="bullet", drawn=False)
    assert facility.kind == FacilityKind.GUARANTEE
    with pytest.raises(errors.Conflict) as refused:
        factories.draw_facility(facility, Decimal("1.00"), factories.START)
    assert refused.value.code == "not_drawable"


def test_guarantors_and_every_approved_facility_are_booked() -> None:
    guarantor = factories.borrower_party("Lingang Holdings")
    borrower = factories.borrower_party()
    application = factories.ready_application(
        borrower=borrower,
        facilities=[
            facility_terms(),
            facility_terms(product="revolving_facility", repayment_profile="bullet"),
        ],
        guarantors=[guarantor],
    )
    approved = list(application.facilities.order_by("position", "id"))
    booked = book_application(
        actor=factories.ops(),
        application_id=application.pk,
        start_date=factories.START,
        facilities=[{"application_facility": f.pk} for f in reversed(approved)],
    )
    assert [f.application_facility_id for f in booked] == [f.pk for f in approved]
    assert [f.kind for f in booked] == [FacilityKind.TERM, FacilityKind.REVOLVING]
    first, second = (int(f.reference.rsplit("-", 1)[1]) for f in booked)
    assert second == first + 1
    for facility in booked:
        assert list(facility.guarantors.values_list("party_id", flat=True)) == [guarantor.pk]
        assert facility.borrower_id == borrower.pk
        assert facility.limit == Decimal("5000000.00")
        assert facility.interest_rate_pct == Decimal("4.35")
    application.refresh_from_db()
    assert application.status == Status.BOOKED
    assert application.status_changes.filter(to_status=Status.BOOKED).get().note == ", ".join(
        f.reference for f in booked
    )


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"colour": "red"}, "facilities.0.colour"),
        ({"frequency_months": 2}, "facilities.0.frequency_months"),
        ({"day_count": "act_366"}, "facilities.0.day_count"),
        ({"base_rate_pct": Decimal("3.1")}, "facilities.0.base_rate_pct"),
        ({"profile": "bullet"}, "facilities.0.profile"),
        ({"profile": "sculpted"}, "facilities.0.profile"),
        ({"construction_end": date(2026, 6, 1)}, "facilities.0.construction_end"),
        ({"availability_end": date(2030, 1, 1)}, "facilities.0.availability_end"),
        ({"target_dscr": Decimal("1.3")}, "facilities.0.target_dscr"),
        ({"monitor": 999999}, "facilities.0.monitor"),
    ],
)
def test_bad_booking_input_is_a_field_error_and_changes_nothing(extra: dict[str, object], field: str) -> None:
    application = _ready()
    with pytest.raises(errors.ValidationFailed) as refused:
        book_application(
            actor=factories.ops(),
            application_id=application.pk,
            start_date=factories.START,
            facilities=[_entry(application, **extra)],
        )
    assert field in refused.value.field_errors
    application.refresh_from_db()
    assert application.status == Status.READY_TO_DISBURSE
    assert not Facility.objects.filter(application=application).exists()


def test_every_approved_facility_needs_an_entry() -> None:
    application = _ready()
    for facilities in ([], [{"application_facility": 0}], "x"):
        with pytest.raises(errors.ValidationFailed):
            book_application(
                actor=factories.ops(),
                application_id=application.pk,
                start_date=factories.START,
                facilities=facilities,  # type: ignore[arg-type]
            )
    with pytest.raises(errors.ValidationFailed) as refused:
        book_application(
            actor=factories.ops(),
            application_id=application.pk,
            start_date="2026-01-15",  # type: ignore[arg-type]
            facilities=[],
        )
    assert "start_date" in refused.value.field_errors


def test_a_custom_profile_is_chosen_at_booking() -> None:
    application = _ready(repayment_profile="custom")
    with pytest.raises(errors.ValidationFailed) as refused:
        book_application(
            actor=factories.ops(),
            application_id=application.pk,
            start_date=factories.START,
            facilities=[_entry(application)],
        )
    assert "facilities.0.profile" in refused.value.field_errors
    [facility] = book_application(
        actor=factories.ops(),
        application_id=application.pk,
        start_date=factories.START,
        facilities=[_entry(application, profile="equal_principal")],
    )
    assert facility.profile == "equal_principal"


def test_only_loan_operations_books_and_only_a_ready_application() -> None:
    application = _ready()
    with pytest.raises(errors.PermissionDenied):
        book_application(
            actor=factories.relationship_manager(),
            application_id=application.pk,
            start_date=factories.START,
            facilities=[_entry(application)],
        )
    outsider = factories.staff("bk_rm_b", Role.RELATIONSHIP_MANAGER, at=factories.other_branch())
    with pytest.raises(errors.NotFound):
        book_application(
            actor=outsider,
            application_id=application.pk,
            start_date=factories.START,
            facilities=[_entry(application)],
        )
    book_application(
        actor=factories.ops(),
        application_id=application.pk,
        start_date=factories.START,
        facilities=[_entry(application)],
    )
    with pytest.raises(errors.Conflict) as refused:
        book_application(
            actor=factories.ops(),
            application_id=application.pk,
            start_date=factories.START,
            facilities=[_entry(application)],
        )
    assert refused.value.code == "not_ready_to_disburse"
    assert Facility.objects.filter(application=application).count() == 1


def test_the_application_is_booked_only_through_its_facilities() -> None:
    application = _ready()
    with pytest.raises(errors.Conflict) as refused:
        origination_services.transition(
            actor=factories.staff("bk_maker", Role.CREDIT_ANALYST),
            application_id=application.pk,
            to_status=Status.BOOKED,
        )
    assert refused.value.code == "use_booking"
    application.refresh_from_db()
    assert application.status == Status.READY_TO_DISBURSE
    assert not Facility.objects.filter(application=application).exists()
