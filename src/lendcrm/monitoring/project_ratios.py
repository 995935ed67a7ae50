"""Project-finance cover ratios from a cash-flow projection: pure functions, exact in `Decimal`.

Conventions (DOMAIN.md, with the choices it leaves open):
* CFADS = revenue - operating costs - tax - maintenance capex - change in working capital + reserve
  movements. An increase in working capital (a positive change) uses cash; a positive reserve movement
  is a release from a reserve account into the cash available, a negative one is a payment into it.
* DSCR_t = CFADS_t / (principal_t + interest_t); undefined (None) in a period without debt service.
  Minimum and average DSCR are taken over the loan life: every period with debt service, whatever the
  date asked about; the average is the arithmetic mean of the period DSCRs.
* LLCR at a date = (NPV of CFADS of the periods ending after the date up to the last period with debt
  service, + the DSRA balance when the project says so) / debt outstanding at the date (the principal
  still to be repaid in those periods). PLCR: the same NPV over every remaining period of the project.
* Discounting compounds period by period at the stated annual rate: each period's factor is
  1 / (1 + rate x τ), τ the period's year fraction on 30E/360 (whole months count as twelfths, so
  quarterly and annual periods discount exactly at rate/4 and rate), the first period measured from
  the date asked about. A period ending after the date counts whole.
* Lock-up and default are tested on the DSCR of the latest period with debt service ending on or
  before the date (before the first one, on the first projected period): below the lock-up threshold
  distributions are locked up; below the default threshold it is an event of default.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

RATIO_PLACES = Decimal("0.0001")
CENT = Decimal("0.01")
ZERO = Decimal(0)


def cfads(
    *,
    revenue: Decimal,
    operating_costs: Decimal,
    tax: Decimal,
    maintenance_capex: Decimal,
    working_capital_change: Decimal,
    reserve_movement: Decimal,
) -> Decimal:
    return revenue - operating_costs - tax - maintenance_capex - working_capital_change + reserve_movement


@dataclass(frozen=True)
class CashFlow:
    period_end: date
    cfads: Decimal
    principal: Decimal
    interest: Decimal

    @property
    def debt_service(self) -> Decimal:
        return self.principal + self.interest


@dataclass(frozen=True)
class PeriodRatio:
    period_end: date
    cfads: Decimal
    debt_service: Decimal
    dscr: Decimal | None


@dataclass(frozen=True)
class Ratios:
    at: date
    discount_rate_pct: Decimal
    periods: tuple[PeriodRatio, ...]
    min_dscr: Decimal | None
    avg_dscr: Decimal | None
    debt_outstanding: Decimal
    npv_loan_life: Decimal
    npv_project_life: Decimal
    dsra_counted: Decimal
    llcr: Decimal | None
    plcr: Decimal | None
    tested_period_end: date | None
    tested_dscr: Decimal | None
    lockup: bool | None
    default: bool | None


def year_fraction_30e360(start: date, end: date) -> Decimal:
    """30E/360 (Eurobond basis): each day of month above 30 counts as 30."""
    d1, d2 = min(start.day, 30), min(end.day, 30)
    days = 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)
    return Decimal(days) / 360


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if denominator == 0:
        return None
    return (numerator / denominator).quantize(RATIO_PLACES)


def dscr(flow: CashFlow) -> Decimal | None:
    return _ratio(flow.cfads, flow.debt_service)


def discounted(flows: Sequence[CashFlow], *, at: date, rate_pct: Decimal) -> list[Decimal]:
    """Each flow ending after `at` times its discount factor back to `at` (not rounded)."""
    rate = rate_pct / 100
    factor = Decimal(1)
    previous = at
    out: list[Decimal] = []
    for flow in flows:
        if flow.period_end <= at:
            continue
        factor /= 1 + rate * year_fraction_30e360(previous, flow.period_end)
        out.append(flow.cfads * factor)
        previous = flow.period_end
    return out


def compute(
    flows: Sequence[CashFlow],
    *,
    at: date,
    discount_rate_pct: Decimal,
    lockup_dscr: Decimal,
    default_dscr: Decimal,
    dsra_balance: Decimal = ZERO,
    llcr_includes_dsra: bool = False,
) -> Ratios:
    """Every ratio of the projection at the date `at` (see the module's conventions)."""
    flows = sorted(flows, key=lambda flow: flow.period_end)
    periods = tuple(PeriodRatio(f.period_end, f.cfads, f.debt_service, dscr(f)) for f in flows)
    serviced = [p for p in periods if p.debt_service > 0 and p.dscr is not None]
    min_dscr = min((p.dscr for p in serviced if p.dscr is not None), default=None)
    avg_dscr = None
    if serviced:
        total = sum((p.dscr for p in serviced if p.dscr is not None), ZERO)
        avg_dscr = (total / len(serviced)).quantize(RATIO_PLACES)
    loan_end = max((f.period_end for f in flows if f.debt_service > 0), default=None)
    remaining = [f for f in flows if f.period_end > at]
    values = discounted(remaining, at=at, rate_pct=discount_rate_pct)
    npv_project = sum(values, ZERO)
    npv_loan = sum(
        (v for f, v in zip(remaining, values, strict=True) if loan_end and f.period_end <= loan_end), ZERO
    )
    outstanding = sum((f.principal for f in remaining), ZERO)
    dsra = dsra_balance if llcr_includes_dsra else ZERO
    llcr = _ratio(npv_loan + dsra, outstanding) if outstanding > 0 else None
    plcr = _ratio(npv_project + dsra, outstanding) if outstanding > 0 else None
    past = [p for p in serviced if p.period_end <= at]
    tested = past[-1] if past else (serviced[0] if serviced else None)
    tested_dscr = tested.dscr if tested else None
    return Ratios(
        at=at,
        discount_rate_pct=discount_rate_pct,
        periods=periods,
        min_dscr=min_dscr,
        avg_dscr=avg_dscr,
        debt_outstanding=outstanding,
        npv_loan_life=npv_loan.quantize(CENT),
        npv_project_life=npv_project.quantize(CENT),
        dsra_counted=dsra,
        llcr=llcr,
        plcr=plcr,
        tested_period_end=tested.period_end if tested else None,
        tested_dscr=tested_dscr,
        lockup=None if tested_dscr is None else tested_dscr < lockup_dscr,
        default=None if tested_dscr is None else tested_dscr < default_dscr,
    )


def window_dscr(flows: Sequence[CashFlow], *, after: date, until: date) -> Decimal | None:
    """DSCR over the periods ending in (after, until]: their CFADS over their debt service, summed."""
    inside = [f for f in flows if after < f.period_end <= until]
    if not inside:
        return None
    return _ratio(sum((f.cfads for f in inside), ZERO), sum((f.debt_service for f in inside), ZERO))
