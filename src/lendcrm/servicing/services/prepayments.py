"""Early repayment: principal repaid before it is due, with the interest accrued to the value date and the
prepayment fee (`LENDCRM_PREPAYMENT_FEE_PCT`), as a new schedule version on the reduced balance to the
same maturity (reduce-instalment); and the quote of what repays a facility in full on a given day.
`repayments.post_repayment` calls `prepay` with what is left after the arrears."""

from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from lendcrm.core import errors
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.servicing.daycount import day_count_parts
from lendcrm.servicing.models import Facility, Instalment, ScheduleProfile
from lendcrm.servicing.schedules import ScheduleTerms, build_schedule, minor_unit, round_money
from lendcrm.servicing.selectors import visible_facilities
from lendcrm.servicing.services.drawdowns import rebuild_terms

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Prepayment:
    interest: Decimal
    fee: Decimal
    principal: Decimal
    left: Decimal


def split_prepayment(
    amount: Decimal, *, accrued: Decimal, balance: Decimal, fee_pct: Decimal, minor: Decimal
) -> Prepayment | None:
    """Accrued interest first, then principal and its fee (fee = fee_pct % of the principal, half-up),
    principal at most the balance; None when the amount does not get past the accrued interest."""
    if amount <= accrued or balance <= 0:
        return None
    available = amount - accrued
    rate = fee_pct / Decimal(100)
    principal = min(balance, (available / (1 + rate)).quantize(minor, rounding=ROUND_DOWN))

    def fee_of(p: Decimal) -> Decimal:
        return (p * rate).quantize(minor, rounding=ROUND_HALF_UP)

    while principal < balance and principal + minor + fee_of(principal + minor) <= available:
        principal += minor  # the division rounded down past what the amount can buy
    while principal > 0 and principal + fee_of(principal) > available:
        principal -= minor
    if principal <= 0:
        return None
    fee = fee_of(principal)
    return Prepayment(interest=accrued, fee=fee, principal=principal, left=available - principal - fee)


@dataclass(frozen=True)
class Basis:
    """Where an early repayment starts: the lines kept as they are (due, or paid ahead), the lines it
    replaces, the day the new schedule runs from, the balance then and the interest accrued to the value
    date in the running period."""

    kept: list[Instalment]
    rest: list[Instalment]
    start: date
    balance: Decimal
    accrued: Decimal


def basis(facility: Facility, lines: list[Instalment], value_date: date) -> Basis | None:
    """None when every line is due or paid ahead: nothing is left to repay early."""
    kept = [line for line in lines if line.due_date <= value_date or touched(line)]
    rest = lines[len(kept) :]
    if not rest:
        return None
    opening = rest[0].opening_balance
    start = max(value_date, kept[-1].due_date if kept else facility.start_date)
    accrued = ZERO
    if start == value_date and rest[0].period_start < value_date:
        days, day_basis = day_count_parts(rest[0].period_start, value_date, facility.day_count)
        accrued = round_money(
            opening * facility.interest_rate_pct * days / (Decimal(100) * day_basis), facility.currency
        )
    return Basis(kept=kept, rest=rest, start=start, balance=opening, accrued=accrued)


def fee_pct() -> Decimal:
    return Decimal(str(settings.LENDCRM_PREPAYMENT_FEE_PCT))


def prepay(
    facility: Facility, lines: list[Instalment], amount: Decimal, value_date: date
) -> Prepayment | None:
    """Prepay principal with `amount` (what is left after the arrears): a new schedule version keeps the
    lines already due or paid ahead, records the prepayment as a settled line and schedules the reduced
    balance to the same maturity. None when there is nothing to prepay."""
    found = basis(facility, lines, value_date)
    if found is None:
        return None
    kept, rest, start, opening, accrued = found.kept, found.rest, found.start, found.balance, found.accrued
    split = split_prepayment(
        amount,
        accrued=accrued,
        balance=opening,
        fee_pct=fee_pct(),
        minor=minor_unit(facility.currency),
    )
    if split is None:
        return None
    balance = opening - split.principal
    version = facility.schedule_version + 1
    rows = [_copy(line, version) for line in kept]
    number = len(rows) + 1
    period_start = rest[0].period_start if accrued else start
    rows.append(
        Instalment(
            facility=facility,
            schedule_version=version,
            number=number,
            period_start=period_start,
            due_date=value_date if accrued else start,
            days=((value_date if accrued else start) - period_start).days,
            opening_balance=opening,
            principal=split.principal,
            interest=split.interest,
            fees=split.fee,
            closing_balance=balance,
            principal_paid=split.principal,
            interest_paid=split.interest,
            fees_paid=split.fee,
            settled_on=value_date,
        )
    )
    if balance > 0:
        terms = reduced_terms(facility, principal=balance, start_date=start, old_balance=opening)
        for line in build_schedule(terms):
            rows.append(
                Instalment(
                    facility=facility,
                    schedule_version=version,
                    number=number + line.number,
                    period_start=line.period_start,
                    due_date=line.due_date,
                    days=line.days,
                    opening_balance=line.opening_balance,
                    principal=line.principal,
                    interest=line.interest,
                    fees=ZERO,
                    closing_balance=line.closing_balance,
                    principal_paid=ZERO,
                    interest_paid=ZERO,
                    fees_paid=ZERO,
                )
            )
    Instalment.objects.bulk_create(rows)
    facility.schedule_version = version
    return split


def touched(line: Instalment) -> bool:
    return line.principal_paid > 0 or line.interest_paid > 0 or line.fees_paid > 0


def _copy(line: Instalment, version: int) -> Instalment:
    line.pk = None
    line.schedule_version = version
    return line


def reduced_terms(
    facility: Facility, *, principal: Decimal, start_date: date, old_balance: Decimal | None = None
) -> ScheduleTerms:
    """The facility's terms for a new schedule of `principal` from `start_date` to the same maturity, on the
    same payment-date grid (reduce-instalment): drawdowns' `rebuild_terms`, but with the whole balloon (the
    engine caps it at the balance) and a sculpted schedule keeping its shape, the facility's CFADS scaled by
    the new balance over the old one."""
    sculpted = facility.profile == ScheduleProfile.SCULPTED
    ratio = principal / old_balance if sculpted and old_balance else Decimal(1)
    return replace(
        rebuild_terms(facility, principal=principal, start_date=start_date),
        balloon_amount=facility.balloon_amount if facility.profile == ScheduleProfile.BALLOON else None,
        cfads=tuple(Decimal(str(c)) * ratio for c in facility.sculpting_cfads) if sculpted else (),
        target_dscr=facility.target_dscr if sculpted else None,
    )


# --- the payoff quote -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Payoff:
    """What repays the facility in full on `value_date`, by part, in its currency."""

    value_date: date
    currency: str
    arrears: Decimal  # unpaid on instalments due on or before the value date
    begun: Decimal  # the rest of instalments already paid ahead in part
    accrued_interest: Decimal
    principal: Decimal
    fee: Decimal

    @property
    def total(self) -> Decimal:
        return self.arrears + self.begun + self.accrued_interest + self.principal + self.fee


def _owed(line: Instalment) -> Decimal:
    return (
        line.fees - line.fees_paid + line.interest - line.interest_paid + line.principal - line.principal_paid
    )


def payoff_quote(*, viewer: User, facility_id: object, value_date: date) -> Payoff:
    """The amount that, posted as an early repayment on `value_date`, leaves nothing owed (two queries;
    404 out of scope). Computed by the same rules `post_repayment` applies."""
    if not isinstance(value_date, date):
        raise errors.field_error("value_date", _("Give the value date."))
    facility = visible_facilities(viewer=viewer).filter(pk=row_id(facility_id)).first()
    if facility is None:
        raise errors.NotFound()
    lines = list(
        Instalment.objects.filter(facility=facility, schedule_version=facility.schedule_version).order_by(
            "number"
        )
    )
    arrears = sum((_owed(line) for line in lines if line.due_date <= value_date), ZERO)
    begun = sum((_owed(line) for line in lines if line.due_date > value_date and touched(line)), ZERO)
    found = basis(facility, lines, value_date)
    principal = found.balance if found is not None else ZERO
    fee = (principal * fee_pct() / 100).quantize(minor_unit(facility.currency), rounding=ROUND_HALF_UP)
    return Payoff(
        value_date=value_date,
        currency=facility.currency,
        arrears=arrears,
        begun=begun,
        accrued_interest=found.accrued if found is not None else ZERO,
        principal=principal,
        fee=fee,
    )
