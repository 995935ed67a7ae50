"""Calendar arithmetic for schedules: day-count fractions, business-day adjustment, the payment-date grid.

Pure functions over `date` and `Decimal`; the only outside input is `settings.LENDCRM_HOLIDAYS`.
"""

import calendar
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings

from lendcrm.servicing.models import BusinessDayRule, DayCount

ONE_DAY = timedelta(days=1)
SATURDAY = 5


def day_count_parts(start: date, end: date, day_count: str) -> tuple[int, int]:
    """(days, basis) for the period, so callers can divide once and keep the Decimal exact."""
    if day_count == DayCount.ACT_360:
        return (end - start).days, 360
    if day_count == DayCount.ACT_365F:
        return (end - start).days, 365
    if day_count == DayCount.THIRTY_360:
        return thirty_360_days(start, end), 360
    raise ValueError(f"unknown day count {day_count!r}")


def thirty_360_days(start: date, end: date) -> int:
    """30/360 US bond basis (ISDA 2006 §4.16(f)): D1 31→30; D2 31→30 only when D1 is then 30."""
    d1 = min(start.day, 30)
    d2 = end.day
    if d2 == 31 and d1 == 30:
        d2 = 30
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


def year_fraction(start: date, end: date, day_count: str) -> Decimal:
    """The accrual fraction of a year from start to end under the day count (exact to 28 digits)."""
    days, basis = day_count_parts(start, end, day_count)
    return Decimal(days) / Decimal(basis)


def is_business_day(day: date, holidays: frozenset[date]) -> bool:
    """Weekdays that are not holidays."""
    return day.weekday() < SATURDAY and day not in holidays


def adjust(day: date, rule: str, holidays: frozenset[date]) -> date:
    """Move a non-business day: following, or modified following (back when the month would change)."""
    if rule == BusinessDayRule.NONE:
        return day
    if rule not in (BusinessDayRule.FOLLOWING, BusinessDayRule.MODIFIED_FOLLOWING):
        raise ValueError(f"unknown business-day rule {rule!r}")
    following = day
    while not is_business_day(following, holidays):
        following += ONE_DAY
    if rule == BusinessDayRule.FOLLOWING or following.month == day.month:
        return following
    preceding = day
    while not is_business_day(preceding, holidays):
        preceding -= ONE_DAY
    return preceding


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clipped to the month's end (Jan 31 + 1 month = Feb 28/29)."""
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def is_month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def grid_date(anchor: date, months: int) -> date:
    """Anchor + months, always counted from the anchor (no drift); a month-end anchor stays on month ends."""
    moved = add_months(anchor, months)
    if is_month_end(anchor):
        return moved.replace(day=calendar.monthrange(moved.year, moved.month)[1])
    return moved


def configured_holidays() -> frozenset[date]:
    """The bank's holiday calendar from `settings.LENDCRM_HOLIDAYS`."""
    return frozenset(getattr(settings, "LENDCRM_HOLIDAYS", frozenset()))
