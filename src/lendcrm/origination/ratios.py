"""The standard chart of lines for financial statements and the ratios a credit memo reads from them.

Every ratio is a `Decimal` rounded to four places, or None when it is undefined (a line it needs is
missing, or its denominator is zero). A line left blank is unknown, never zero: an analyst who means
"none" enters 0, so a ratio is never flattered by a line nobody filled in. Two lines may be derived
when not entered: EBITDA = EBIT + depreciation, and EBIT = EBITDA - depreciation. Total debt is
short-term plus long-term debt, so it needs both.

Periods shorter than a year: the flow lines (income statement and cash flow) are annualised
(* 12 / months) wherever a flow is set against a balance (leverage) or against another period's flow
(revenue growth). Ratios of two flows of the same period (interest cover, DSCR, EBITDA margin) and of
two balances (gearing, current ratio) do not depend on the period's length and are not annualised.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

RATIO_PLACES = Decimal("0.0001")
YEAR_MONTHS = 12


class Section(models.TextChoices):
    BALANCE_SHEET = "balance_sheet", _("Balance sheet")
    INCOME_STATEMENT = "income_statement", _("Income statement")
    CASH_FLOW = "cash_flow", _("Cash flow")


@dataclass(frozen=True)
class Line:
    code: str
    label: object  # a lazy translation
    section: str


LINES: tuple[Line, ...] = (
    Line("cash", _("Cash and equivalents"), Section.BALANCE_SHEET),
    Line("receivables", _("Trade receivables"), Section.BALANCE_SHEET),
    Line("inventory", _("Inventory"), Section.BALANCE_SHEET),
    Line("current_assets", _("Current assets"), Section.BALANCE_SHEET),
    Line("fixed_assets", _("Fixed assets"), Section.BALANCE_SHEET),
    Line("total_assets", _("Total assets"), Section.BALANCE_SHEET),
    Line("current_liabilities", _("Current liabilities"), Section.BALANCE_SHEET),
    Line("short_term_debt", _("Short-term debt"), Section.BALANCE_SHEET),
    Line("long_term_debt", _("Long-term debt"), Section.BALANCE_SHEET),
    Line("total_liabilities", _("Total liabilities"), Section.BALANCE_SHEET),
    Line("equity", _("Equity"), Section.BALANCE_SHEET),
    Line("revenue", _("Revenue"), Section.INCOME_STATEMENT),
    Line("cost_of_sales", _("Cost of sales"), Section.INCOME_STATEMENT),
    Line("operating_expenses", _("Operating expenses"), Section.INCOME_STATEMENT),
    Line("ebitda", _("EBITDA"), Section.INCOME_STATEMENT),
    Line("depreciation", _("Depreciation and amortisation"), Section.INCOME_STATEMENT),
    Line("ebit", _("EBIT"), Section.INCOME_STATEMENT),
    Line("interest_expense", _("Interest expense"), Section.INCOME_STATEMENT),
    Line("tax", _("Income tax"), Section.INCOME_STATEMENT),
    Line("net_income", _("Net income"), Section.INCOME_STATEMENT),
    Line("operating_cash_flow", _("Operating cash flow"), Section.CASH_FLOW),
    Line("capex", _("Capital expenditure"), Section.CASH_FLOW),
    Line("principal_repaid", _("Principal repaid"), Section.CASH_FLOW),
    Line("dividends", _("Dividends paid"), Section.CASH_FLOW),
)
LINE_CODES = frozenset(line.code for line in LINES)

RATIOS: tuple[tuple[str, object], ...] = (
    ("leverage", _("Leverage (total debt / EBITDA)")),
    ("gearing", _("Gearing (total debt / equity)")),
    ("interest_cover", _("Interest cover (EBIT / interest)")),
    ("dscr", _("DSCR ((EBITDA - tax) / (interest + principal))")),
    ("current_ratio", _("Current ratio")),
    ("ebitda_margin", _("EBITDA margin")),
    ("revenue_growth", _("Revenue growth")),
)
RATIO_CODES = tuple(code for code, _label in RATIOS)

Lines = Mapping[str, Decimal]


@dataclass(frozen=True)
class Period:
    """One statement's lines and the number of months its flows cover."""

    lines: Lines
    months: int = YEAR_MONTHS


def _div(numerator: Decimal | None, denominator: Decimal | None) -> Decimal | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return (numerator / denominator).quantize(RATIO_PLACES)


def _annual(value: Decimal | None, months: int) -> Decimal | None:
    return None if value is None else value * YEAR_MONTHS / months


def ebitda(lines: Lines) -> Decimal | None:
    if "ebitda" in lines:
        return lines["ebitda"]
    if "ebit" in lines and "depreciation" in lines:
        return lines["ebit"] + lines["depreciation"]
    return None


def ebit(lines: Lines) -> Decimal | None:
    if "ebit" in lines:
        return lines["ebit"]
    if "ebitda" in lines and "depreciation" in lines:
        return lines["ebitda"] - lines["depreciation"]
    return None


def total_debt(lines: Lines) -> Decimal | None:
    if "short_term_debt" not in lines or "long_term_debt" not in lines:
        return None
    return lines["short_term_debt"] + lines["long_term_debt"]


def leverage(period: Period) -> Decimal | None:
    """Total debt / EBITDA, with EBITDA annualised for a short period."""
    return _div(total_debt(period.lines), _annual(ebitda(period.lines), period.months))


def gearing(lines: Lines) -> Decimal | None:
    return _div(total_debt(lines), lines.get("equity"))


def interest_cover(lines: Lines) -> Decimal | None:
    return _div(ebit(lines), lines.get("interest_expense"))


def dscr(lines: Lines) -> Decimal | None:
    """Corporate DSCR = (EBITDA - tax) / (interest expense + principal repaid), over the same period.

    This is the corporate proxy for cash available for debt service; project finance uses CFADS per
    period instead (DOMAIN.md), which the monitoring of project loans computes from the model."""
    cash = ebitda(lines)
    if cash is None or any(code not in lines for code in ("tax", "interest_expense", "principal_repaid")):
        return None
    return _div(cash - lines["tax"], lines["interest_expense"] + lines["principal_repaid"])


def current_ratio(lines: Lines) -> Decimal | None:
    return _div(lines.get("current_assets"), lines.get("current_liabilities"))


def ebitda_margin(lines: Lines) -> Decimal | None:
    return _div(ebitda(lines), lines.get("revenue"))


def revenue_growth(current: Period, previous: Period | None) -> Decimal | None:
    """revenue_t / revenue_(t-1) - 1, both annualised so periods of different length compare."""
    if previous is None:
        return None
    ratio = _div(
        _annual(current.lines.get("revenue"), current.months),
        _annual(previous.lines.get("revenue"), previous.months),
    )
    return None if ratio is None else ratio - 1


def compute(current: Period, previous: Period | None = None) -> dict[str, Decimal | None]:
    """Every ratio of one period (growth against `previous`, the same party's prior period)."""
    lines = current.lines
    return {
        "leverage": leverage(current),
        "gearing": gearing(lines),
        "interest_cover": interest_cover(lines),
        "dscr": dscr(lines),
        "current_ratio": current_ratio(lines),
        "ebitda_margin": ebitda_margin(lines),
        "revenue_growth": revenue_growth(current, previous),
    }
