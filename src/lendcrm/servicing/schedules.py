"""Repayment schedules from a facility's terms: a pure function, exact in Decimal, no database.

Every amount is rounded half-up to the currency's minor unit; the last line takes what is left, so the
principal portions always sum to the scheduled principal (plus any capitalised grace interest) exactly.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext

from django.utils.translation import gettext as _

from lendcrm.core import errors
from lendcrm.core.money import CURRENCIES, MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.servicing.daycount import adjust, configured_holidays, day_count_parts, grid_date
from lendcrm.servicing.models import BusinessDayRule, DayCount, GraceKind, ScheduleProfile

ZERO = Decimal(0)
HUNDRED = Decimal(100)
# ISO 4217 minor units of the currencies we book; any other listed currency has MONEY_DECIMAL_PLACES.
MINOR_UNITS = {"JPY": 0}
MAX_PERIODS = 600
MAX_TENOR_MONTHS = 100 * 12
MAX_RATE_PCT = Decimal(100)
MAX_PRINCIPAL = Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES)
PRECISION = 60  # digits carried before rounding to the minor unit; money has at most 20
FREQUENCIES = (1, 3, 6, 12)


@dataclass(frozen=True)
class ScheduleTerms:
    principal: Decimal  # the balance to schedule
    currency: str  # minor unit from the currency (JPY has 0 decimals, others 2)
    annual_rate_pct: Decimal  # 4.35 means 4.35 % a year
    start_date: date  # interest runs from here (value date)
    maturity_date: date
    frequency_months: int  # 1, 3, 6 or 12
    profile: str  # ScheduleProfile value
    day_count: str  # DayCount value
    business_day_rule: str  # BusinessDayRule value
    anchor_date: date | None = None  # the facility's start: fixes the payment-date grid (None = start_date)
    grace_months: int = 0
    grace_kind: str = GraceKind.INTEREST_ONLY
    balloon_amount: Decimal | None = None
    # sculpted: CFADS per payment date; when longer than the schedule (the facility's whole grid for a
    # rebuild from a later start), the last figures are used, one per remaining payment date
    cfads: tuple[Decimal, ...] = ()
    target_dscr: Decimal | None = None  # sculpted
    holidays: frozenset[date] = frozenset()  # on top of settings.LENDCRM_HOLIDAYS


@dataclass(frozen=True)
class ScheduleLine:
    number: int
    period_start: date
    due_date: date
    days: int  # calendar days of the period; interest uses the day count's own fraction
    opening_balance: Decimal
    principal: Decimal
    interest: Decimal  # interest due on due_date
    closing_balance: Decimal  # opening - principal + capitalised_interest
    capitalised_interest: Decimal = ZERO  # capitalised grace: accrued, added to the balance, not due

    @property
    def instalment(self) -> Decimal:
        """What the borrower pays on the due date."""
        return self.principal + self.interest


@dataclass(frozen=True)
class _Period:
    start: date
    due: date
    days: int
    basis: int
    grace: bool
    interest_only: bool  # a grace period or a first stub period that is not the last


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of the currency: 0.01, or 1 for JPY."""
    return Decimal(1).scaleb(-MINOR_UNITS.get(currency, MONEY_DECIMAL_PLACES))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Half-up to the currency's minor unit."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def payment_dates(terms: ScheduleTerms) -> list[date]:
    """The (business-day adjusted) due dates the schedule will have — e.g. to line CFADS up with them."""
    _check_terms(terms)
    return [p.due for p in _periods(terms)]


def build_schedule(terms: ScheduleTerms) -> list[ScheduleLine]:
    """The schedule for the terms; raises errors.ValidationFailed (field errors by term name) on bad terms."""
    _check_terms(terms)
    periods = _periods(terms)
    _check_profile_terms(terms, periods)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return _lines(terms, periods)


# --- validation ------------------------------------------------------------------------------------


def _as_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    return None


def _is_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _check_terms(terms: ScheduleTerms) -> None:
    """Each term on its own and the dates against each other; all problems at once."""
    problems: dict[str, str] = {}
    if terms.currency not in CURRENCIES:
        problems["currency"] = _("Unknown currency.")
    principal = _as_decimal(terms.principal)
    if principal is None or principal <= 0:
        problems["principal"] = _("The principal must be a positive amount.")
    elif principal >= MAX_PRINCIPAL:
        problems["principal"] = _("The principal is too large.")
    elif "currency" not in problems and principal != round_money(principal, terms.currency):
        problems["principal"] = _("The principal has more decimals than the currency allows.")
    rate = _as_decimal(terms.annual_rate_pct)
    if rate is None or not ZERO <= rate <= MAX_RATE_PCT:
        problems["annual_rate_pct"] = _("The interest rate must be between 0 and 100 % a year.")
    if terms.frequency_months not in FREQUENCIES:
        problems["frequency_months"] = _("Payments are every 1, 3, 6 or 12 months.")
    if terms.profile not in ScheduleProfile.values:
        problems["profile"] = _("Unknown repayment profile.")
    if terms.day_count not in DayCount.values:
        problems["day_count"] = _("Unknown day count.")
    if terms.business_day_rule not in BusinessDayRule.values:
        problems["business_day_rule"] = _("Unknown business-day rule.")
    if (
        isinstance(terms.grace_months, bool)
        or not isinstance(terms.grace_months, int)
        or terms.grace_months < 0
    ):
        problems["grace_months"] = _("The grace period is a whole number of months, zero or more.")
    if terms.grace_kind not in GraceKind.values:
        problems["grace_kind"] = _("Unknown kind of grace period.")
    if not all(_is_date(d) for d in terms.holidays):
        problems["holidays"] = _("Holidays must be dates.")
    problems.update(_date_problems(terms))
    if problems:
        raise errors.ValidationFailed(field_errors={k: [v] for k, v in problems.items()})


def _date_problems(terms: ScheduleTerms) -> dict[str, str]:
    problems: dict[str, str] = {}
    anchor = terms.anchor_date if terms.anchor_date is not None else terms.start_date
    for name, value in (("start_date", terms.start_date), ("maturity_date", terms.maturity_date)):
        if not _is_date(value):
            problems[name] = _("Enter a date.")
    if not _is_date(anchor):
        problems["anchor_date"] = _("Enter a date.")
    if problems:
        return problems
    if terms.maturity_date <= terms.start_date:
        problems["maturity_date"] = _("The maturity must be after the start date.")
    elif _months_between(anchor, terms.maturity_date) > MAX_TENOR_MONTHS:
        problems["maturity_date"] = _("The tenor is longer than 100 years.")
    if anchor > terms.start_date:
        problems["anchor_date"] = _("The facility's start cannot be after the schedule's start date.")
    return problems


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def _check_profile_terms(terms: ScheduleTerms, periods: list[_Period]) -> None:
    """Terms that only some profiles take, checked once the payment dates are known."""
    problems: dict[str, str] = {}
    if periods[-1].grace:
        problems["grace_months"] = _("The grace period must end before the maturity.")
    if terms.profile == ScheduleProfile.BALLOON:
        balloon = _as_decimal(terms.balloon_amount)
        if balloon is None or balloon <= 0:
            problems["balloon_amount"] = _("A balloon schedule needs a positive balloon amount.")
        elif balloon != round_money(balloon, terms.currency):
            problems["balloon_amount"] = _("The balloon has more decimals than the currency allows.")
    elif terms.balloon_amount is not None:
        problems["balloon_amount"] = _("Only a balloon schedule takes a balloon amount.")
    if terms.profile == ScheduleProfile.SCULPTED:
        target = _as_decimal(terms.target_dscr)
        if target is None or target < 1:
            problems["target_dscr"] = _("A sculpted schedule needs a target DSCR of at least 1.")
        if len(terms.cfads) < len(periods):
            problems["cfads"] = _("Give one CFADS figure per payment date (%(count)d).") % {
                "count": len(periods)
            }
        elif not all(_as_decimal(c) is not None for c in terms.cfads):
            problems["cfads"] = _("CFADS figures must be amounts.")
    elif terms.cfads:
        problems["cfads"] = _("Only a sculpted schedule takes CFADS figures.")
    if problems:
        raise errors.ValidationFailed(field_errors={k: [v] for k, v in problems.items()})


# --- payment dates ---------------------------------------------------------------------------------


def _periods(terms: ScheduleTerms) -> list[_Period]:
    """Accrual periods between adjusted payment dates on the anchor's grid, from start to maturity."""
    anchor = terms.anchor_date if terms.anchor_date is not None else terms.start_date
    holidays = terms.holidays | configured_holidays()
    rule = terms.business_day_rule
    try:
        end = adjust(terms.maturity_date, rule, holidays)
        grid: list[tuple[date, date]] = []  # (unadjusted, adjusted) payment dates before maturity
        on_grid = terms.start_date == anchor
        k = 1
        while (unadjusted := grid_date(anchor, k * terms.frequency_months)) < terms.maturity_date:
            adjusted = adjust(unadjusted, rule, holidays)
            on_grid = on_grid or terms.start_date in (unadjusted, adjusted)
            if terms.start_date < adjusted < end and (not grid or adjusted > grid[-1][1]):
                grid.append((unadjusted, adjusted))
            k += 1
    except (OverflowError, ValueError) as exc:
        raise errors.field_error("maturity_date", _("The maturity is too far in the future.")) from exc
    if end <= terms.start_date:
        raise errors.field_error(
            "maturity_date", _("After business-day adjustment the maturity is not after the start date.")
        )
    grid.append((terms.maturity_date, end))
    if len(grid) > MAX_PERIODS:
        raise errors.field_error(
            "maturity_date", _("A schedule has at most %(max)d payment dates.") % {"max": MAX_PERIODS}
        )
    grace_end = grid_date(anchor, terms.grace_months) if terms.grace_months else None
    periods = []
    start = terms.start_date
    for number, (unadjusted, due) in enumerate(grid, start=1):
        days, basis = day_count_parts(start, due, terms.day_count)
        grace = grace_end is not None and unadjusted <= grace_end
        stub = number == 1 and not on_grid and len(grid) > 1
        periods.append(
            _Period(
                start=start,
                due=due,
                days=days,
                basis=basis,
                grace=grace,
                interest_only=grace or (stub and terms.profile != ScheduleProfile.SCULPTED),
            )
        )
        start = due
    return periods


# --- the lines -------------------------------------------------------------------------------------


def _period_rate(terms: ScheduleTerms, period: _Period) -> Decimal:
    return Decimal(terms.annual_rate_pct) * period.days / (HUNDRED * period.basis)


def _interest(terms: ScheduleTerms, period: _Period, balance: Decimal) -> Decimal:
    """balance · rate · days / (100 · basis), divided once at the end so a true half cent rounds up."""
    accrued = balance * Decimal(terms.annual_rate_pct) * period.days / (HUNDRED * period.basis)
    return round_money(accrued, terms.currency)


def _lines(terms: ScheduleTerms, periods: list[_Period]) -> list[ScheduleLine]:
    principal_for = _principal_rule(terms, periods)
    lines: list[ScheduleLine] = []
    nothing = round_money(ZERO, terms.currency)  # zero written to the minor unit, like every amount
    balance = round_money(Decimal(terms.principal), terms.currency)
    last = len(periods) - 1
    for index, period in enumerate(periods):
        interest = _interest(terms, period, balance)
        capitalised = nothing
        if period.grace and terms.grace_kind == GraceKind.CAPITALISED:
            capitalised, interest, principal = interest, nothing, nothing
        elif index == last:
            principal = balance
        elif period.interest_only:
            principal = nothing
        else:
            principal = min(balance, max(nothing, principal_for(index, balance, interest)))
        closing = balance - principal + capitalised
        lines.append(
            ScheduleLine(
                number=index + 1,
                period_start=period.start,
                due_date=period.due,
                days=(period.due - period.start).days,
                opening_balance=balance,
                principal=principal,
                interest=interest,
                closing_balance=closing,
                capitalised_interest=capitalised,
            )
        )
        balance = closing
    if terms.profile == ScheduleProfile.SCULPTED:
        _check_sculpted_last(lines[-1], _used_cfads(terms, periods)[-1])
    return lines


PrincipalRule = Callable[[int, Decimal, Decimal], Decimal]


def _principal_rule(terms: ScheduleTerms, periods: list[_Period]) -> PrincipalRule:
    """The principal of an amortising period that is not the last: (period index, opening, interest)."""
    amortising = [i for i, p in enumerate(periods) if not p.interest_only]
    if terms.profile == ScheduleProfile.BULLET:
        return lambda index, balance, interest: ZERO
    if terms.profile == ScheduleProfile.SCULPTED:
        return _sculpted_rule(terms, _used_cfads(terms, periods))
    opening = _balance_after_grace(terms, periods, amortising[0])
    if terms.profile == ScheduleProfile.EQUAL_PRINCIPAL:
        share = round_money(opening / len(amortising), terms.currency)
        return lambda index, balance, interest: share
    balloon = min(opening, Decimal(terms.balloon_amount or 0))
    instalment = round_money(
        _level_instalment(opening, balloon, [_period_rate(terms, periods[i]) for i in amortising]),
        terms.currency,
    )
    return lambda index, balance, interest: instalment - interest


def _balance_after_grace(terms: ScheduleTerms, periods: list[_Period], first_amortising: int) -> Decimal:
    """The balance amortisation starts from: the principal plus interest capitalised before it."""
    balance = Decimal(terms.principal)
    if terms.grace_kind == GraceKind.CAPITALISED:
        for period in periods[:first_amortising]:
            if period.grace:
                balance += _interest(terms, period, balance)
    return balance


def _level_instalment(opening: Decimal, balloon: Decimal, rates: list[Decimal]) -> Decimal:
    """The level payment that takes `opening` down to `balloon` over periods with these rates.

    From B_k = B_(k-1)·(1 + r_k) - A and B_n = balloon: A = (P·Π(1 + r_k) - balloon) / Σ_j Π_(k>j)(1 + r_k).
    With equal rates this is the textbook P·r / (1 - (1 + r)^-n) (and P/n at a zero rate).
    """
    growth = Decimal(1)  # Π_(k>j)(1 + r_k), built from the last period backwards
    total = ZERO
    for rate in reversed(rates):
        total += growth
        growth *= 1 + rate
    return (opening * growth - balloon) / total


def _used_cfads(terms: ScheduleTerms, periods: list[_Period]) -> tuple[Decimal, ...]:
    """The CFADS figures of this schedule's payment dates: the last one per period."""
    return tuple(Decimal(c) for c in terms.cfads[len(terms.cfads) - len(periods) :])


def _sculpted_rule(terms: ScheduleTerms, cfads: tuple[Decimal, ...]) -> PrincipalRule:
    target = Decimal(terms.target_dscr or 1)

    def principal(index: int, balance: Decimal, interest: Decimal) -> Decimal:
        debt_service = round_money(cfads[index] / target, terms.currency)
        if debt_service < interest:
            raise errors.field_error(
                "cfads",
                _("CFADS of period %(number)d does not cover its interest at the target DSCR.")
                % {"number": index + 1},
            )
        return debt_service - interest

    return principal


def _check_sculpted_last(line: ScheduleLine, cfads: Decimal) -> None:
    """The last period takes the rest; refused when its CFADS cannot pay that debt service."""
    if line.instalment > cfads:
        raise errors.field_error(
            "cfads",
            _("The CFADS cannot repay the loan: the last period's debt service exceeds its CFADS."),
        )
