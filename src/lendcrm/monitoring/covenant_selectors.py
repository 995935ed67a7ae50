"""Every read of covenants, their tests and projects, scoped to the viewer through the borrower (the
facility's borrower, the project company): out of scope is not found."""

from datetime import date, timedelta
from typing import Any

from django.db.models import Prefetch, QuerySet

from lendcrm.core import errors
from lendcrm.core.access import party_scope
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.selectors import given
from lendcrm.monitoring import project_ratios
from lendcrm.monitoring.models import Covenant, CovenantTest, Project, ProjectCashFlow, TestStatus
from lendcrm.origination import ratios
from lendcrm.origination.figures import PeriodRatios
from lendcrm.origination.models import FinancialStatement
from lendcrm.origination.selectors import get_statement
from lendcrm.servicing.models import Facility


def _scoped(qs: QuerySet[Any], viewer: User, via: str) -> QuerySet[Any]:
    scope = party_scope(viewer, via=via)
    return qs if scope is None else qs.filter(scope)


def visible_facility(*, viewer: User, facility_id: object) -> Facility:
    found = _scoped(Facility.objects.all(), viewer, "borrower").filter(pk=row_id(facility_id)).first()
    if found is None:
        raise errors.NotFound()
    return found


# --- covenants ------------------------------------------------------------------------------------
def visible_covenants(*, viewer: User) -> QuerySet[Covenant]:
    return _scoped(Covenant.objects.all(), viewer, "facility__borrower")


def covenant_list(
    *,
    viewer: User,
    facility_id: int | None = None,
    party_id: int | None = None,
    kind: str | None = None,
    active: bool | None = None,
) -> QuerySet[Covenant]:
    """Covenants the viewer may see, by facility then id, with the facility and its borrower."""
    return given(
        visible_covenants(viewer=viewer),
        facility_id=facility_id,
        facility__borrower_id=party_id,
        kind=kind,
        is_active=active,
    ).select_related("facility", "facility__borrower")


def get_covenant(*, viewer: User, covenant_id: object) -> Covenant:
    found = (
        visible_covenants(viewer=viewer)
        .select_related("facility", "facility__borrower")
        .filter(pk=row_id(covenant_id))
        .first()
    )
    if found is None:
        raise errors.NotFound()
    return found


# --- tests ----------------------------------------------------------------------------------------
def visible_tests(*, viewer: User) -> QuerySet[CovenantTest]:
    return _scoped(CovenantTest.objects.all(), viewer, "covenant__facility__borrower")


def _listed_tests(qs: QuerySet[CovenantTest]) -> QuerySet[CovenantTest]:
    return qs.select_related(
        "covenant", "covenant__facility", "covenant__facility__borrower", "waiver_requested_by", "waived_by"
    )


def covenant_test_list(
    *,
    viewer: User,
    covenant_id: int | None = None,
    facility_id: int | None = None,
    party_id: int | None = None,
    status: str | None = None,
) -> QuerySet[CovenantTest]:
    """Tests the viewer may see, newest period first."""
    return _listed_tests(
        given(
            visible_tests(viewer=viewer),
            covenant_id=covenant_id,
            covenant__facility_id=facility_id,
            covenant__facility__borrower_id=party_id,
            status=status,
        )
    ).order_by("-period_end", "covenant_id", "id")


def get_covenant_test(*, viewer: User, test_id: object) -> CovenantTest:
    found = _listed_tests(visible_tests(viewer=viewer)).filter(pk=row_id(test_id)).first()
    if found is None:
        raise errors.NotFound()
    return found


def upcoming_tests(*, viewer: User, as_of: date, until: date | None = None) -> QuerySet[CovenantTest]:
    """Tests not yet due whose due date falls in [as_of, until] (30 days by default), soonest first, with
    covenant, facility and borrower (one query; the portfolio and oversight views)."""
    until = until or as_of + timedelta(days=30)
    return _listed_tests(
        visible_tests(viewer=viewer).filter(
            status=TestStatus.NOT_DUE, due_date__gte=as_of, due_date__lte=until, covenant__is_active=True
        )
    ).order_by("due_date", "id")


def breaches(*, viewer: User, party_id: int | None = None) -> QuerySet[CovenantTest]:
    """Tests in breach, or in breach with a waiver asked for, newest period first (oversight, portfolio)."""
    return _listed_tests(
        given(
            visible_tests(viewer=viewer).filter(status__in=[TestStatus.BREACH, TestStatus.WAIVER_REQUESTED]),
            covenant__facility__borrower_id=party_id,
        )
    ).order_by("-period_end", "id")


# --- projects -------------------------------------------------------------------------------------
def visible_projects(*, viewer: User) -> QuerySet[Project]:
    return _scoped(Project.objects.all(), viewer, "party")


def project_list(
    *, viewer: User, party_id: int | None = None, facility_id: int | None = None
) -> QuerySet[Project]:
    return given(visible_projects(viewer=viewer), party_id=party_id, facility_id=facility_id).select_related(
        "party", "facility"
    )


def get_project(*, viewer: User, project_id: object) -> Project:
    found = (
        visible_projects(viewer=viewer)
        .select_related("party", "facility")
        .filter(pk=row_id(project_id))
        .first()
    )
    if found is None:
        raise errors.NotFound()
    return found


def cash_flows(project: Project) -> list[ProjectCashFlow]:
    return list(ProjectCashFlow.objects.filter(project=project).order_by("period_end"))


def as_flows(rows: list[ProjectCashFlow]) -> list[project_ratios.CashFlow]:
    return [project_ratios.CashFlow(r.period_end, r.cfads, r.principal, r.interest) for r in rows]


def ratios_of(project: Project, rows: list[ProjectCashFlow], at: date) -> project_ratios.Ratios:
    """The project's ratios at `at`, over the given rows, against its own thresholds."""
    return project_ratios.compute(
        as_flows(rows),
        at=at,
        discount_rate_pct=project.discount_rate_pct,
        lockup_dscr=project.lockup_dscr,
        default_dscr=project.default_dscr,
        dsra_balance=project.dsra_balance,
        llcr_includes_dsra=project.llcr_includes_dsra,
    )


def project_ratios_at(project: Project, at: date) -> project_ratios.Ratios:
    """DSCR per period, min/avg DSCR, LLCR and PLCR at `at`, lock-up and default (one query)."""
    return ratios_of(project, cash_flows(project), at)


# --- pages ----------------------------------------------------------------------------------------
def facility_covenants(*, viewer: User, facility_id: object) -> tuple[Facility, list[Covenant]]:
    """A facility with its covenants, each with its tests newest first: three queries."""
    facility = (
        _scoped(Facility.objects.select_related("borrower"), viewer, "borrower")
        .filter(pk=row_id(facility_id))
        .first()
    )
    if facility is None:
        raise errors.NotFound()
    tests = CovenantTest.objects.select_related("waiver_requested_by", "waived_by", "attested_by").order_by(
        "-period_end"
    )
    covenants = list(
        Covenant.objects.filter(facility=facility)
        .prefetch_related(Prefetch("tests", queryset=tests))
        .order_by("-is_active", "kind", "id")
    )
    return facility, covenants


def party_tests(*, viewer: User, party_id: int, limit: int = 20) -> list[CovenantTest]:
    """The latest tests of a party's covenants (the statement page), one query."""
    return list(covenant_test_list(viewer=viewer, party_id=party_id)[:limit])


def facility_projects(facility: Facility) -> list[Project]:
    """The projects a facility funds (the facility is already in the viewer's scope), one query."""
    return list(Project.objects.filter(facility=facility).order_by("name", "id"))


def statement_ratios(*, viewer: User, statement_id: object) -> PeriodRatios:
    """One statement's ratios, growth against the party's previous period of the same kind (three
    queries); 404 out of scope."""
    statement = get_statement(viewer=viewer, statement_id=statement_id)
    previous = (
        FinancialStatement.objects.filter(
            party_id=statement.party_id, kind=statement.kind, period_end__lt=statement.period_end
        )
        .prefetch_related("lines")
        .order_by("-period_end")
        .first()
    )

    def period(s: FinancialStatement) -> ratios.Period:
        return ratios.Period({line.code: line.amount for line in s.lines.all()}, s.period_months)

    return PeriodRatios(
        statement_id=statement.pk,
        period_end=statement.period_end,
        period_months=statement.period_months,
        kind=statement.kind,
        currency=statement.currency,
        ratios=ratios.compute(period(statement), period(previous) if previous else None),
    )
