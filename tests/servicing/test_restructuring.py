"""Restructuring: requested with new terms, approved by someone else, then a new schedule version, the
facility's terms, `restructured_on` and at least special mention; refusals change nothing."""

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, User
from lendcrm.core.roles import Role
from lendcrm.servicing.models import (
    Category,
    ClassificationBasis,
    ClassificationChange,
    Facility,
    Instalment,
    RequestStatus,
    Restructuring,
    RestructuringKind,
)
from lendcrm.servicing.selectors import current_schedule
from lendcrm.servicing.services import classification, restructuring
from tests.servicing import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def monitor(make_user: Callable[..., User]) -> User:
    return make_user("monitor", Role.PORTFOLIO_MONITOR)


@pytest.fixture
def approver(make_user: Callable[..., User]) -> User:
    return make_user("approver", Role.CREDIT_APPROVER)


def fresh(facility: Facility) -> Facility:
    return Facility.objects.get(pk=facility.pk)


def today() -> date:
    return timezone.localdate()


def a_facility(**kwargs: object) -> Facility:
    """A two-year monthly annuity that started about ten months ago, so some instalments are due."""
    start = today().replace(day=15) - timedelta(days=300)
    return factories.booked_facility(start_date=start.replace(day=15), **kwargs)  # type: ignore[arg-type]


def test_term_extension_approved(monitor: User, approver: User) -> None:
    facility = a_facility()
    effective = today() + timedelta(days=1)
    old_version, old_maturity = facility.schedule_version, facility.maturity_date
    new_maturity = old_maturity.replace(year=old_maturity.year + 2)
    row = restructuring.request_restructuring(
        actor=monitor,
        facility_id=facility.pk,
        kind=RestructuringKind.TERM_EXTENSION,
        terms={"maturity_date": new_maturity.isoformat()},
        reason="Cash flow squeezed by a lost contract",
        effective_on=effective,
    )
    assert row.status == RequestStatus.PENDING
    assert row.terms == {"maturity_date": new_maturity.isoformat()}
    assert row.previous_terms == {"maturity_date": old_maturity.isoformat()}
    assert fresh(facility).schedule_version == old_version  # nothing before approval

    decided = restructuring.decide_restructuring(actor=approver, restructuring_id=row.pk, approve=True)
    facility = fresh(facility)
    assert decided.status == RequestStatus.APPROVED
    assert decided.schedule_version == facility.schedule_version == old_version + 1
    assert facility.maturity_date == new_maturity
    assert facility.restructured_on == effective
    assert (facility.category, facility.stage) == (Category.SPECIAL_MENTION, 2)
    change = ClassificationChange.objects.get(facility=facility)
    assert change.basis == ClassificationBasis.RESTRUCTURED
    lines = list(current_schedule(facility))
    assert lines[-1].due_date >= new_maturity - timedelta(days=3)
    kept = [line for line in lines if line.due_date <= effective]
    old_kept = Instalment.objects.filter(
        facility=facility, schedule_version=old_version, due_date__lte=effective
    ).order_by("number")
    assert [(k.due_date, k.principal, k.principal_paid) for k in kept] == [
        (k.due_date, k.principal, k.principal_paid) for k in old_kept
    ]
    assert sum(line.principal - line.principal_paid for line in lines) == facility.outstanding_principal
    assert AuditEvent.objects.filter(action="restructuring.approved", object_id=str(row.pk)).exists()
    # The daily run keeps it at special mention during the observation year.
    assert classification.classify(as_of=today()) == 0


def test_rate_change_on_a_fixed_rate_loan(monitor: User, approver: User) -> None:
    facility = a_facility()
    row = restructuring.request_restructuring(
        actor=monitor,
        facility_id=facility.pk,
        kind=RestructuringKind.RATE_CHANGE,
        terms={"interest_rate_pct": "2.50000"},
        reason="Concession",
        effective_on=today() + timedelta(days=2),
    )
    restructuring.decide_restructuring(actor=approver, restructuring_id=row.pk, approve=True)
    facility = fresh(facility)
    assert facility.interest_rate_pct == Decimal("2.5")
    assert Restructuring.objects.get(pk=row.pk).previous_terms == {"interest_rate_pct": "4.35000"}


def test_an_rm_may_request_and_four_eyes_decide(
    monitor: User, approver: User, make_user: Callable[..., User]
) -> None:
    facility = a_facility()
    rm = factories.relationship_manager()
    row = restructuring.request_restructuring(
        actor=rm,
        facility_id=facility.pk,
        kind=RestructuringKind.RESCHEDULE,
        terms={"frequency_months": 3},
        reason="Seasonal business",
        effective_on=today() + timedelta(days=1),
    )
    with pytest.raises(errors.PermissionDenied):
        restructuring.decide_restructuring(actor=rm, restructuring_id=row.pk, approve=True)
    ops = factories.ops()
    with pytest.raises(errors.PermissionDenied):
        restructuring.request_restructuring(
            actor=ops,
            facility_id=facility.pk,
            kind=RestructuringKind.RESCHEDULE,
            terms={"frequency_months": 3},
            reason="x",
            effective_on=today() + timedelta(days=1),
        )
    with pytest.raises(errors.Conflict):  # one pending per facility
        restructuring.request_restructuring(
            actor=monitor,
            facility_id=facility.pk,
            kind=RestructuringKind.RATE_CHANGE,
            terms={"interest_rate_pct": "3"},
            reason="x",
            effective_on=today() + timedelta(days=1),
        )
    with pytest.raises(errors.ValidationFailed):
        restructuring.decide_restructuring(actor=approver, restructuring_id=row.pk, approve=False)
    restructuring.decide_restructuring(actor=approver, restructuring_id=row.pk, approve=False, note="Not yet")
    facility_after = fresh(facility)
    assert facility_after.frequency_months == 1
    assert facility_after.restructured_on is None
    with pytest.raises(errors.Conflict):
        restructuring.decide_restructuring(actor=approver, restructuring_id=row.pk, approve=True)


def test_requester_may_not_approve(monitor: User) -> None:
    facility = a_facility()
    row = restructuring.request_restructuring(
        actor=monitor,
        facility_id=facility.pk,
        kind=RestructuringKind.RATE_CHANGE,
        terms={"interest_rate_pct": "3.1"},
        reason="x",
        effective_on=today() + timedelta(days=1),
    )
    with pytest.raises(errors.PermissionDenied) as exc:
        restructuring.decide_restructuring(actor=monitor, restructuring_id=row.pk, approve=True)
    assert exc.value.code == "four_eyes"


@pytest.mark.parametrize(
    ("kind", "terms", "effective_days", "field"),
    [
        (RestructuringKind.TERM_EXTENSION, {"maturity_date": "2020-01-01"}, 1, "terms.maturity_date"),
        (RestructuringKind.TERM_EXTENSION, {"interest_rate_pct": "3"}, 1, "terms.maturity_date"),
        (RestructuringKind.RATE_CHANGE, {"interest_rate_pct": "4.35"}, 1, "terms"),
        (RestructuringKind.RATE_CHANGE, {"margin_pct": "1"}, 1, "terms.margin_pct"),
        (RestructuringKind.RESCHEDULE, {"colour": "red"}, 1, "terms.colour"),
        (RestructuringKind.RESCHEDULE, {"frequency_months": 5}, 1, "terms.frequency_months"),
        (RestructuringKind.RESCHEDULE, {"profile": "spiral"}, 1, "terms.profile"),
        (RestructuringKind.RESCHEDULE, {"grace_months": "2"}, 1, "terms.grace_months"),
        (RestructuringKind.RESCHEDULE, {}, 1, "terms"),
        (RestructuringKind.RATE_CHANGE, {"interest_rate_pct": "3"}, -1, "effective_on"),
        ("haircut", {"interest_rate_pct": "3"}, 1, "kind"),
    ],
)
def test_bad_requests_change_nothing(
    monitor: User, kind: str, terms: dict[str, object], effective_days: int, field: str
) -> None:
    facility = a_facility()
    with pytest.raises(errors.ValidationFailed) as exc:
        restructuring.request_restructuring(
            actor=monitor,
            facility_id=facility.pk,
            kind=kind,
            terms=terms,
            reason="x",
            effective_on=today() + timedelta(days=effective_days),
        )
    assert field in exc.value.field_errors, exc.value.field_errors
    assert not Restructuring.objects.exists()


def test_terms_the_engine_refuses_are_a_field_error(monitor: User) -> None:
    facility = a_facility()
    with pytest.raises(errors.ValidationFailed) as exc:
        restructuring.request_restructuring(
            actor=monitor,
            facility_id=facility.pk,
            kind=RestructuringKind.RESCHEDULE,
            terms={"profile": "sculpted"},  # no CFADS, no target DSCR
            reason="x",
            effective_on=today() + timedelta(days=1),
        )
    assert any(name.startswith("terms.") for name in exc.value.field_errors)


def test_an_approval_after_the_effective_date_is_refused(monitor: User, approver: User) -> None:
    facility = a_facility()
    row = restructuring.request_restructuring(
        actor=monitor,
        facility_id=facility.pk,
        kind=RestructuringKind.RATE_CHANGE,
        terms={"interest_rate_pct": "3"},
        reason="x",
        effective_on=today(),
    )
    Restructuring.objects.filter(pk=row.pk).update(effective_on=today() - timedelta(days=1))
    with pytest.raises(errors.Conflict) as exc:
        restructuring.decide_restructuring(actor=approver, restructuring_id=row.pk, approve=True)
    assert exc.value.code == "effective_date_passed"
    assert fresh(facility).interest_rate_pct == Decimal("4.35")


def test_a_worse_category_is_kept(monitor: User, approver: User) -> None:
    facility = a_facility()
    Facility.objects.filter(pk=facility.pk).update(category=Category.DOUBTFUL, stage=3)
    row = restructuring.request_restructuring(
        actor=monitor,
        facility_id=facility.pk,
        kind=RestructuringKind.RATE_CHANGE,
        terms={"interest_rate_pct": "3"},
        reason="x",
        effective_on=today() + timedelta(days=1),
    )
    restructuring.decide_restructuring(actor=approver, restructuring_id=row.pk, approve=True)
    assert fresh(facility).category == Category.DOUBTFUL
    assert not ClassificationChange.objects.exists()
