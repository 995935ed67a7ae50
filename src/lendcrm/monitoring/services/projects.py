"""Projects and their cash-flow projections: the thresholds a project is tested against, and the periods
whose CFADS and debt service feed DSCR, LLCR and PLCR (`monitoring.project_ratios`)."""

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.concurrency import check_version, locked_row
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.money import CURRENCIES, MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.monitoring import covenant_selectors as sel
from lendcrm.monitoring import project_ratios
from lendcrm.monitoring.models import Project, ProjectCashFlow
from lendcrm.monitoring.services.covenants import require_monitor, run_tests
from lendcrm.parties.selectors import visible_parties
from lendcrm.servicing.models import Facility, Instalment

MAX_PERIODS = 600
# Business-day rules move a due date a few days (a long holiday: up to about ten).
SCHEDULE_SLACK_DAYS = 10
MAX_RATE = Decimal(100)
MAX_RATIO = Decimal(100)
PROJECT_FIELDS = (
    "party_id",
    "facility_id",
    "name",
    "currency",
    "discount_rate_pct",
    "lockup_dscr",
    "default_dscr",
    "dsra_balance",
    "llcr_includes_dsra",
)
# The lines of a period as entered; CFADS is computed from them.
FLOW_LINES = (
    "revenue",
    "operating_costs",
    "tax",
    "maintenance_capex",
    "working_capital_change",
    "reserve_movement",
)
# These may be negative (working capital released; cash paid into a reserve).
SIGNED_LINES = frozenset({"working_capital_change", "reserve_movement"})
Problems = dict[str, list[str]]


def _money_problem(value: object, *, signed: bool = False) -> str | None:
    if isinstance(value, bool) or not isinstance(value, Decimal) or not value.is_finite():
        return _("A decimal number is required.")
    if value != 0 and value.adjusted() + 1 > MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES:
        return _("The number is too large.")
    if value != value.quantize(Decimal(1).scaleb(-MONEY_DECIMAL_PLACES)):
        return _("At most %(n)d decimal places.") % {"n": MONEY_DECIMAL_PLACES}
    if not signed and value < 0:
        return _("May not be negative.")
    return None


def _ratio_problem(value: object, *, low: Decimal, high: Decimal) -> str | None:
    if isinstance(value, bool) or not isinstance(value, Decimal) or not value.is_finite():
        return _("A decimal number is required.")
    if not low <= value <= high:
        return _("Must be between %(low)s and %(high)s.") % {"low": low, "high": high}
    if value != value.quantize(Decimal("0.0001")):
        return _("At most %(n)d decimal places.") % {"n": 4}
    return None


def _project_problems(values: Mapping[str, Any]) -> Problems:
    problems: Problems = {}
    name = values["name"]
    if not isinstance(name, str) or not name.strip():
        problems["name"] = [_("This field may not be blank.")]
    elif len(name) > 200:
        problems["name"] = [_("At most %(n)d characters.") % {"n": 200}]
    if values["currency"] not in CURRENCIES:
        problems["currency"] = [_("Use one of: %(known)s.") % {"known": ", ".join(CURRENCIES)}]
    checks = (
        ("discount_rate_pct", _ratio_problem(values["discount_rate_pct"], low=Decimal(0), high=MAX_RATE)),
        ("lockup_dscr", _ratio_problem(values["lockup_dscr"], low=Decimal(0), high=MAX_RATIO)),
        ("default_dscr", _ratio_problem(values["default_dscr"], low=Decimal(0), high=MAX_RATIO)),
        ("dsra_balance", _money_problem(values["dsra_balance"])),
    )
    for name_, problem in checks:
        if problem:
            problems[name_] = [problem]
    if not problems and values["lockup_dscr"] < values["default_dscr"]:
        problems["lockup_dscr"] = [_("The lock-up threshold must be at or above the default threshold.")]
    if not isinstance(values["llcr_includes_dsra"], bool):
        problems["llcr_includes_dsra"] = [_("Must be true or false.")]
    return problems


def create_project(
    *,
    actor: User,
    party_id: object,
    name: str,
    facility_id: object | None = None,
    currency: str | None = None,
    discount_rate_pct: Decimal | None = None,
    lockup_dscr: Decimal | None = None,
    default_dscr: Decimal | None = None,
    dsra_balance: Decimal = Decimal(0),
    llcr_includes_dsra: bool = False,
) -> Project:
    """A project of a project company (a monitoring officer). Linked to the facility that funds it, the
    currency and the discount rate default to the facility's (the debt's interest rate); the lock-up and
    default thresholds to the settings."""
    party = visible_parties(viewer=actor).filter(pk=row_id(party_id)).first()
    if party is None:
        raise errors.NotFound()
    require_monitor(actor)
    facility: Facility | None = None
    if facility_id is not None:
        facility = sel.visible_facility(viewer=actor, facility_id=facility_id)
        if facility.borrower_id != party.pk:
            raise errors.field_error("facility", _("The facility is not the project company's."))
    values: dict[str, Any] = {
        "name": name,
        "currency": currency or (facility.currency if facility else ""),
        "discount_rate_pct": discount_rate_pct
        if discount_rate_pct is not None
        else (facility.interest_rate_pct if facility else None),
        "lockup_dscr": lockup_dscr if lockup_dscr is not None else settings.LENDCRM_PROJECT_LOCKUP_DSCR,
        "default_dscr": default_dscr if default_dscr is not None else settings.LENDCRM_PROJECT_DEFAULT_DSCR,
        "dsra_balance": dsra_balance,
        "llcr_includes_dsra": llcr_includes_dsra,
    }
    problems = _project_problems(values)
    if facility is not None and values["currency"] != facility.currency and "currency" not in problems:
        problems["currency"] = [_("The project is in its facility's currency.")]
    if problems:
        raise errors.ValidationFailed(field_errors=problems)
    with transaction.atomic():
        values["name"] = values["name"].strip()
        project = Project.objects.create(party=party, facility=facility, created_by=actor, **values)
        audit.record(
            actor=actor,
            action="project.created",
            object_type="project",
            object_id=project.pk,
            party_id=party.pk,
            changes={"after": audit.snapshot(project, PROJECT_FIELDS)},
        )
    return project


UPDATABLE = frozenset(
    {"name", "discount_rate_pct", "lockup_dscr", "default_dscr", "dsra_balance", "llcr_includes_dsra"}
)


def update_project(
    *, actor: User, project_id: object, changes: Mapping[str, Any], expected_version: int | None = None
) -> Project:
    """Change a project's name, discount rate, thresholds or DSRA (a new term sheet, a DSRA movement)."""
    unknown = sorted(set(changes) - UPDATABLE)
    if unknown:
        raise errors.ValidationFailed(field_errors={name: [_("Unknown field.")] for name in unknown})
    with transaction.atomic():
        project = locked_row(sel.visible_projects(viewer=actor), row_id(project_id))
        require_monitor(actor)
        check_version(project, expected_version)
        before = audit.snapshot(project, PROJECT_FIELDS)
        values = {**{name: getattr(project, name) for name in PROJECT_FIELDS}, **changes}
        problems = _project_problems(values)
        if problems:
            raise errors.ValidationFailed(field_errors=problems)
        for name, value in changes.items():
            setattr(project, name, value.strip() if name == "name" else value)
        project.version += 1
        project.save()
        audit.record(
            actor=actor,
            action="project.updated",
            object_type="project",
            object_id=project.pk,
            party_id=project.party_id,
            changes=audit.diff(before, audit.snapshot(project, PROJECT_FIELDS)),
        )
        _retest(project)
    return project


def _row_problems(index: int, row: object) -> tuple[dict[str, Any], Problems]:
    key = f"rows[{index}]"
    if not isinstance(row, Mapping):
        return {}, {key: [_("Each period is an object.")]}
    problems: Problems = {}
    clean: dict[str, Any] = {}
    period_end = row.get("period_end")
    if not isinstance(period_end, date) or isinstance(period_end, datetime):
        problems[f"{key}.period_end"] = [_("A date is required.")]
    clean["period_end"] = period_end
    for name in (*FLOW_LINES, "principal", "interest"):
        value = row.get(name, Decimal(0))
        problem = _money_problem(value, signed=name in SIGNED_LINES)
        if problem:
            problems[f"{key}.{name}"] = [problem]
        clean[name] = value
    is_actual = row.get("is_actual", False)
    if not isinstance(is_actual, bool):
        problems[f"{key}.is_actual"] = [_("Must be true or false.")]
    clean["is_actual"] = is_actual
    unknown = sorted(set(row) - {*FLOW_LINES, "principal", "interest", "is_actual", "period_end"})
    for name in unknown:
        problems[f"{key}.{name}"] = [_("Unknown field.")]
    return clean, problems


def _scheduled(facility: Facility | None, ends: Sequence[date]) -> dict[date, tuple[Decimal, Decimal]]:
    """Principal and interest of the facility's current schedule falling in each period (one query):
    instalments due after the previous period end and on or before this one, where a due date up to
    SCHEDULE_SLACK_DAYS after a period end still counts in that period (a business-day rule moved it
    past a weekend or a holiday); the first period takes everything due up to its end."""
    if facility is None or facility.schedule_version == 0 or not ends:
        return {}
    slack = timedelta(days=SCHEDULE_SLACK_DAYS)
    lines = Instalment.objects.filter(
        facility=facility,
        schedule_version=facility.schedule_version,
        due_date__lte=ends[-1] + slack if ends[-1] <= date.max - slack else date.max,
    ).values_list("due_date", "principal", "interest")
    out: dict[date, tuple[Decimal, Decimal]] = {}
    for due, principal, interest in lines:
        end = next(e for e in ends if due - slack <= e)
        p, i = out.get(end, (Decimal(0), Decimal(0)))
        out[end] = (p + principal, i + interest)
    return out


def save_cash_flows(
    *,
    actor: User,
    project_id: object,
    rows: Sequence[Mapping[str, Any]],
    expected_version: int | None = None,
) -> list[ProjectCashFlow]:
    """Replace the project's projection with `rows` (one per period end). CFADS is computed; the debt
    service of a period comes from the linked facility's current schedule when it has instalments in
    that period, else from the row. The project's covenants are tested again."""
    if not isinstance(rows, Sequence) or isinstance(rows, str | bytes) or len(rows) > MAX_PERIODS:
        raise errors.field_error("rows", _("Give at most %(n)d periods.") % {"n": MAX_PERIODS})
    problems: Problems = {}
    clean_rows: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        clean, row_problems = _row_problems(index, row)
        problems.update(row_problems)
        clean_rows.append(clean)
    if problems:
        raise errors.ValidationFailed(field_errors=problems)
    ends = [r["period_end"] for r in clean_rows]
    if len(set(ends)) != len(ends):
        raise errors.field_error("rows", _("Each period end appears once."))
    clean_rows.sort(key=lambda r: r["period_end"])
    with transaction.atomic():
        project = locked_row(
            sel.visible_projects(viewer=actor).select_related("facility"), row_id(project_id)
        )
        require_monitor(actor)
        check_version(project, expected_version)
        scheduled = _scheduled(project.facility, sorted(ends))
        flows = []
        for r in clean_rows:
            principal, interest = scheduled.get(r["period_end"], (r["principal"], r["interest"]))
            flows.append(
                ProjectCashFlow(
                    project=project,
                    period_end=r["period_end"],
                    **{name: r[name] for name in FLOW_LINES},
                    cfads=project_ratios.cfads(**{name: r[name] for name in FLOW_LINES}),
                    principal=principal,
                    interest=interest,
                    is_actual=r["is_actual"],
                )
            )
        ProjectCashFlow.objects.filter(project=project).delete()
        ProjectCashFlow.objects.bulk_create(flows)
        project.version += 1
        project.save(update_fields=["version", "updated_at"])
        audit.record(
            actor=actor,
            action="project.cash_flows_saved",
            object_type="project",
            object_id=project.pk,
            party_id=project.party_id,
            changes={
                "periods": len(flows),
                "from_schedule": sorted(scheduled),
                "first": ends and min(ends),
                "last": ends and max(ends),
            },
        )
        _retest(project)
    return flows


def _retest(project: Project) -> None:
    if project.facility_id is not None:
        run_tests(as_of=timezone.localdate(), facility_ids=[project.facility_id])
