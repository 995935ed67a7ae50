"""Repayments: money received on a facility, allocated to the instalments that are due (oldest first, in
the facility's order of fees, interest and principal), then to the current instalment or — when the
customer asks — to early repayment of principal, which builds a new schedule version (reduce-instalment,
same maturity).

Rules, in one place:
* Due instalments (due on or before the value date) are settled oldest first; within each, the parts in
  `Facility.allocation_order` (default `settings.LENDCRM_REPAYMENT_ORDER`).
* Without `is_prepayment` what is left pays the next instalment (the current period) ahead of its due
  date; anything beyond that is kept as `unapplied` (the money was received; refusing it would not send
  it back), shown on the repayment.
* With `is_prepayment` what is left after the arrears first finishes an instalment already paid ahead in
  part, then (`prepayments.prepay`) pays the interest accrued in the current period up to the value date,
  the prepayment fee (`LENDCRM_PREPAYMENT_FEE_PCT` of the principal prepaid) and principal; the
  instalments not yet due are replaced by a new schedule version on the reduced balance to the same
  maturity. A prepayment line (interest accrued, fee, principal, settled on the value date) records it.
* The same reference on the same facility is the same repayment: an identical one returns the stored
  row, a different one is 409. The currency must be the facility's; the value date may not be in the
  future, before the facility's start or before its latest schedule change (a drawdown or prepayment).
* A facility with nothing left to pay closes (`repaid`): a revolving one only once its availability
  period is over; a term or project facility at once (repaying everything cancels what was not drawn).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.access import party_scope
from lendcrm.core.concurrency import locked_row
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.money import CURRENCIES
from lendcrm.core.roles import BOOKING_ROLES
from lendcrm.servicing.models import (
    Facility,
    FacilityKind,
    FacilityStatus,
    Instalment,
    Repayment,
    RepaymentSource,
)
from lendcrm.servicing.schedules import minor_unit
from lendcrm.servicing.selectors import visible_facilities
from lendcrm.servicing.services import prepayments

PARTS = ("fees", "interest", "principal")
ZERO = Decimal("0.00")
MAX_REFERENCE = 60


# --- pure allocation --------------------------------------------------------------------------------
def parse_order(text: str) -> tuple[str, ...]:
    """An allocation order such as "fees,interest,principal": each part exactly once."""
    order = tuple(part.strip() for part in text.split(",") if part.strip())
    if sorted(order) != sorted(PARTS):
        raise errors.field_error(
            "allocation_order",
            _("Name fees, interest and principal, each once, separated by commas."),
            code="bad_allocation_order",
        )
    return order


def facility_order(facility: Facility) -> tuple[str, ...]:
    """The facility's own order, else the bank's; a bad setting is the operator's error, not the user's."""
    if facility.allocation_order:
        return parse_order(facility.allocation_order)
    try:
        return parse_order(settings.LENDCRM_REPAYMENT_ORDER)
    except errors.ValidationFailed as exc:
        raise ImproperlyConfigured(
            "LENDCRM_REPAYMENT_ORDER must name fees, interest and principal once."
        ) from exc


@dataclass
class Due:
    """What is still unpaid on one instalment, by part."""

    key: int
    fees: Decimal
    interest: Decimal
    principal: Decimal

    def total(self) -> Decimal:
        return self.fees + self.interest + self.principal


@dataclass
class Allocation:
    """Where an amount went: per instalment key and part, the totals per part, and what was left."""

    paid: dict[int, dict[str, Decimal]] = field(default_factory=dict)
    totals: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(PARTS, ZERO))
    left: Decimal = ZERO


def allocate(amount: Decimal, dues: Sequence[Due], order: Sequence[str]) -> Allocation:
    """Settle `dues` oldest first (the order given), each instalment's parts in `order`."""
    result = Allocation(left=amount)
    for due in dues:
        for part in order:
            if result.left <= 0:
                return result
            take = min(result.left, getattr(due, part))
            if take > 0:
                result.paid.setdefault(due.key, dict.fromkeys(PARTS, ZERO))[part] += take
                result.totals[part] += take
                result.left -= take
    return result


# --- reads ------------------------------------------------------------------------------------------
def visible_repayments(viewer: User) -> QuerySet[Repayment]:
    scope = party_scope(viewer, via="facility__borrower")
    rows = Repayment.objects.all()
    return rows if scope is None else rows.filter(scope)


def repayment_list(
    *,
    viewer: User,
    facility_id: int | None = None,
    borrower_id: int | None = None,
    source: str | None = None,
    is_prepayment: bool | None = None,
    value_from: date | None = None,
    value_to: date | None = None,
) -> QuerySet[Repayment]:
    """Repayments the viewer may see, newest value date first, with the facility and borrower joined."""
    rows = visible_repayments(viewer).select_related("facility", "facility__borrower", "posted_by")
    filters: dict[str, Any] = {
        "facility_id": facility_id,
        "facility__borrower_id": borrower_id,
        "source": source,
        "is_prepayment": is_prepayment,
        "value_date__gte": value_from,
        "value_date__lte": value_to,
    }
    return rows.filter(**{k: v for k, v in filters.items() if v is not None})


def get_repayment(*, viewer: User, repayment_id: object) -> Repayment:
    found = repayment_list(viewer=viewer).filter(pk=row_id(repayment_id)).first()
    if found is None:
        raise errors.NotFound()
    return found


def may_post(user: User) -> bool:
    return user.is_active and bool(user.role_slugs & BOOKING_ROLES)


# --- validation -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RepaymentInput:
    """A repayment's fields as typed, checked without the database."""

    amount: Decimal
    value_date: date
    reference: str
    currency: str | None
    is_prepayment: bool
    source: str


def check_input(
    *,
    amount: object,
    value_date: object,
    reference: object,
    currency: object,
    is_prepayment: object,
    source: object,
    today: date,
) -> RepaymentInput:
    """Field errors for everything wrong at once (400), nothing written."""
    problems: dict[str, list[str]] = {}
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        problems["amount"] = [_("Give an amount above zero.")]
    elif amount >= Decimal(10) ** 17 or amount != amount.quantize(
        minor_unit(currency) if isinstance(currency, str) and currency in CURRENCIES else Decimal("0.01")
    ):
        problems["amount"] = [_("Give the amount in the currency's smallest unit at most.")]
    if not isinstance(value_date, date):
        problems["value_date"] = [_("Give the value date.")]
    elif value_date > today:
        problems["value_date"] = [_("A repayment cannot have a value date in the future.")]
    text = reference.strip() if isinstance(reference, str) else ""
    if not text or len(text) > MAX_REFERENCE:
        problems["reference"] = [_("Give a reference of at most %(n)d characters.") % {"n": MAX_REFERENCE}]
    if currency is not None and currency not in CURRENCIES:
        problems["currency"] = [_("Unknown currency.")]
    if source not in RepaymentSource.values:
        problems["source"] = [_("Unknown source.")]
    if not isinstance(is_prepayment, bool):
        problems["is_prepayment"] = [_("Say yes or no.")]
    if problems:
        raise errors.ValidationFailed(field_errors=problems)
    assert isinstance(amount, Decimal)
    assert isinstance(value_date, date)
    return RepaymentInput(
        amount=amount,
        value_date=value_date,
        reference=text,
        currency=currency if isinstance(currency, str) else None,
        is_prepayment=bool(is_prepayment),
        source=str(source),
    )


def same_repayment(stored: Repayment, data: RepaymentInput) -> bool:
    return (
        stored.amount == data.amount
        and stored.value_date == data.value_date
        and stored.is_prepayment == data.is_prepayment
        and (data.currency is None or stored.currency == data.currency)
    )


def schedule_changed_on(facility: Facility) -> date | None:
    """The latest value date at which the facility's schedule was rebuilt (a drawdown or a prepayment)."""
    drawn = facility.drawdowns.aggregate(last=Max("value_date"))["last"]
    prepaid = facility.repayments.filter(is_prepayment=True, prepaid_principal__gt=0).aggregate(
        last=Max("value_date")
    )["last"]
    found = [d for d in (drawn, prepaid) if d is not None]
    return max(found) if found else None


def check_facility(facility: Facility, data: RepaymentInput) -> None:
    """Refusals that depend on the facility: currency (400), closed or back-dated (409)."""
    if data.currency is not None and data.currency != facility.currency:
        raise errors.field_error(
            "currency",
            _("This facility is in %(currency)s.") % {"currency": facility.currency},
            code="currency_mismatch",
        )
    if data.amount != data.amount.quantize(minor_unit(facility.currency)):
        raise errors.field_error("amount", _("Give the amount in the currency's smallest unit at most."))
    if facility.status != FacilityStatus.ACTIVE:
        raise errors.Conflict(
            _("This facility is %(status)s.") % {"status": facility.get_status_display()},
            code="facility_not_active",
        )
    if data.value_date < facility.start_date:
        raise errors.field_error(
            "value_date", _("The value date is before the facility's start."), code="before_start"
        )
    changed = schedule_changed_on(facility)
    if changed is not None and data.value_date < changed:
        raise errors.Conflict(
            _("The schedule was rebuilt on %(day)s; post repayments from that date on.") % {"day": changed},
            code="before_schedule_change",
        )


# --- the write --------------------------------------------------------------------------------------
def post_repayment(
    *,
    actor: User,
    facility_id: object,
    amount: Decimal,
    value_date: date,
    reference: str,
    is_prepayment: bool = False,
    source: str = RepaymentSource.MANUAL,
    currency: str | None = None,
    today: date | None = None,
) -> Repayment:
    """Record money received and allocate it; the same reference again returns the stored repayment."""
    if not may_post(actor):
        raise errors.PermissionDenied(_("Only loan operations posts repayments."))
    data = check_input(
        amount=amount,
        value_date=value_date,
        reference=reference,
        currency=currency,
        is_prepayment=is_prepayment,
        source=source,
        today=today or timezone.localdate(),
    )
    with transaction.atomic():
        facility = locked_row(visible_facilities(viewer=actor), row_id(facility_id))
        return _post_locked(actor, facility, data, today or timezone.localdate())


def _post_locked(actor: User, facility: Facility, data: RepaymentInput, today: date) -> Repayment:
    stored = Repayment.objects.filter(facility=facility, reference=data.reference).first()
    if stored is not None:
        if same_repayment(stored, data):
            return stored
        raise errors.Conflict(
            _("Reference %(ref)s was used for another repayment on this facility.") % {"ref": data.reference},
            code="repayment_reference_reused",
        )
    check_facility(facility, data)
    from lendcrm.servicing.services import delinquency

    before = delinquency.snapshot(facility)
    lines = list(
        Instalment.objects.select_for_update()
        .filter(facility=facility, schedule_version=facility.schedule_version)
        .order_by("number")
    )
    due = [line for line in lines if line.due_date <= data.value_date]
    order = facility_order(facility)
    arrears = allocate(data.amount, [unpaid(line) for line in due], order)
    _apply(due, arrears.paid, data.value_date)
    totals = dict(arrears.totals)
    left, prepaid = arrears.left, ZERO
    if left > 0 and data.is_prepayment:
        # an instalment already paid ahead in part is finished first: it stays in the schedule as it is
        begun = [line for line in lines if line.due_date > data.value_date and prepayments.touched(line)]
        finish = allocate(left, [unpaid(line) for line in begun], order)
        _apply(begun, finish.paid, data.value_date)
        totals = {part: totals[part] + finish.totals[part] for part in PARTS}
        left = finish.left
    done = (
        prepayments.prepay(facility, lines, left, data.value_date)
        if left > 0 and data.is_prepayment
        else None
    )
    if done is not None:
        totals["interest"] += done.interest
        totals["fees"] += done.fee
        prepaid, left = done.principal, done.left
    else:
        ahead = [line for line in lines if line.due_date > data.value_date][:1]
        if left > 0 and ahead:
            current = allocate(left, [unpaid(ahead[0])], order)
            _apply(ahead, current.paid, data.value_date)
            totals = {part: totals[part] + current.totals[part] for part in PARTS}
            left = current.left
    repayment = Repayment.objects.create(
        facility=facility,
        reference=data.reference,
        value_date=data.value_date,
        amount=data.amount,
        currency=facility.currency,
        source=data.source,
        is_prepayment=data.is_prepayment,
        to_fees=totals["fees"],
        to_interest=totals["interest"],
        to_principal=totals["principal"],
        prepaid_principal=prepaid,
        unapplied=left,
        posted_at=timezone.now(),
        posted_by=actor,
    )
    delinquency.refresh_one(facility, as_of=today)
    closed = _close_if_repaid(facility, today)
    facility.version += 1
    facility.save()
    audit.record(
        actor=actor,
        action="repayment.posted",
        object_type="repayment",
        object_id=repayment.pk,
        party_id=facility.borrower_id,
        changes={
            **audit.snapshot(repayment, AUDITED),
            "facility": facility.reference,
            "schedule_version": facility.schedule_version,
            "before": before,
            "after": delinquency.snapshot(facility),
            "closed": closed,
        },
    )
    return repayment


AUDITED = (
    "reference",
    "value_date",
    "amount",
    "currency",
    "source",
    "is_prepayment",
    "to_fees",
    "to_interest",
    "to_principal",
    "prepaid_principal",
    "unapplied",
)
UNPAID = (
    Q(principal_paid__lt=F("principal")) | Q(interest_paid__lt=F("interest")) | Q(fees_paid__lt=F("fees"))
)


def unpaid(line: Instalment) -> Due:
    return Due(
        key=line.pk,
        fees=line.fees - line.fees_paid,
        interest=line.interest - line.interest_paid,
        principal=line.principal - line.principal_paid,
    )


def _apply(lines: Iterable[Instalment], paid: dict[int, dict[str, Decimal]], value_date: date) -> None:
    """Add the allocation to the instalments and save the ones it touched (one query)."""
    touched = []
    for line in lines:
        parts = paid.get(line.pk)
        if not parts:
            continue
        line.fees_paid += parts["fees"]
        line.interest_paid += parts["interest"]
        line.principal_paid += parts["principal"]
        if unpaid(line).total() == 0:
            line.settled_on = value_date
        touched.append(line)
    if touched:
        Instalment.objects.bulk_update(
            touched, ["fees_paid", "interest_paid", "principal_paid", "settled_on"]
        )


def _close_if_repaid(facility: Facility, today: date) -> bool:
    """Close a facility with nothing owed and nothing more to draw (see the module's rules)."""
    owed = facility.outstanding_principal + facility.arrears_principal
    owed += facility.arrears_interest + facility.arrears_fees
    if owed > 0 or facility.drawn <= 0:
        return False
    if (
        Instalment.objects.filter(facility=facility, schedule_version=facility.schedule_version)
        .filter(UNPAID)
        .exists()
    ):
        return False
    if facility.kind == FacilityKind.REVOLVING and today <= facility.availability_end:
        return False
    facility.status = FacilityStatus.REPAID
    return True
