"""Properties of the project ratios over random projections (Hypothesis)."""

from datetime import date
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from lendcrm.monitoring import covenant_metrics as cm
from lendcrm.monitoring import project_ratios as pr

amounts = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False)
rates = st.decimals(min_value=0, max_value=25, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def projections(draw: st.DrawFn) -> list[pr.CashFlow]:
    months = draw(st.sampled_from([3, 6, 12]))
    loan_periods = draw(st.integers(min_value=1, max_value=12))
    tail = draw(st.integers(min_value=0, max_value=4))
    first = date(2026, 6, 30)
    flows = []
    for index in range(loan_periods + tail):
        in_loan = index < loan_periods
        principal = draw(amounts.filter(lambda a: a > 0)) if in_loan else D(0)
        interest = draw(amounts) if in_loan else D(0)
        flows.append(pr.CashFlow(cm.add_months(first, index * months), draw(amounts), principal, interest))
    return flows


def compute(flows: list[pr.CashFlow], rate: D, at: date = date(2026, 1, 1)) -> pr.Ratios:
    return pr.compute(flows, at=at, discount_rate_pct=rate, lockup_dscr=D("1.15"), default_dscr=D("1.05"))


@settings(max_examples=300, deadline=None)
@given(projections())
def test_undiscounted_llcr_is_total_cfads_over_debt(flows: list[pr.CashFlow]) -> None:
    result = compute(flows, D(0))
    loan = [f for f in flows if f.debt_service > 0]
    debt = sum((f.principal for f in flows), D(0))
    assert result.debt_outstanding == debt
    assert result.llcr == (sum((f.cfads for f in loan), D(0)) / debt).quantize(pr.RATIO_PLACES)


@settings(max_examples=300, deadline=None)
@given(projections(), rates, rates)
def test_a_higher_rate_never_raises_the_cover(flows: list[pr.CashFlow], low: D, high: D) -> None:
    low, high = min(low, high), max(low, high)
    cheap, dear = compute(flows, low), compute(flows, high)
    assert cheap.llcr is not None
    assert dear.llcr is not None
    assert dear.llcr <= cheap.llcr
    assert dear.plcr is not None
    assert cheap.plcr is not None
    assert dear.plcr <= cheap.plcr
    # The project life includes the loan life: PLCR is at least LLCR when CFADS is never negative.
    assert cheap.plcr >= cheap.llcr


@settings(max_examples=300, deadline=None)
@given(projections())
def test_min_and_average_dscr_bound_each_other(flows: list[pr.CashFlow]) -> None:
    result = compute(flows, D(5))
    dscrs = [p.dscr for p in result.periods if p.dscr is not None]
    if not dscrs:
        assert result.min_dscr is None
        return
    assert result.min_dscr == min(dscrs)
    assert result.avg_dscr is not None
    assert result.min_dscr <= result.avg_dscr <= max(dscrs) + pr.RATIO_PLACES
    assert result.lockup == (result.tested_dscr is not None and result.tested_dscr < D("1.15"))
