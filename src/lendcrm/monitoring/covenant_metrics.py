"""What a covenant measures and when it is tested: pure functions over statement lines and dates.

A financial covenant's value comes from one statement (`origination.ratios`, so the memo and the
covenant read the same number): DSCR, leverage, interest cover (EBIT / interest), current ratio and
gearing are the memo's ratios; capex is the statement's capital expenditure line as entered (the
period's spend, not annualised); net worth is equity, or total assets - total liabilities when equity
was not entered. None means the statement does not hold what the metric needs.
"""

import calendar
from datetime import date, timedelta
from decimal import Decimal

from lendcrm.origination import ratios
from lendcrm.origination.ratios import Period

STATEMENT_METRICS = frozenset(
    {"dscr", "leverage", "interest_cover", "current_ratio", "gearing", "capex", "net_worth"}
)
PROJECT_METRICS = frozenset({"project_dscr", "project_llcr"})


def net_worth(lines: ratios.Lines) -> Decimal | None:
    if "equity" in lines:
        return lines["equity"]
    if "total_assets" in lines and "total_liabilities" in lines:
        return lines["total_assets"] - lines["total_liabilities"]
    return None


def statement_metric(metric: str, period: Period) -> Decimal | None:
    """The value of a statement-based metric for one period (None when the lines are missing)."""
    lines = period.lines
    if metric == "dscr":
        return ratios.dscr(lines)
    if metric == "leverage":
        return ratios.leverage(period)
    if metric == "interest_cover":
        return ratios.interest_cover(lines)
    if metric == "current_ratio":
        return ratios.current_ratio(lines)
    if metric == "gearing":
        return ratios.gearing(lines)
    if metric == "capex":
        return lines.get("capex")
    if metric == "net_worth":
        return net_worth(lines)
    raise ValueError(f"not a statement metric: {metric}")


def complies(value: Decimal, bound: str, threshold: Decimal) -> bool:
    """A minimum is met at the threshold itself, and so is a maximum."""
    return value >= threshold if bound == "min" else value <= threshold


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months; a month end stays a month end (31 Mar + 3 months = 30 Jun)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    is_month_end = day.day == calendar.monthrange(day.year, day.month)[1]
    return date(year, month + 1, last if is_month_end else min(day.day, last))


def period_ends(first: date, frequency_months: int, until: date) -> list[date]:
    """Period ends first, first + frequency, … up to and including `until`."""
    out: list[date] = []
    step = 0
    while True:
        day = add_months(first, step * frequency_months)
        if day > until:
            return out
        out.append(day)
        step += 1


def previous_test_date(period_end: date, frequency_months: int) -> date:
    """The start of the tested period (the previous test date, exclusive)."""
    return add_months(period_end, -frequency_months)


def due_date(period_end: date, due_days: int) -> date:
    return period_end + timedelta(days=due_days)
