"""Projects and their cash flows through the services: CFADS computed, debt service from the linked
facility's schedule, the ratios of the worked example, project covenants tested on save."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent
from lendcrm.monitoring import covenant_selectors as sel
from lendcrm.monitoring.models import CovenantTest, ProjectCashFlow
from lendcrm.monitoring.models import TestStatus as Result
from lendcrm.monitoring.services import covenants, projects
from lendcrm.servicing.models import Instalment
from tests.monitoring.covenant_fixtures import TODAY, facility, monitor
from tests.servicing.factories import booked_facility, borrower_party, relationship_manager

__all__ = ["facility", "monitor"]


def row(period_end: date, revenue: str, opex: str = "0", principal: str = "0", interest: str = "0", **extra):
    return {
        "period_end": period_end,
        "revenue": D(revenue),
        "operating_costs": D(opex),
        "tax": D("0"),
        "maintenance_capex": D("0"),
        "working_capital_change": D("0"),
        "reserve_movement": D("0"),
        "principal": D(principal),
        "interest": D(interest),
        **extra,
    }


# The worked example of test_project_ratios: CFADS 1,430 / 1,342 / 1,584 / 1,500 against debt service
# 1,100 / 1,220 / 1,320 / 0 (revenue less operating costs gives the CFADS).
EXAMPLE = [
    row(date(2025, 12, 31), "2000", "570", principal="800", interest="300"),
    row(date(2026, 12, 31), "2000", "658", principal="1000", interest="220"),
    row(date(2027, 12, 31), "2000", "416", principal="1200", interest="120"),
    row(date(2028, 12, 31), "2000", "500"),
]


@pytest.fixture
def standalone(monitor):
    """A project without a linked facility: its debt service is as entered, discounted at 10 %."""
    party = borrower_party("Qinghai Solar Park SPV")
    return projects.create_project(
        actor=monitor,
        party_id=party.pk,
        name="Qinghai 200 MW solar",
        currency="CNY",
        discount_rate_pct=D("10"),
        lockup_dscr=D("1.15"),
        default_dscr=D("1.05"),
    )


def test_the_worked_example_through_the_service(monitor, standalone):
    flows = projects.save_cash_flows(
        actor=monitor, project_id=standalone.pk, rows=EXAMPLE, expected_version=1
    )
    assert [f.cfads for f in flows] == [D("1430"), D("1342"), D("1584"), D("1500")]
    standalone.refresh_from_db()
    assert standalone.version == 2
    ratios = sel.project_ratios_at(standalone, date(2024, 12, 31))
    assert (ratios.min_dscr, ratios.avg_dscr, ratios.llcr, ratios.plcr) == (
        D("1.1000"),
        D("1.2000"),
        D("1.1997"),
        D("1.5412"),
    )
    later = sel.project_ratios_at(standalone, date(2026, 12, 31))
    assert (later.lockup, later.default) == (True, False)
    assert (
        AuditEvent.objects.filter(action="project.cash_flows_saved", object_id=str(standalone.pk)).count()
        == 1
    )


def test_cfads_uses_every_line(monitor, standalone):
    projects.save_cash_flows(
        actor=monitor,
        project_id=standalone.pk,
        rows=[
            {
                **row(date(2025, 12, 31), "2000", "400", principal="800", interest="300"),
                "tax": D("100"),
                "maintenance_capex": D("50"),
                "working_capital_change": D("30"),
                "reserve_movement": D("10"),
            }
        ],
    )
    assert ProjectCashFlow.objects.get(project=standalone).cfads == D("1430")


def test_saving_replaces_the_projection_and_checks_the_version(monitor, standalone):
    projects.save_cash_flows(actor=monitor, project_id=standalone.pk, rows=EXAMPLE)
    projects.save_cash_flows(actor=monitor, project_id=standalone.pk, rows=EXAMPLE[:2])
    assert ProjectCashFlow.objects.filter(project=standalone).count() == 2
    with pytest.raises(errors.PreconditionFailed):
        projects.save_cash_flows(actor=monitor, project_id=standalone.pk, rows=EXAMPLE, expected_version=1)


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ([row(date(2025, 12, 31), "-1")], "rows[0].revenue"),
        ([row(date(2025, 12, 31), "1.001")], "rows[0].revenue"),
        ([{**row(date(2025, 12, 31), "1"), "period_end": "2025-12-31"}], "rows[0].period_end"),
        ([{**row(date(2025, 12, 31), "1"), "ebitda": D("1")}], "rows[0].ebitda"),
        ([row(date(2025, 12, 31), "1"), row(date(2025, 12, 31), "2")], "rows"),
        (["not a row"], "rows[0]"),
    ],
)
def test_bad_rows_are_refused_and_nothing_changes(monitor, standalone, rows, field):
    projects.save_cash_flows(actor=monitor, project_id=standalone.pk, rows=EXAMPLE)
    with pytest.raises(errors.ValidationFailed) as caught:
        projects.save_cash_flows(actor=monitor, project_id=standalone.pk, rows=rows)
    assert field in caught.value.field_errors
    assert ProjectCashFlow.objects.filter(project=standalone).count() == 4


def test_negative_working_capital_and_reserve_movements_are_allowed(monitor, standalone):
    projects.save_cash_flows(
        actor=monitor,
        project_id=standalone.pk,
        rows=[
            {
                **row(date(2025, 12, 31), "100"),
                "working_capital_change": D("-5"),
                "reserve_movement": D("-20"),
            }
        ],
    )
    # 100 - (-5) + (-20) = 85
    assert ProjectCashFlow.objects.get(project=standalone).cfads == D("85")


def test_debt_service_comes_from_the_linked_facility_schedule(monitor):
    party = borrower_party("Yunnan Hydro SPV")
    facility = booked_facility(
        borrower=party,
        kind="project_finance",
        profile="equal_principal",
        amount=D("3000000.00"),
        tenor_months=36,
        frequency_months=12,
        start_date=TODAY - timedelta(days=30),
    )
    project = projects.create_project(actor=monitor, party_id=party.pk, facility_id=facility.pk, name="Hydro")
    assert (project.currency, project.discount_rate_pct) == ("CNY", facility.interest_rate_pct)
    assert (project.lockup_dscr, project.default_dscr) == (D("1.10"), D("1.05"))
    lines = list(
        Instalment.objects.filter(facility=facility, schedule_version=facility.schedule_version).order_by(
            "number"
        )
    )
    rows = [row(line.due_date, "2000000", principal="1", interest="1") for line in lines]
    rows.append(row(lines[-1].due_date + timedelta(days=365), "2000000"))
    flows = projects.save_cash_flows(actor=monitor, project_id=project.pk, rows=rows)
    assert [(f.principal, f.interest) for f in flows[:-1]] == [
        (line.principal, line.interest) for line in lines
    ]
    assert (flows[-1].principal, flows[-1].interest) == (D("0"), D("0"))  # after maturity: as entered
    # Period ends a few days before the due dates (a due date moved past a weekend or holiday by the
    # business-day rule) still take their instalments.
    early = [{**r, "period_end": r["period_end"] - timedelta(days=3)} for r in rows]
    shifted = projects.save_cash_flows(actor=monitor, project_id=project.pk, rows=early)
    assert [(f.principal, f.interest) for f in shifted[:-1]] == [
        (line.principal, line.interest) for line in lines
    ]
    # A project DSCR covenant tests the actual periods; an LLCR covenant the projection at the test date.
    dscr = covenants.add_covenant(
        actor=monitor,
        facility_id=facility.pk,
        kind="financial",
        name="Historic DSCR at least 1.30x",
        metric="project_dscr",
        bound="min",
        threshold=D("1.30"),
        first_test_date=lines[0].due_date,
        frequency_months=12,
        due_days=60,
    )
    llcr = covenants.add_covenant(
        actor=monitor,
        facility_id=facility.pk,
        kind="financial",
        name="LLCR at least 1.20x",
        metric="project_llcr",
        bound="min",
        threshold=D("1.20"),
        first_test_date=lines[0].due_date,
        frequency_months=12,
    )
    first_dscr = CovenantTest.objects.get(covenant=dscr, period_end=lines[0].due_date)
    assert (first_dscr.status, first_dscr.detail) == (Result.NOT_DUE, "awaiting_data")  # nothing actual yet
    first_llcr = CovenantTest.objects.get(covenant=llcr, period_end=lines[0].due_date)
    assert first_llcr.status == Result.PASS
    expected = sel.project_ratios_at(project, lines[0].due_date).llcr
    assert first_llcr.value == expected
    # The first year's actuals arrive, weaker than planned: CFADS 1,000,000 against the year's debt service.
    actual = [dict(r) for r in rows]
    actual[0] = {**actual[0], "revenue": D("1000000"), "is_actual": True}
    projects.save_cash_flows(actor=monitor, project_id=project.pk, rows=actual)
    first_dscr.refresh_from_db()
    debt_service = lines[0].principal + lines[0].interest
    assert first_dscr.value == (D("1000000") / debt_service).quantize(D("0.0001"))
    assert first_dscr.status == Result.BREACH
    assert first_dscr.action_id is not None


def test_projects_belong_to_the_project_company(monitor, facility):
    other = borrower_party("Someone Else Ltd")
    with pytest.raises(errors.ValidationFailed) as caught:
        projects.create_project(actor=monitor, party_id=other.pk, facility_id=facility.pk, name="x")
    assert "facility" in caught.value.field_errors
    with pytest.raises(errors.ValidationFailed) as caught:
        projects.create_project(actor=monitor, party_id=other.pk, name="x", currency="CNY")
    assert "discount_rate_pct" in caught.value.field_errors
    with pytest.raises(errors.ValidationFailed) as caught:
        projects.create_project(
            actor=monitor,
            party_id=other.pk,
            name="x",
            currency="CNY",
            discount_rate_pct=D("5"),
            lockup_dscr=D("1.0"),
            default_dscr=D("1.1"),
        )
    assert "lockup_dscr" in caught.value.field_errors
    with pytest.raises(errors.PermissionDenied):
        projects.create_project(
            actor=relationship_manager(),
            party_id=other.pk,
            name="x",
            currency="CNY",
            discount_rate_pct=D("5"),
        )


def test_update_project_thresholds(monitor, standalone):
    projects.save_cash_flows(actor=monitor, project_id=standalone.pk, rows=EXAMPLE)
    updated = projects.update_project(
        actor=monitor,
        project_id=standalone.pk,
        changes={"dsra_balance": D("550"), "llcr_includes_dsra": True},
        expected_version=2,
    )
    assert updated.version == 3
    assert sel.project_ratios_at(updated, date(2025, 12, 31)).llcr == D("1.3996")
    with pytest.raises(errors.ValidationFailed):
        projects.update_project(actor=monitor, project_id=standalone.pk, changes={"currency": "USD"})
    with pytest.raises(errors.PreconditionFailed):
        projects.update_project(
            actor=monitor, project_id=standalone.pk, changes={"name": "y"}, expected_version=2
        )
