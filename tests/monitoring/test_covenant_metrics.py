"""Covenant metrics over statement lines and the test calendar: pure functions."""

from datetime import date
from decimal import Decimal as D

import pytest

from lendcrm.monitoring import covenant_metrics as cm
from lendcrm.origination.ratios import Period

LINES = {
    "ebitda": D("1200"),
    "depreciation": D("200"),
    "tax": D("100"),
    "interest_expense": D("250"),
    "principal_repaid": D("500"),
    "short_term_debt": D("1000"),
    "long_term_debt": D("2600"),
    "equity": D("3000"),
    "current_assets": D("1500"),
    "current_liabilities": D("1000"),
    "capex": D("400"),
}


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        # (1,200 - 100) / (250 + 500) = 1,100 / 750 = 1.466667
        ("dscr", D("1.4667")),
        # (1,000 + 2,600) / 1,200 = 3
        ("leverage", D("3.0000")),
        # EBIT = 1,200 - 200 = 1,000; 1,000 / 250 = 4
        ("interest_cover", D("4.0000")),
        ("current_ratio", D("1.5000")),
        # 3,600 / 3,000 = 1.2
        ("gearing", D("1.2000")),
        ("capex", D("400")),
        ("net_worth", D("3000")),
    ],
)
def test_statement_metrics(metric: str, expected: D):
    assert cm.statement_metric(metric, Period(LINES)) == expected


def test_half_year_leverage_is_annualised_and_net_worth_falls_back_to_assets_less_liabilities():
    # Six months' EBITDA of 600 is 1,200 a year: 3,600 / 1,200 = 3
    half = {**LINES, "ebitda": D("600")}
    assert cm.statement_metric("leverage", Period(half, months=6)) == D("3.0000")
    lines = {"total_assets": D("9000"), "total_liabilities": D("5500")}
    assert cm.net_worth(lines) == D("3500")
    assert cm.statement_metric("net_worth", Period({"revenue": D("1")})) is None
    assert cm.statement_metric("dscr", Period({"ebitda": D("1")})) is None


def test_unknown_metric_is_a_programming_error():
    with pytest.raises(ValueError, match="project_dscr"):
        cm.statement_metric("project_dscr", Period(LINES))


def test_bounds_include_the_threshold():
    assert cm.complies(D("1.25"), "min", D("1.25"))
    assert not cm.complies(D("1.2499"), "min", D("1.25"))
    assert cm.complies(D("3.5"), "max", D("3.5"))
    assert not cm.complies(D("3.5001"), "max", D("3.5"))


def test_period_ends_keep_month_ends():
    assert cm.period_ends(date(2025, 3, 31), 3, date(2026, 1, 15)) == [
        date(2025, 3, 31),
        date(2025, 6, 30),
        date(2025, 9, 30),
        date(2025, 12, 31),
    ]
    assert cm.period_ends(date(2024, 2, 29), 12, date(2026, 3, 1)) == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
    ]
    assert cm.period_ends(date(2025, 1, 15), 1, date(2025, 3, 14)) == [date(2025, 1, 15), date(2025, 2, 15)]
    assert cm.period_ends(date(2025, 1, 15), 1, date(2025, 1, 14)) == []


def test_previous_test_date_and_due_date():
    assert cm.previous_test_date(date(2025, 6, 30), 3) == date(2025, 3, 31)
    assert cm.previous_test_date(date(2025, 12, 31), 12) == date(2024, 12, 31)
    assert cm.due_date(date(2025, 12, 31), 120) == date(2026, 4, 30)
