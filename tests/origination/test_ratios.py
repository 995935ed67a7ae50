"""Ratios and expected loss against numbers worked out by hand."""

from decimal import Decimal

import pytest
from django.test import override_settings

from lendcrm.origination import ratios, risk
from lendcrm.origination.ratios import LINE_CODES, LINES, Period, Section

D = Decimal

# A year of a manufacturer, in CNY thousands.
YEAR = {
    "current_assets": D("4000"),
    "current_liabilities": D("2500"),
    "short_term_debt": D("1000"),
    "long_term_debt": D("5000"),
    "equity": D("8000"),
    "revenue": D("20000"),
    "ebitda": D("3000"),
    "depreciation": D("800"),
    "interest_expense": D("440"),
    "tax": D("330"),
    "principal_repaid": D("1200"),
}


def test_the_chart_has_every_line_once_in_a_section() -> None:
    assert len(LINE_CODES) == len(LINES) == 24
    assert {line.section for line in LINES} == set(Section.values)
    for code in ("cash", "total_assets", "equity", "revenue", "ebitda", "net_income", "capex", "dividends"):
        assert code in LINE_CODES


def test_each_ratio_by_hand() -> None:
    got = ratios.compute(Period(YEAR))
    # debt 1000 + 5000 = 6000; 6000 / 3000
    assert got["leverage"] == D("2.0000")
    # 6000 / 8000
    assert got["gearing"] == D("0.7500")
    # EBIT = 3000 - 800 = 2200; 2200 / 440
    assert got["interest_cover"] == D("5.0000")
    # (3000 - 330) / (440 + 1200) = 2670 / 1640 = 1.628048...
    assert got["dscr"] == D("1.6280")
    # 4000 / 2500
    assert got["current_ratio"] == D("1.6000")
    # 3000 / 20000
    assert got["ebitda_margin"] == D("0.1500")
    assert got["revenue_growth"] is None  # no previous period


def test_growth_against_the_previous_period() -> None:
    previous = Period({"revenue": D("16000")})
    # 20000 / 16000 - 1
    assert ratios.compute(Period(YEAR), previous)["revenue_growth"] == D("0.2500")


def test_a_half_year_is_annualised_where_a_flow_meets_a_balance() -> None:
    half = Period({**YEAR, "ebitda": D("1500"), "revenue": D("10000")}, months=6)
    got = ratios.compute(half, Period({"revenue": D("16000")}))
    # EBITDA 1500 over 6 months is 3000 a year: 6000 / 3000
    assert got["leverage"] == D("2.0000")
    # revenue 10000 in 6 months is 20000 a year: 20000 / 16000 - 1
    assert got["revenue_growth"] == D("0.2500")
    # flow over flow of the same period: not annualised, (1500 - 330) / 1640 = 0.713414...
    assert got["dscr"] == D("0.7134")
    assert got["ebitda_margin"] == D("0.1500")


def test_derived_lines() -> None:
    lines = {"ebit": D("2200"), "depreciation": D("800"), "interest_expense": D("440"), "revenue": D("20000")}
    assert ratios.ebitda(lines) == D("3000")
    assert ratios.compute(Period(lines))["ebitda_margin"] == D("0.1500")
    # tax and principal entered as nil: 3000 / 440 = 6.818181...
    nil = {**lines, "tax": D("0"), "principal_repaid": D("0")}
    assert ratios.compute(Period(nil))["dscr"] == D("6.8182")


def without(*codes: str) -> dict[str, Decimal]:
    return {k: v for k, v in YEAR.items() if k not in codes}


@pytest.mark.parametrize(
    ("blank", "ratio"),
    [
        # (3000 - 330) / 440 would read 6.07x: a blank principal is not a repayment of nothing
        ("principal_repaid", "dscr"),
        ("tax", "dscr"),
        ("interest_expense", "dscr"),
        ("short_term_debt", "leverage"),
        ("long_term_debt", "leverage"),
        ("short_term_debt", "gearing"),
        ("long_term_debt", "gearing"),
    ],
)
def test_a_blank_line_is_unknown_not_zero(blank: str, ratio: str) -> None:
    assert ratios.compute(Period(without(blank)))[ratio] is None


def test_an_entered_zero_counts() -> None:
    zeros = ratios.compute(
        Period({**YEAR, "principal_repaid": D("0"), "tax": D("0"), "short_term_debt": D("0")})
    )
    # (3000 - 0) / (440 + 0) = 6.818181...
    assert zeros["dscr"] == D("6.8182")
    # debt 0 + 5000 = 5000; 5000 / 3000 = 1.666666...; 5000 / 8000
    assert zeros["leverage"] == D("1.6667")
    assert zeros["gearing"] == D("0.6250")


@pytest.mark.parametrize(
    ("lines", "ratio"),
    [
        ({**YEAR, "ebitda": D("0"), "depreciation": D("0")}, "leverage"),
        ({**YEAR, "equity": D("0")}, "gearing"),
        ({**YEAR, "interest_expense": D("0"), "principal_repaid": D("0")}, "dscr"),
        ({**YEAR, "interest_expense": D("0")}, "interest_cover"),
        ({**YEAR, "current_liabilities": D("0")}, "current_ratio"),
        (without("revenue"), "ebitda_margin"),
        (without("short_term_debt", "long_term_debt"), "gearing"),
        (without("ebitda"), "leverage"),
    ],
)
def test_undefined_ratios_are_none(lines: dict[str, Decimal], ratio: str) -> None:
    assert ratios.compute(Period(lines))[ratio] is None


def test_growth_from_zero_revenue_is_undefined() -> None:
    assert ratios.revenue_growth(Period(YEAR), Period({"revenue": D("0")})) is None


def test_expected_loss_by_hand() -> None:
    # grade 4: PD 0.42 %; LGD 40 %; EAD CNY 5,000,000: 0.0042 x 0.40 x 5,000,000 = 8,400.00
    assert risk.expected_loss(pd=D("0.0042"), lgd=D("0.40"), ead=D("5000000")) == D("8400.00")
    # 0.0085 x 0.45 x 1,234,567.89 = 4,722.2221... -> 4,722.22
    assert risk.expected_loss(pd=D("0.0085"), lgd=D("0.45"), ead=D("1234567.89")) == D("4722.22")
    # 0.001 x 0.5 x 10.00 = 0.005: half a cent rounds up
    assert risk.expected_loss(pd=D("0.001"), lgd=D("0.5"), ead=D("10.00")) == D("0.01")


def test_ead_is_the_committed_amount_and_lgd_follows_the_borrower() -> None:
    assert risk.ead(D("5000000.00")) == D("5000000.00")
    assert risk.default_lgd("corporate") == D("0.40")
    assert risk.default_lgd("financial_institution") == D("0.45")


@override_settings(LENDCRM_FX_TO_BASE={"CNY": "1", "USD": "7.10"})
def test_base_currency_conversion() -> None:
    # USD 8,400.00 at 7.10 = CNY 59,640.00
    assert risk.to_base(D("8400.00"), "USD") == D("59640.00")
    assert risk.to_base(D("1.005"), "CNY") == D("1.01")
