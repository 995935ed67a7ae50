"""Drawdowns: a tranche paid out under a facility within its available limit and availability period, once
the conditions precedent are met; each one re-schedules the outstanding balance (a new schedule version
that keeps the instalments already due)."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.concurrency import locked_row
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.origination.models import Condition, ConditionKind, ConditionStatus
from lendcrm.servicing import schedules
from lendcrm.servicing.daycount import configured_holidays, day_count_parts
from lendcrm.servicing.models import (
    Drawdown,
    Facility,
    FacilityKind,
    FacilityStatus,
    GraceKind,
    Instalment,
    ScheduleProfile,
)
from lendcrm.servicing.selectors import current_schedule, visible_facilities
from lendcrm.servicing.services.booking import require_booking_role

ZERO = Decimal(0)
MAX_REFERENCE = 40
MAX_AMOUNT = Decimal("1e17")


def to_minor(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-up to the currency's minor unit."""
    return schedules.round_money(amount, currency)


def _amount(value: object, currency: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise errors.field_error("amount", _("Must be a decimal number."))
    amount = Decimal(value)
    if not amount.is_finite() or not ZERO < amount < MAX_AMOUNT:
        raise errors.field_error("amount", _("Must be more than zero."))
    if to_minor(amount, currency) != amount:
        raise errors.field_error(
            "amount",
            _("Whole units of %(unit)s %(currency)s at most.")
            % {"unit": schedules.minor_unit(currency), "currency": currency},
        )
    return amount


def _reference(value: object) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_REFERENCE:
        raise errors.field_error(
            "reference", _("Give a reference of 1 to %(n)d characters.") % {"n": MAX_REFERENCE}
        )
    return text


def available(facility: Facility) -> Decimal:
    """What may still be drawn: a revolving facility re-opens what was repaid (limit - outstanding), any
    other only what was never drawn (limit - drawn)."""
    used = facility.outstanding_principal if facility.kind == FacilityKind.REVOLVING else facility.drawn
    return max(facility.limit - used, ZERO)


def draw(*, actor: User, facility_id: object, amount: Decimal, value_date: date, reference: str) -> Drawdown:
    """Pay out a tranche of a facility on `value_date`. The same reference again answers the stored
    drawdown when amount and date are the same (a retry), 409 otherwise. 409 with the reason when the
    facility is not active or not drawable, the date is outside the availability period or before the last
    drawdown, a condition precedent is open, or the amount is over what is available."""
    reference = _reference(reference)
    if not isinstance(value_date, date):
        raise errors.field_error("value_date", _("Must be a date."))
    with transaction.atomic():
        facility = locked_row(visible_facilities(viewer=actor), row_id(facility_id))
        require_booking_role(actor)
        amount = _amount(amount, facility.currency)
        existing = facility.drawdowns.filter(reference=reference).first()
        if existing is not None:
            if existing.amount == amount and existing.value_date == value_date:
                return existing
            raise errors.Conflict(
                _("Drawdown %(reference)s was already paid out with other details.")
                % {"reference": reference},
                code="drawdown_reference_reused",
            )
        _check_drawable(facility, amount, value_date)
        first = not facility.drawdowns.exists()
        drawdown = Drawdown.objects.create(
            facility=facility, reference=reference, amount=amount, value_date=value_date, created_by=actor
        )
        fee = (
            to_minor(facility.limit * (facility.upfront_fee_pct or ZERO) / 100, facility.currency)
            if first
            else ZERO
        )
        outstanding = facility.outstanding_principal + amount
        facility.drawn = outstanding if facility.kind == FacilityKind.REVOLVING else facility.drawn + amount
        facility.outstanding_principal = outstanding
        new_schedule_version(facility, from_date=value_date, add_principal=amount, add_fees=fee)
        facility.version += 1
        facility.save(
            update_fields=["drawn", "outstanding_principal", "schedule_version", "version", "updated_at"]
        )
        audit.record(
            actor=actor,
            action="facility.drawdown",
            object_type="facility",
            object_id=facility.pk,
            party_id=facility.borrower_id,
            changes={
                "reference": reference,
                "amount": str(amount),
                "value_date": value_date.isoformat(),
                "upfront_fee": str(fee),
                "drawn": str(facility.drawn),
                "schedule_version": facility.schedule_version,
            },
        )
    return drawdown


def _check_drawable(facility: Facility, amount: Decimal, value_date: date) -> None:
    if facility.status != FacilityStatus.ACTIVE:
        raise errors.Conflict(
            _("This facility is %(status)s.") % {"status": facility.get_status_display()},
            code="facility_not_active",
        )
    if facility.kind == FacilityKind.GUARANTEE:
        raise errors.Conflict(_("A guarantee facility is not drawn in cash."), code="not_drawable")
    if (
        not facility.start_date <= value_date <= facility.availability_end
        or value_date >= facility.maturity_date
    ):
        raise errors.Conflict(
            _("Drawdowns are available from %(start)s to %(end)s.")
            % {"start": facility.start_date, "end": min(facility.availability_end, facility.maturity_date)},
            code="outside_availability",
        )
    last = facility.drawdowns.order_by("-value_date").values_list("value_date", flat=True).first()
    if last is not None and value_date < last:
        raise errors.Conflict(
            _("The last drawdown was on %(day)s; a new one cannot be earlier.") % {"day": last},
            code="before_last_drawdown",
        )
    if Condition.objects.filter(
        application_id=facility.application_id, kind=ConditionKind.PRECEDENT, status=ConditionStatus.OPEN
    ).exists():
        raise errors.Conflict(
            _("A condition precedent of the approval is still open."), code="conditions_open"
        )
    room = available(facility)
    if amount > room:
        raise errors.Conflict(
            _("Only %(currency)s %(room)s is available.")
            % {"currency": facility.currency, "room": f"{room:,}"},
            code="over_limit",
            extra={"available": str(room)},
        )


def new_schedule_version(
    facility: Facility, *, from_date: date, add_principal: Decimal = ZERO, add_fees: Decimal = ZERO
) -> int:
    """Write the facility's next schedule version from its terms as they are now (a caller may have changed
    rate, maturity, profile... on the locked row first). Instalments due on or before `from_date` are kept
    as they are (paid amounts included); the balance still scheduled after them, plus `add_principal`
    (negative for a prepayment), is scheduled from `from_date` to maturity on the facility's payment grid.
    Interest accrued on the old balance in the running period (at the facility's rate) and unpaid fees of
    the instalments not yet due move to the first new instalment, with `add_fees`. Sets
    `facility.schedule_version` and `facility.outstanding_principal` (principal still unpaid over the new
    version); the caller holds the lock and the transaction and saves the facility. Returns the new
    version; 409 `schedule_refused` when the engine refuses the terms."""
    current = list(current_schedule(facility))
    kept = [line for line in current if line.due_date <= from_date]
    future = [line for line in current if line.due_date > from_date]
    principal = add_principal
    fees = add_fees + sum((line.fees - line.fees_paid for line in future), ZERO)
    period_start, accrued = from_date, ZERO
    if future:
        principal += future[0].opening_balance - sum((line.principal_paid for line in future), ZERO)
        if future[0].period_start < from_date:
            period_start = future[0].period_start
            days, basis = day_count_parts(period_start, from_date, facility.day_count)
            accrued = to_minor(
                future[0].opening_balance * facility.interest_rate_pct * days / (100 * basis),
                facility.currency,
            )
    terms = rebuild_terms(facility, principal=principal, start_date=from_date)
    if terms.grace_months and terms.grace_kind == GraceKind.CAPITALISED and accrued:
        terms = rebuild_terms(facility, principal=principal + accrued, start_date=from_date)
        accrued = ZERO
    try:
        lines = schedules.build_schedule(terms)
    except errors.ValidationFailed as exc:
        raise errors.Conflict(
            _("The schedule cannot be built from these terms: %(reason)s") % {"reason": exc.detail},
            code="schedule_refused",
        ) from exc
    version = facility.schedule_version + 1
    rows = [_copy(line, version) for line in kept]
    for offset, line in enumerate(lines):
        first = offset == 0
        start = period_start if first else line.period_start
        rows.append(
            Instalment(
                facility_id=facility.pk,
                schedule_version=version,
                number=len(kept) + offset + 1,
                period_start=start,
                due_date=line.due_date,
                days=(line.due_date - start).days,
                opening_balance=line.opening_balance,
                principal=line.principal,
                interest=line.interest + (accrued if first else ZERO),
                fees=fees if first else ZERO,
                closing_balance=line.closing_balance,
                principal_paid=ZERO,
                interest_paid=ZERO,
                fees_paid=ZERO,
            )
        )
    Instalment.objects.bulk_create(rows)
    facility.schedule_version = version
    facility.outstanding_principal = sum((row.principal - row.principal_paid for row in rows), ZERO)
    return version


def _copy(line: Instalment, version: int) -> Instalment:
    values: dict[str, Any] = {
        field.attname: getattr(line, field.attname)
        for field in Instalment._meta.concrete_fields
        if field.attname not in ("id", "schedule_version")
    }
    return Instalment(schedule_version=version, **values)


def rebuild_terms(facility: Facility, *, principal: Decimal, start_date: date) -> schedules.ScheduleTerms:
    """The schedule terms of `principal` from `start_date`: the facility's grid and grace period
    (both counted from its start), its share of the balloon (pro rata to what is drawn) and its CFADS (the
    engine uses the last figures, one per payment date left)."""
    balloon = None
    if facility.profile == ScheduleProfile.BALLOON and facility.balloon_amount:
        drawn = facility.drawn if facility.kind != FacilityKind.REVOLVING else facility.outstanding_principal
        balloon = to_minor(facility.balloon_amount * drawn / facility.limit, facility.currency)
    cfads: tuple[Decimal, ...] = ()
    if facility.profile == ScheduleProfile.SCULPTED:
        cfads = tuple(Decimal(value) for value in facility.sculpting_cfads)
    return schedules.ScheduleTerms(
        principal=principal,
        currency=facility.currency,
        annual_rate_pct=facility.interest_rate_pct,
        start_date=start_date,
        maturity_date=facility.maturity_date,
        frequency_months=facility.frequency_months,
        profile=facility.profile,
        day_count=facility.day_count,
        business_day_rule=facility.business_day_rule,
        anchor_date=facility.start_date,
        grace_months=facility.grace_months,
        grace_kind=facility.grace_kind,
        balloon_amount=balloon,
        cfads=cfads,
        target_dscr=facility.target_dscr,
        holidays=configured_holidays(),
    )
