"""What a covenant measures, when it is tested and what one test says given the data held: functions
without the database (the test run in `services.covenants` reads the data and writes the outcomes).

A financial covenant's value comes from one statement (`origination.ratios`, so the memo and the
covenant read the same number): DSCR, leverage, interest cover (EBIT / interest), current ratio and
gearing are the memo's ratios; capex is the statement's capital expenditure line as entered (the
period's spend, not annualised); net worth is equity, or total assets - total liabilities when equity
was not entered. None means the statement does not hold what the metric needs.
"""

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from lendcrm.monitoring import project_ratios
from lendcrm.monitoring.models import (
    Covenant,
    CovenantKind,
    CovenantMetric,
    CovenantTest,
    Project,
    ProjectCashFlow,
    ReportingDocument,
    TestStatus,
)
from lendcrm.origination import ratios
from lendcrm.origination.models import StatementKind
from lendcrm.origination.ratios import Period

STATEMENT_METRICS = frozenset(
    {"dscr", "leverage", "interest_cover", "current_ratio", "gearing", "capex", "net_worth"}
)
PROJECT_METRICS = frozenset({"project_dscr", "project_llcr"})
VALUE_PLACES = Decimal("0.0001")
# A received statement of this kind satisfies the reporting covenant for its period.
STATEMENT_DOCUMENTS = {
    ReportingDocument.AUDITED_STATEMENTS: StatementKind.AUDITED,
    ReportingDocument.MANAGEMENT_ACCOUNTS: StatementKind.MANAGEMENT,
}


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


# --- the data a chunk of tests reads --------------------------------------------------------------
@dataclass(frozen=True)
class Received:
    statement_id: int
    period: Period
    received_on: date


@dataclass
class ChunkData:
    statements: dict[tuple[int, date, str], Received] = field(default_factory=dict)
    projects: dict[int, tuple[Project, list[ProjectCashFlow]]] = field(default_factory=dict)


# --- evaluating one test --------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    status: str
    value: Decimal | None = None
    threshold: Decimal | None = None
    statement_id: int | None = None
    detail: str = ""


def measure(covenant: Covenant, period_end: date, data: ChunkData) -> tuple[Decimal | None, int | None]:
    if covenant.metric in STATEMENT_METRICS:
        for kind in (StatementKind.AUDITED, StatementKind.MANAGEMENT):
            found = data.statements.get((covenant.facility.borrower_id, period_end, kind))
            if found is not None:
                return statement_metric(covenant.metric, found.period), found.statement_id
        return None, None
    project = data.projects.get(covenant.facility_id)
    if project is None:
        return None, None
    rows = project[1]
    if covenant.metric == CovenantMetric.PROJECT_DSCR:
        actual = [_flow(row) for row in rows if row.is_actual]
        after = previous_test_date(period_end, covenant.frequency_months)
        return project_ratios.window_dscr(actual, after=after, until=period_end), None
    if not rows:
        return None, None
    p = project[0]
    ratios_then = project_ratios.compute(
        [_flow(row) for row in rows],
        at=period_end,
        discount_rate_pct=p.discount_rate_pct,
        lockup_dscr=p.lockup_dscr,
        default_dscr=p.default_dscr,
        dsra_balance=p.dsra_balance,
        llcr_includes_dsra=p.llcr_includes_dsra,
    )
    return ratios_then.llcr, None


def _flow(row: ProjectCashFlow) -> project_ratios.CashFlow:
    return project_ratios.CashFlow(row.period_end, row.cfads, row.principal, row.interest)


def evaluate(
    covenant: Covenant, period_end: date, test: CovenantTest | None, data: ChunkData, as_of: date
) -> Outcome:
    """What the test of `period_end` says on `as_of`, given the data held."""
    due = due_date(period_end, covenant.due_days)
    overdue = as_of > due
    if covenant.kind == CovenantKind.FINANCIAL:
        assert covenant.threshold is not None
        value, statement_id = measure(covenant, period_end, data)
        if value is not None:
            value = value.quantize(VALUE_PLACES)
            passed = complies(value, covenant.bound, covenant.threshold)
            status = TestStatus.PASS if passed else TestStatus.BREACH
            return Outcome(status, value, covenant.threshold, statement_id, "measured")
        if overdue:
            return Outcome(TestStatus.BREACH, None, covenant.threshold, statement_id, "no_data")
        return Outcome(TestStatus.NOT_DUE, None, covenant.threshold, statement_id, "awaiting_data")
    if covenant.kind == CovenantKind.REPORTING and covenant.document in STATEMENT_DOCUMENTS:
        kind = STATEMENT_DOCUMENTS[ReportingDocument(covenant.document)]
        found = data.statements.get((covenant.facility.borrower_id, period_end, kind))
        if found is not None:
            status, detail = (
                (TestStatus.PASS, "received")
                if found.received_on <= due
                else (TestStatus.BREACH, "received_late")
            )
            return Outcome(status, statement_id=found.statement_id, detail=detail)
        if overdue:
            return Outcome(TestStatus.BREACH, detail="not_received")
        return Outcome(TestStatus.NOT_DUE, detail="awaiting_document")
    # Other documents and undertakings: what the monitoring officer attested.
    reporting = covenant.kind == CovenantKind.REPORTING
    if test is not None and test.complied is not None and test.attested_on is not None:
        if not test.complied:
            return Outcome(TestStatus.BREACH, detail="not_complied")
        if reporting and test.attested_on > due:
            return Outcome(TestStatus.BREACH, detail="received_late")
        return Outcome(TestStatus.PASS, detail="received" if reporting else "complied")
    if overdue:
        return Outcome(TestStatus.BREACH, detail="not_received" if reporting else "not_attested")
    return Outcome(TestStatus.NOT_DUE, detail="awaiting_document" if reporting else "awaiting_attestation")


def tested_period_ends(covenant: Covenant, as_of: date) -> list[date]:
    """Every period end up to `as_of`, and the next one (shown as not yet due), within the facility's life."""
    maturity = covenant.facility.maturity_date
    ends = period_ends(covenant.first_test_date, covenant.frequency_months, min(as_of, maturity))
    upcoming = add_months(covenant.first_test_date, len(ends) * covenant.frequency_months)
    if upcoming <= maturity:
        ends.append(upcoming)
    return ends
