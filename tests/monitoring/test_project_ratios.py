"""Project-finance ratios against a worked example computed by hand (the arithmetic is written out)."""

from datetime import date
from decimal import Decimal as D

import pytest

from lendcrm.monitoring import project_ratios as pr
from lendcrm.monitoring.project_ratios import CashFlow

# A 3,000 loan at 10 % a year, repaid over three annual periods, on a project that runs a fourth year.
#   year  opening  interest (10 %)  principal  debt service  CFADS   DSCR = CFADS / DS
#   2025   3,000        300            800        1,100      1,430   1,430 / 1,100 = 1.3
#   2026   2,200        220          1,000        1,220      1,342   1,342 / 1,220 = 1.1
#   2027   1,200        120          1,200        1,320      1,584   1,584 / 1,320 = 1.2
#   2028       0          0              0            0      1,500   (no debt service: no DSCR)
FLOWS = [
    CashFlow(date(2025, 12, 31), D("1430"), D("800"), D("300")),
    CashFlow(date(2026, 12, 31), D("1342"), D("1000"), D("220")),
    CashFlow(date(2027, 12, 31), D("1584"), D("1200"), D("120")),
    CashFlow(date(2028, 12, 31), D("1500"), D("0"), D("0")),
]
RATE = D("10")


def ratios(at: date, **kwargs: object) -> pr.Ratios:
    params: dict = {"lockup_dscr": D("1.15"), "default_dscr": D("1.05"), **kwargs}
    return pr.compute(FLOWS, at=at, discount_rate_pct=RATE, **params)


def test_cfads_is_revenue_less_costs_tax_capex_working_capital_plus_reserve_release():
    # 2,000 revenue - 400 opex - 100 tax - 50 maintenance capex - 30 more working capital + 10 released
    # from the reserve = 1,430 (the 2025 CFADS above).
    value = pr.cfads(
        revenue=D("2000"),
        operating_costs=D("400"),
        tax=D("100"),
        maintenance_capex=D("50"),
        working_capital_change=D("30"),
        reserve_movement=D("10"),
    )
    assert value == D("1430")
    # Paying 10 into the reserve instead (a negative movement) leaves 20 less.
    assert value - pr.cfads(
        revenue=D("2000"),
        operating_costs=D("400"),
        tax=D("100"),
        maintenance_capex=D("50"),
        working_capital_change=D("30"),
        reserve_movement=D("-10"),
    ) == D("20")


def test_dscr_per_period_min_and_average_over_the_loan_life():
    result = ratios(date(2024, 12, 31))
    assert [p.dscr for p in result.periods] == [D("1.3000"), D("1.1000"), D("1.2000"), None]
    assert [p.debt_service for p in result.periods] == [D("1100"), D("1220"), D("1320"), D("0")]
    assert result.min_dscr == D("1.1000")
    # (1.3 + 1.1 + 1.2) / 3 = 3.6 / 3 = 1.2; the post-loan year has no DSCR and is not averaged.
    assert result.avg_dscr == D("1.2000")
    # The loan life does not depend on the date asked about.
    assert ratios(date(2026, 12, 31)).min_dscr == D("1.1000")


def test_llcr_and_plcr_at_financial_close():
    # At 31 Dec 2024, discounting whole years at 10 % (30E/360: each year is exactly 1):
    #   1,430 / 1.1     = 1,300.000000
    #   1,342 / 1.21    = 1,109.090909
    #   1,584 / 1.331   = 1,190.082645
    #   NPV over the loan life = 3,599.173554; debt outstanding 3,000
    #   LLCR = 3,599.173554 / 3,000 = 1.199724 -> 1.1997
    #   + 1,500 / 1.4641 = 1,024.520183 -> NPV over the project life 4,623.693737
    #   PLCR = 4,623.693737 / 3,000 = 1.541231 -> 1.5412
    result = ratios(date(2024, 12, 31))
    assert result.debt_outstanding == D("3000")
    assert result.npv_loan_life == D("3599.17")
    assert result.npv_project_life == D("4623.69")
    assert result.llcr == D("1.1997")
    assert result.plcr == D("1.5412")
    assert result.discount_rate_pct == D("10")


def test_llcr_a_year_later_and_with_the_dsra():
    # At 31 Dec 2025 the 2025 period is behind us; 2,200 is still to be repaid:
    #   1,342 / 1.1 = 1,220.000000;  1,584 / 1.21 = 1,309.090909;  NPV = 2,529.090909
    #   LLCR = 2,529.090909 / 2,200 = 1.149587 -> 1.1496
    result = ratios(date(2025, 12, 31))
    assert result.debt_outstanding == D("2200")
    assert result.npv_loan_life == D("2529.09")
    assert result.llcr == D("1.1496")
    # A DSRA of 550 counted by the facility: (2,529.090909 + 550) / 2,200 = 1.399587 -> 1.3996
    with_dsra = ratios(date(2025, 12, 31), dsra_balance=D("550"), llcr_includes_dsra=True)
    assert with_dsra.llcr == D("1.3996")
    assert with_dsra.dsra_counted == D("550")
    # The balance is ignored unless the facility counts it.
    assert ratios(date(2025, 12, 31), dsra_balance=D("550")).llcr == D("1.1496")


def test_a_date_inside_a_period_discounts_the_stub():
    # At 30 Jun 2026: the 2026 period is half a year away (30E/360: 180 / 360 = 0.5), 2027 a year more.
    #   1,342 / (1 + 0.10 x 0.5)         = 1,342 / 1.05   = 1,278.095238
    #   1,584 / (1.05 x 1.10)            = 1,584 / 1.155  = 1,371.428571
    #   NPV = 2,649.523810;  LLCR = 2,649.523810 / 2,200 = 1.204329 -> 1.2043
    result = ratios(date(2026, 6, 30))
    assert result.npv_loan_life == D("2649.52")
    assert result.llcr == D("1.2043")


def test_lockup_and_default_against_the_thresholds():
    # At 31 Dec 2026 the latest period tested is 2026: DSCR 1.1 < lock-up 1.15 but >= default 1.05.
    result = ratios(date(2026, 12, 31))
    assert (result.tested_period_end, result.tested_dscr) == (date(2026, 12, 31), D("1.1000"))
    assert result.lockup is True
    assert result.default is False
    # At 31 Dec 2027 (DSCR 1.2) neither.
    later = ratios(date(2027, 12, 31))
    assert (later.lockup, later.default) == (False, False)
    # Default below 1.15: 1.1 < 1.15.
    assert ratios(date(2026, 12, 31), lockup_dscr=D("1.20"), default_dscr=D("1.15")).default is True
    # Before operations the first projected period is tested (2025: 1.3).
    assert ratios(date(2024, 12, 31)).tested_dscr == D("1.3000")


def test_after_the_loan_is_repaid_there_is_no_llcr():
    result = ratios(date(2027, 12, 31))
    assert result.debt_outstanding == D("0")
    assert result.llcr is None
    assert result.plcr is None


def test_no_flows_no_ratios():
    result = pr.compute(
        [], at=date(2025, 1, 1), discount_rate_pct=RATE, lockup_dscr=D("1.1"), default_dscr=D("1")
    )
    assert (result.min_dscr, result.avg_dscr, result.llcr, result.tested_dscr, result.lockup) == (
        None,
        None,
        None,
        None,
        None,
    )


def test_window_dscr_sums_the_periods_of_a_test():
    # Two years together: (1,342 + 1,584) / (1,220 + 1,320) = 2,926 / 2,540 = 1.151968 -> 1.1520
    assert pr.window_dscr(FLOWS, after=date(2025, 12, 31), until=date(2027, 12, 31)) == D("1.1520")
    assert pr.window_dscr(FLOWS, after=date(2028, 12, 31), until=date(2029, 12, 31)) is None
    assert pr.window_dscr(FLOWS, after=date(2027, 12, 31), until=date(2028, 12, 31)) is None


@pytest.mark.parametrize(
    ("start", "end", "fraction"),
    [
        (date(2025, 3, 31), date(2025, 6, 30), D("0.25")),
        (date(2025, 12, 31), date(2026, 12, 31), D("1")),
        (date(2025, 1, 31), date(2025, 2, 28), D("28") / 360),
    ],
)
def test_30e360_year_fraction(start: date, end: date, fraction: D):
    assert pr.year_fraction_30e360(start, end) == fraction
