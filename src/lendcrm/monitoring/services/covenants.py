"""Covenants and their tests: adding a covenant, the set-based test run, attestations, waivers.

One `CovenantTest` per covenant and period end. `run_tests` (the daily job, a statement's submission, a
cash-flow save, an attestation) brings every test of the period ends up to `as_of` — and the next one,
shown as not yet due — in line with the data held, in chunks of covenants with a fixed number of queries
per chunk. A re-run on the same data changes nothing and writes nothing. Waived tests and tests with a
waiver asked for are left as they are. A test that turns into a breach opens one task (its action) for
the facility's monitoring officer, else the borrower's lead RM, else whoever added the covenant.
"""

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lendcrm.core import audit, errors
from lendcrm.core.concurrency import check_version, locked_row
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.roles import MONITORING_ROLES, OVERSIGHT_APPROVER_ROLES
from lendcrm.interactions.services import SystemTask, open_system_tasks
from lendcrm.monitoring import covenant_metrics as cm
from lendcrm.monitoring import covenant_selectors as sel
from lendcrm.monitoring.models import (
    Bound,
    Covenant,
    CovenantKind,
    CovenantMetric,
    CovenantTest,
    Project,
    ProjectCashFlow,
    ReportingDocument,
    TestStatus,
)
from lendcrm.origination.models import FinancialStatement, StatementKind
from lendcrm.origination.ratios import Period
from lendcrm.parties.models import Coverage, CoverageRole
from lendcrm.servicing.models import FacilityStatus

CHUNK = 2000
MAX_THRESHOLD = Decimal("1e17")
MAX_DUE_DAYS = 366
# What a test's `detail` code means (stored as the code, shown in the reader's language).
DETAILS = {
    "measured": gettext_lazy("Measured"),
    "awaiting_data": gettext_lazy("Awaiting data"),
    "no_data": gettext_lazy("No data by the due date"),
    "awaiting_document": gettext_lazy("Awaiting the document"),
    "received": gettext_lazy("Received on time"),
    "received_late": gettext_lazy("Received after the due date"),
    "not_received": gettext_lazy("Not received by the due date"),
    "awaiting_attestation": gettext_lazy("Awaiting attestation"),
    "complied": gettext_lazy("Attested as complied with"),
    "not_complied": gettext_lazy("Attested as not complied with"),
    "not_attested": gettext_lazy("Not attested by the due date"),
}
COVENANT_FIELDS = (
    "facility_id",
    "kind",
    "name",
    "metric",
    "bound",
    "threshold",
    "document",
    "frequency_months",
    "first_test_date",
    "due_days",
    "description",
    "is_active",
)
TEST_FIELDS = ("status", "value", "threshold", "statement", "detail", "tested_at")


def require_monitor(actor: User) -> None:
    if not actor.has_role(*MONITORING_ROLES):
        raise errors.PermissionDenied(_("Covenants are kept by the portfolio monitoring officers."))


# --- the data a chunk of tests reads --------------------------------------------------------------
def _load(covenants: Sequence[Covenant], ends: Iterable[date]) -> cm.ChunkData:
    """Statements of the borrowers for the tested period ends, and the projects of the facilities: at
    most four queries."""
    data = cm.ChunkData()
    parties = {c.facility.borrower_id for c in covenants if _reads_statements(c)}
    if parties:
        rows = (
            FinancialStatement.objects.filter(
                party_id__in=parties,
                kind__in=[StatementKind.AUDITED, StatementKind.MANAGEMENT],
                period_end__in=sorted(set(ends)),
            )
            .prefetch_related("lines")
            .order_by("id")
        )
        for s in rows:
            lines = {line.code: line.amount for line in s.lines.all()}
            received_on = timezone.localdate(s.created_at)
            data.statements[(s.party_id, s.period_end, s.kind)] = cm.Received(
                s.pk, Period(lines, s.period_months), received_on
            )
    facilities = {c.facility_id for c in covenants if c.metric in cm.PROJECT_METRICS}
    if facilities:
        projects = {}
        for project in Project.objects.filter(facility_id__in=facilities).order_by("-id"):
            projects[project.facility_id] = project  # the oldest project of a facility wins
        flows: dict[int, list[ProjectCashFlow]] = {p.pk: [] for p in projects.values()}
        for row in ProjectCashFlow.objects.filter(project_id__in=flows).order_by("period_end"):
            flows[row.project_id].append(row)
        data.projects = {fid: (p, flows[p.pk]) for fid, p in projects.items() if fid is not None}
    return data


def _reads_statements(covenant: Covenant) -> bool:
    if covenant.kind == CovenantKind.FINANCIAL:
        return covenant.metric in cm.STATEMENT_METRICS
    return covenant.kind == CovenantKind.REPORTING and covenant.document in cm.STATEMENT_DOCUMENTS


def _differs(test: CovenantTest, outcome: cm.Outcome) -> bool:
    return (test.status, test.value, test.threshold, test.statement_id, test.detail) != (
        outcome.status,
        outcome.value,
        outcome.threshold,
        outcome.statement_id,
        outcome.detail,
    )


def _apply(test: CovenantTest, outcome: cm.Outcome, now: datetime) -> None:
    test.status, test.value, test.threshold = outcome.status, outcome.value, outcome.threshold
    test.statement_id, test.detail, test.tested_at = outcome.statement_id, outcome.detail, now


# --- the run --------------------------------------------------------------------------------------
def run_tests(
    *,
    as_of: date,
    covenant_ids: Iterable[int] | None = None,
    party_ids: Iterable[int] | None = None,
    facility_ids: Iterable[int] | None = None,
) -> int:
    """Bring the tests of active covenants on active facilities up to `as_of`; returns how many tests
    were created or changed. Set-based and idempotent; audited as the system (actor None)."""
    qs = Covenant.objects.filter(is_active=True, facility__status=FacilityStatus.ACTIVE)
    if covenant_ids is not None:
        qs = qs.filter(pk__in=list(covenant_ids))
    if party_ids is not None:
        qs = qs.filter(facility__borrower_id__in=list(party_ids))
    if facility_ids is not None:
        qs = qs.filter(facility_id__in=list(facility_ids))
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    changed = 0
    for start in range(0, len(ids), CHUNK):
        with transaction.atomic():
            changed += _run_chunk(ids[start : start + CHUNK], as_of)
    return changed


def _run_chunk(ids: Sequence[int], as_of: date) -> int:
    # The covenants are locked (in id order, so two runs never deadlock): a statement's submission and
    # the daily job testing the same covenant at once take turns instead of inserting the same test twice.
    covenants = list(
        Covenant.objects.filter(pk__in=ids)
        .select_related("facility", "facility__borrower")
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    existing = {(t.covenant_id, t.period_end): t for t in CovenantTest.objects.filter(covenant_id__in=ids)}
    ends = {covenant.pk: cm.tested_period_ends(covenant, as_of) for covenant in covenants}
    data = _load(covenants, (end for dates in ends.values() for end in dates))
    now = timezone.now()
    created: list[CovenantTest] = []
    updated: list[CovenantTest] = []
    for covenant in covenants:
        for period_end in ends[covenant.pk]:
            test = existing.get((covenant.pk, period_end))
            if test is not None and test.status in (TestStatus.WAIVED, TestStatus.WAIVER_REQUESTED):
                continue
            outcome = cm.evaluate(covenant, period_end, test, data, as_of)
            if test is None:
                test = CovenantTest(
                    covenant=covenant,
                    period_end=period_end,
                    due_date=cm.due_date(period_end, covenant.due_days),
                )
                _apply(test, outcome, now)
                created.append(test)
            elif _differs(test, outcome):
                test.covenant = covenant  # loaded with its facility: the actions read them
                _apply(test, outcome, now)
                updated.append(test)
    if not created and not updated:
        return 0
    CovenantTest.objects.bulk_create(created)
    if updated:
        CovenantTest.objects.bulk_update(
            updated, ["status", "value", "threshold", "statement", "detail", "tested_at"]
        )
    touched = created + updated
    opened = _open_actions(
        [t for t in touched if t.status == TestStatus.BREACH and t.action_id is None], as_of
    )
    audit.record(
        actor=None,
        action="covenant_tests.run",
        object_type="covenant_test_run",
        object_id=as_of.isoformat(),
        changes={
            "as_of": as_of,
            "tests": [
                {
                    "id": t.pk,
                    "covenant": t.covenant_id,
                    "period_end": t.period_end,
                    "status": t.status,
                    "value": t.value,
                }
                for t in touched
            ],
            "actions_opened": opened,
        },
    )
    return len(touched)


def _open_actions(breached: list[CovenantTest], as_of: date) -> list[int]:
    """One task per newly breached test, for whoever answers for the facility (two queries)."""
    if not breached:
        return []
    parties = {t.covenant.facility.borrower_id for t in breached}
    leads = dict(
        Coverage.objects.filter(party_id__in=parties, role=CoverageRole.LEAD).values_list(
            "party_id", "user_id"
        )
    )
    due = as_of + timedelta(days=int(settings.LENDCRM_COVENANT_ACTION_DAYS))
    tasks = []
    for test in breached:
        covenant = test.covenant
        facility = covenant.facility
        assignee = facility.monitor_id or leads.get(facility.borrower_id) or covenant.created_by_id
        tasks.append(
            SystemTask(
                party_id=facility.borrower_id,
                assignee_id=assignee,
                title=_("Covenant breach: %(name)s (%(facility)s, period ending %(period)s)")
                % {
                    "name": covenant.name,
                    "facility": facility.reference,
                    "period": test.period_end.isoformat(),
                },
                due_date=due,
                description=str(DETAILS.get(test.detail, test.detail)),
            )
        )
    opened = open_system_tasks(tasks=tasks)
    for test, task in zip(breached, opened, strict=True):
        test.action_id = task.pk
    CovenantTest.objects.bulk_update(breached, ["action"])
    return [task.pk for task in opened]


# --- adding a covenant ----------------------------------------------------------------------------
def _covenant_problems(values: dict[str, Any], facility_start: date, maturity: date) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    kind = values["kind"]
    name = values["name"]
    if kind not in CovenantKind.values:
        problems["kind"] = [_("Unknown kind of covenant.")]
    if not isinstance(name, str) or not name.strip():
        problems["name"] = [_("This field may not be blank.")]
    elif len(name) > 200:
        problems["name"] = [_("At most %(n)d characters.") % {"n": 200}]
    if not isinstance(values["description"], str) or len(values["description"]) > 5000:
        problems["description"] = [_("At most %(n)d characters.") % {"n": 5000}]
    if kind == CovenantKind.FINANCIAL:
        if values["metric"] not in CovenantMetric.values:
            problems["metric"] = [_("Choose what the covenant measures.")]
        if values["bound"] not in Bound.values:
            problems["bound"] = [_("Choose at least or at most.")]
        threshold = values["threshold"]
        if not isinstance(threshold, Decimal) or not threshold.is_finite() or abs(threshold) >= MAX_THRESHOLD:
            problems["threshold"] = [_("A decimal number is required.")]
        elif threshold != threshold.quantize(cm.VALUE_PLACES):
            problems["threshold"] = [_("At most %(n)d decimal places.") % {"n": 4}]
    elif kind == CovenantKind.REPORTING and values["document"] not in ReportingDocument.values:
        problems["document"] = [_("Choose the document to be delivered.")]
    if values["frequency_months"] not in (1, 3, 6, 12):
        problems["frequency_months"] = [_("Choose 1, 3, 6 or 12 months.")]
    due_days = values["due_days"]
    if isinstance(due_days, bool) or not isinstance(due_days, int) or not 0 <= due_days <= MAX_DUE_DAYS:
        problems["due_days"] = [_("Must be between %(low)d and %(high)d.") % {"low": 0, "high": MAX_DUE_DAYS}]
    first = values["first_test_date"]
    if not isinstance(first, date) or isinstance(first, datetime):
        problems["first_test_date"] = [_("A date is required.")]
    elif not facility_start < first <= maturity:
        problems["first_test_date"] = [_("The first test falls after the start and by the maturity.")]
    return problems


def add_covenant(
    *,
    actor: User,
    facility_id: object,
    kind: str,
    name: str,
    first_test_date: date,
    frequency_months: int = 12,
    due_days: int = 0,
    metric: str = "",
    bound: str = "",
    threshold: Decimal | None = None,
    document: str = "",
    description: str = "",
) -> Covenant:
    """Attach a covenant to a facility (a monitoring officer) and run its tests as of today."""
    facility = sel.visible_facility(viewer=actor, facility_id=facility_id)
    require_monitor(actor)
    values: dict[str, Any] = {
        "kind": kind,
        "name": name,
        "metric": metric if kind == CovenantKind.FINANCIAL else "",
        "bound": bound if kind == CovenantKind.FINANCIAL else "",
        "threshold": threshold if kind == CovenantKind.FINANCIAL else None,
        "document": document if kind == CovenantKind.REPORTING else "",
        "frequency_months": frequency_months,
        "first_test_date": first_test_date,
        "due_days": due_days,
        "description": description,
    }
    problems = _covenant_problems(values, facility.start_date, facility.maturity_date)
    if problems:
        raise errors.ValidationFailed(field_errors=problems)
    if facility.status != FacilityStatus.ACTIVE:
        raise errors.Conflict(_("Covenants are added to active facilities."), code="facility_not_active")
    with transaction.atomic():
        values["name"] = values["name"].strip()
        covenant = Covenant.objects.create(facility=facility, created_by=actor, **values)
        audit.record(
            actor=actor,
            action="covenant.added",
            object_type="covenant",
            object_id=covenant.pk,
            party_id=facility.borrower_id,
            changes={"after": audit.snapshot(covenant, COVENANT_FIELDS)},
        )
        _run_chunk([covenant.pk], timezone.localdate())
    return covenant


def set_covenant_active(
    *, actor: User, covenant_id: object, is_active: bool, expected_version: int | None = None
) -> Covenant:
    """Stop testing a covenant (released by the lenders), or test it again; its tests stay."""
    with transaction.atomic():
        covenant = locked_row(sel.visible_covenants(viewer=actor), row_id(covenant_id))
        require_monitor(actor)
        check_version(covenant, expected_version)
        if covenant.is_active != is_active:
            covenant.is_active = is_active
            covenant.version += 1
            covenant.save(update_fields=["is_active", "version", "updated_at"])
            audit.record(
                actor=actor,
                action="covenant.activated" if is_active else "covenant.deactivated",
                object_type="covenant",
                object_id=covenant.pk,
                party_id=covenant.facility.borrower_id,
            )
        if is_active:
            _run_chunk([covenant.pk], timezone.localdate())
    return covenant


# --- attestations ---------------------------------------------------------------------------------
def attest(
    *, actor: User, covenant_id: object, period_end: date, complied: bool, attested_on: date | None = None
) -> CovenantTest:
    """Record that a document was received (or not), or that an undertaking was complied with (or not),
    for one period; the test follows at once."""
    today = timezone.localdate()
    attested_on = attested_on or today
    with transaction.atomic():
        covenant = locked_row(
            sel.visible_covenants(viewer=actor).select_related("facility"), row_id(covenant_id)
        )
        require_monitor(actor)
        if covenant.kind == CovenantKind.FINANCIAL or covenant.document in cm.STATEMENT_DOCUMENTS:
            raise errors.Conflict(
                _("This covenant is tested on the data received, not by attestation."), code="not_attested"
            )
        problems: dict[str, list[str]] = {}
        if not isinstance(period_end, date) or period_end not in cm.tested_period_ends(
            covenant, max(today, period_end)
        ):
            problems["period_end"] = [_("Not a test date of this covenant.")]
        if not isinstance(attested_on, date) or attested_on > today:
            problems["attested_on"] = [_("May not be in the future.")]
        if not isinstance(complied, bool):
            problems["complied"] = [_("Must be true or false.")]
        if problems:
            raise errors.ValidationFailed(field_errors=problems)
        test = (
            CovenantTest.objects.select_for_update().filter(covenant=covenant, period_end=period_end).first()
        )
        if test is not None and test.status in (TestStatus.WAIVED, TestStatus.WAIVER_REQUESTED):
            raise errors.Conflict(_("A waiver has been asked for on this test."), code="test_waived")
        if test is None:
            test = CovenantTest.objects.create(
                covenant=covenant, period_end=period_end, due_date=cm.due_date(period_end, covenant.due_days)
            )
        test.complied, test.attested_on, test.attested_by = complied, attested_on, actor
        test.save(update_fields=["complied", "attested_on", "attested_by"])
        audit.record(
            actor=actor,
            action="covenant.attested",
            object_type="covenant_test",
            object_id=test.pk,
            party_id=covenant.facility.borrower_id,
            changes={"period_end": period_end, "complied": complied, "attested_on": attested_on},
        )
        _run_chunk([covenant.pk], today)
        test.refresh_from_db()
    return test


# --- waivers (four-eyes) --------------------------------------------------------------------------
def _locked_test(actor: User, test_id: object) -> CovenantTest:
    """The test in the actor's scope, locked after its covenant (the order a test run locks them in, so
    a run cannot overwrite a waiver being asked for or decided)."""
    found = sel.visible_tests(viewer=actor).filter(pk=row_id(test_id)).values_list("covenant_id", flat=True)
    covenant_id = found.first()
    if covenant_id is None:
        raise errors.NotFound()
    list(Covenant.objects.select_for_update().filter(pk=covenant_id).values_list("pk", flat=True))
    return locked_row(sel.visible_tests(viewer=actor), row_id(test_id))


def request_waiver(*, actor: User, test_id: object, reason: str) -> CovenantTest:
    """Ask for a breach to be waived (a monitoring officer); someone else decides."""
    if not isinstance(reason, str) or not reason.strip():
        raise errors.field_error("reason", _("Give the reason for the waiver."))
    if len(reason) > 5000:
        raise errors.field_error("reason", _("At most %(n)d characters.") % {"n": 5000})
    with transaction.atomic():
        test = _locked_test(actor, test_id)
        require_monitor(actor)
        if test.status != TestStatus.BREACH:
            raise errors.Conflict(_("Only a breach can be waived."), code="not_a_breach")
        test.status = TestStatus.WAIVER_REQUESTED
        test.waiver_reason, test.waiver_requested_by = reason.strip(), actor
        test.waived_by, test.waived_at, test.waiver_note = None, None, ""
        test.save()
        audit.record(
            actor=actor,
            action="covenant_test.waiver_requested",
            object_type="covenant_test",
            object_id=test.pk,
            party_id=test.covenant.facility.borrower_id,
            changes={"reason": test.waiver_reason},
        )
    return test


def decide_waiver(*, actor: User, test_id: object, approve: bool, note: str = "") -> CovenantTest:
    """Approve or refuse a waiver (an oversight approver who did not ask for it)."""
    if not isinstance(note, str) or len(note) > 5000:
        raise errors.field_error("note", _("At most %(n)d characters.") % {"n": 5000})
    if not isinstance(approve, bool):
        raise errors.field_error("approve", _("Must be true or false."))
    with transaction.atomic():
        test = _locked_test(actor, test_id)
        if not actor.has_role(*OVERSIGHT_APPROVER_ROLES):
            raise errors.PermissionDenied(_("Waivers are decided by an approver."))
        if test.status != TestStatus.WAIVER_REQUESTED:
            raise errors.Conflict(_("No waiver has been asked for on this test."), code="no_waiver_requested")
        if test.waiver_requested_by_id == actor.pk:
            raise errors.PermissionDenied(_("Someone other than the requester decides (four-eyes)."))
        test.waiver_note = note.strip()
        if approve:
            test.status, test.waived_by, test.waived_at = TestStatus.WAIVED, actor, timezone.now()
        else:
            test.status = TestStatus.BREACH
        test.save()
        audit.record(
            actor=actor,
            action="covenant_test.waived" if approve else "covenant_test.waiver_refused",
            object_type="covenant_test",
            object_id=test.pk,
            party_id=test.covenant.facility.borrower_id,
            changes={"note": test.waiver_note},
        )
    return test
