"""Delegated authority: a borrower's group exposure, routing to the lowest level able to decide, and the
check that an approver may decide now.

Reads, plus the one write of routing (`route_application` stores the required level). Every figure is
computed from the database at the moment of asking, so an approval is judged on the state at approval
time, not on what routing saw. The work is a fixed number of queries whatever the size of the group: the
group is the recursive closure from `parties.graph`, used as a subquery, and the sums are aggregated in SQL
over it (the check: five queries).

Rules, in one place:
* Exposure of the group = requested facilities of this application + facilities of the group's other
  applications that are approved but not yet booked (`EXPOSURE_STATUSES`) + the limits of the group's
  active booked facilities, borrowed by any member of the group (the borrower's parties connected by
  control, group, sponsor or guarantee links), summed per currency and converted to the base currency
  (`risk.to_base`).
* A level's limit covers an application when the group total ≤ its maximum (none: unlimited), the memo's
  grade ≤ its worst grade (higher grades are worse) and every requested product is among its products
  (none listed: all products).
* Routing picks the lowest-ranked level of the active matrix whose limit covers; when none does, the
  highest-ranked level of the matrix (the committee). `services.policy.activate_matrix` refuses a matrix
  whose top level cannot decide everything, so the fallback only matters for a matrix that was activated
  some other way.
* The level required at decision time is the higher of routing now and the level stored on the
  application (routing at submission, or a referral up): exposure that grew since routing raises it,
  a referral is never undone by re-routing.
* When the required level is a committee, only committee votes decide (`services.decisions.cast_vote`);
  otherwise a single approver decides with a non-committee delegation (a committee member's authority is
  exercised only by the committee's vote).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import BooleanField, Case, Exists, OuterRef, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.access import party_scope
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.origination import risk, turnaround, workflow
from lendcrm.origination.models import (
    Application,
    ApplicationFacility,
    AuthorityLevel,
    AuthorityLimit,
    AuthorityMatrix,
    CommitteeVote,
    Condition,
    CreditMemo,
    Decision,
    Delegation,
    MatrixStatus,
    MemoRevision,
    Status,
)
from lendcrm.origination.selectors import visible_applications
from lendcrm.parties import graph
from lendcrm.parties.models import CONNECTING_KINDS, Party

# Approved but not yet booked: each counts against the group until it is booked; then its facilities do.
EXPOSURE_STATUSES = (
    Status.APPROVED,
    Status.APPROVED_WITH_CONDITIONS,
    Status.OFFER_ISSUED,
    Status.OFFER_ACCEPTED,
    Status.CONDITIONS_MET,
    Status.READY_TO_DISBURSE,
)
# A booked facility counts while it is active (servicing.models.FacilityStatus.ACTIVE; servicing imports
# origination, so the value is named here rather than imported).
BOOKED_ACTIVE = "active"
ZERO = Decimal("0.00")


# --- exposure ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExposureMember:
    """A group member with exposure; a `restricted` one (outside the viewer's scope) has no id or name."""

    party_id: int | None
    legal_name: str | None
    local_name: str | None
    restricted: bool
    is_borrower: bool
    existing: Decimal
    requested: Decimal

    @property
    def total(self) -> Decimal:
        return self.existing + self.requested


@dataclass(frozen=True)
class Exposure:
    """The connected group's exposure in the base currency: what it already has and what it asks for."""

    currency: str
    existing: Decimal
    requested: Decimal
    member_count: int | None = None  # parties in the group, borrower included (read with a viewer)
    members: tuple[ExposureMember, ...] = field(default=(), compare=False)
    requested_products: frozenset[int] = field(default=frozenset(), compare=False)

    @property
    def total(self) -> Decimal:
        return self.existing + self.requested


def _existing_sources(application: Application, members: Any, *, by_member: bool) -> QuerySet[Any]:
    """Facilities of the group, by currency and product (and borrower when `by_member`): requested by this
    application, and existing — approved, not yet booked, on the group's other applications, and the limits
    of booked facilities still active (`servicing.Facility`, reached through the approved facility it was
    booked from; a booked application counts by its facilities, a repaid one no longer counts)."""
    this = Q(application_id=application.pk)
    existing = (Q(application__status__in=EXPOSURE_STATUSES) | Q(booked__status=BOOKED_ACTIVE)) & ~this
    keys = ("currency", "product_id", *(("application__borrower_id",) if by_member else ()))
    return (
        ApplicationFacility.objects.filter(application__borrower_id__in=members)
        .filter(this | existing)
        .values(*keys)
        .annotate(
            existing=Sum(Coalesce("booked__limit", "amount"), filter=existing),
            requested=Sum("amount", filter=this),
        )
        .order_by()
    )


def _in_base(amount: Decimal | None, currency: str) -> Decimal:
    if not amount:
        return ZERO
    if not risk.knows_currency(currency):
        raise errors.Conflict(
            _("There is no exchange rate for %(currency)s to sum the group's exposure.")
            % {"currency": currency},
            code="no_fx_rate",
        )
    return risk.to_base(amount, currency)


def group_exposure(application: Application, *, viewer: User | None = None) -> Exposure:
    """The exposure of the borrower's connected group: one query whatever the size of the group; amounts
    are summed per currency, then converted. With a `viewer`, also the group's size and the members that
    have exposure (each converted on its own), those outside the viewer's scope without id or name (two
    more queries)."""
    members = graph.connecting(application.borrower_id, CONNECTING_KINDS)
    by_currency: dict[str, list[Decimal]] = {}
    by_party: dict[int, list[Decimal]] = {}
    products: set[int] = set()
    for row in _existing_sources(application, members, by_member=viewer is not None):
        currency, existing, requested = row["currency"], row["existing"] or ZERO, row["requested"] or ZERO
        sums = by_currency.setdefault(currency, [ZERO, ZERO])
        sums[0] += existing
        sums[1] += requested
        if row["requested"] is not None:
            products.add(row["product_id"])
        if viewer is not None:
            member = by_party.setdefault(row["application__borrower_id"], [ZERO, ZERO])
            member[0] += _in_base(existing, currency)
            member[1] += _in_base(requested, currency)
    count: int | None = None
    rows: tuple[ExposureMember, ...] = ()
    if viewer is not None:
        count = Party.objects.filter(pk__in=members).count()
        rows = _member_rows(viewer, application.borrower_id, by_party)
    return Exposure(
        currency=settings.LENDCRM_BASE_CURRENCY,
        existing=sum((_in_base(s[0], c) for c, s in by_currency.items()), ZERO),
        requested=sum((_in_base(s[1], c) for c, s in by_currency.items()), ZERO),
        member_count=count,
        members=rows,
        requested_products=frozenset(products),
    )


def _member_rows(
    viewer: User, borrower_id: int, by_party: dict[int, list[Decimal]]
) -> tuple[ExposureMember, ...]:
    """The borrower and every member with exposure, largest first; one query."""
    scope = party_scope(viewer)
    flag = (
        Value(True)
        if scope is None
        else Case(When(scope, then=Value(True)), default=Value(False), output_field=BooleanField())
    )
    ids = {borrower_id, *by_party}
    found = (
        Party.objects.filter(pk__in=ids)
        .annotate(visible=flag)
        .values_list("pk", "legal_name", "local_name", "visible")
    )
    rows = []
    for pk, legal_name, local_name, visible in found:
        existing, requested = by_party.get(pk, [ZERO, ZERO])
        rows.append(
            ExposureMember(
                party_id=pk if visible else None,
                legal_name=legal_name if visible else None,
                local_name=local_name if visible else None,
                restricted=not visible,
                is_borrower=pk == borrower_id,
                existing=existing,
                requested=requested,
            )
        )
    rows.sort(key=lambda m: (not m.is_borrower, -m.total, m.restricted, m.legal_name or ""))
    return tuple(rows)


# --- the matrix and routing -----------------------------------------------------------------------
@dataclass(frozen=True)
class Limit:
    """What one level may decide under the active matrix, as plain values."""

    level: AuthorityLevel
    max_group_exposure: Decimal | None
    worst_grade: int
    product_ids: frozenset[int]
    product_codes: tuple[str, ...] = ()

    def covers(self, *, total: Decimal, grade: int, product_ids: Iterable[int]) -> bool:
        return (
            (self.max_group_exposure is None or total <= self.max_group_exposure)
            and grade <= self.worst_grade
            and (not self.product_ids or set(product_ids) <= self.product_ids)
        )


@dataclass(frozen=True)
class ActiveMatrix:
    matrix: AuthorityMatrix
    limits: tuple[Limit, ...]  # by level rank, lowest first

    def limit_for(self, level_id: int) -> Limit | None:
        return next((lim for lim in self.limits if lim.level.pk == level_id), None)


MATRIX_FIELDS = ("id", "number", "status", "currency", "note", "activated_at")
LEVEL_FIELDS = ("id", "slug", "name", "local_name", "rank", "is_committee", "quorum")


def active_matrix() -> ActiveMatrix:
    """The active matrix with its limits, levels and products; one query (a row per limit and product)."""
    rows = (
        AuthorityLimit.objects.filter(matrix__status=MatrixStatus.ACTIVE)
        .order_by("level__rank", "products__code")
        .values(
            "max_group_exposure",
            "worst_grade",
            "products__id",
            "products__code",
            *(f"matrix__{name}" for name in MATRIX_FIELDS),
            *(f"level__{name}" for name in LEVEL_FIELDS),
        )
    )
    by_level: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_level.setdefault(row["level__id"], []).append(row)
    if not by_level:
        raise errors.Conflict(_("No authority matrix is active."), code="no_active_matrix")
    first = next(iter(by_level.values()))[0]
    return ActiveMatrix(
        matrix=AuthorityMatrix(**{name: first[f"matrix__{name}"] for name in MATRIX_FIELDS}),
        limits=tuple(
            Limit(
                level=AuthorityLevel(**{name: found[0][f"level__{name}"] for name in LEVEL_FIELDS}),
                max_group_exposure=found[0]["max_group_exposure"],
                worst_grade=found[0]["worst_grade"],
                product_ids=frozenset(r["products__id"] for r in found if r["products__id"] is not None),
                product_codes=tuple(r["products__code"] for r in found if r["products__code"] is not None),
            )
            for found in by_level.values()
        ),
    )


def lowest_capable(
    limits: Iterable[Limit], *, total: Decimal, grade: int, product_ids: Iterable[int]
) -> Limit:
    """The lowest-ranked limit that covers, or the highest-ranked one when none does."""
    ordered = sorted(limits, key=lambda lim: lim.level.rank)
    wanted = frozenset(product_ids)
    return next(
        (lim for lim in ordered if lim.covers(total=total, grade=grade, product_ids=wanted)), ordered[-1]
    )


@dataclass(frozen=True)
class Assessment:
    """An application as it stands now: its group exposure, grade, products and the level required."""

    exposure: Exposure
    memo: CreditMemo
    grade: int
    product_ids: frozenset[int]
    matrix: ActiveMatrix
    routed: AuthorityLevel  # the lowest capable level now
    required: AuthorityLevel  # routed, raised to the level stored on the application


def assess(application: Application) -> Assessment:
    """Exposure, grade, products and the level required, read now; three queries whatever the group's
    size."""
    memo = CreditMemo.objects.select_related("risk_grade").filter(application_id=application.pk).first()
    if memo is None or memo.risk_grade is None:
        raise errors.Conflict(
            _("The credit memo must give the obligor a risk grade before the application can be decided."),
            code="risk_grade_missing",
        )
    matrix = active_matrix()
    exposure = group_exposure(application)
    product_ids = exposure.requested_products
    grade = memo.risk_grade.grade
    routed = lowest_capable(matrix.limits, total=exposure.total, grade=grade, product_ids=product_ids).level
    required = routed
    stored = _stored_level(application, matrix)
    if stored is not None and stored.rank > routed.rank:
        required = stored
    return Assessment(exposure, memo, grade, product_ids, matrix, routed, required)


def _stored_level(application: Application, matrix: ActiveMatrix) -> AuthorityLevel | None:
    """The level stored on the application, taken from the matrix when it is there (no query)."""
    if application.required_level_id is None:
        return None
    limit = matrix.limit_for(application.required_level_id)
    return limit.level if limit is not None else application.required_level


def route_application(application: Application, *, actor: User | None = None) -> AuthorityLevel:
    """Set and save the lowest level able to decide the application now (see the module docstring). The
    caller holds the application's row lock inside its transaction; a referral's level is replaced."""
    application.required_level_id = None
    found = assess(application)
    application.required_level = found.routed
    application.save(update_fields=["required_level", "updated_at"])
    audit.record(
        actor=actor,
        action="application.routed",
        object_type="application",
        object_id=application.pk,
        party_id=application.borrower_id,
        changes={
            "required_level": found.routed.slug,
            "matrix": found.matrix.matrix.number,
            "group_exposure": found.exposure.total,
            "currency": found.exposure.currency,
            "risk_grade": found.grade,
        },
    )
    return found.routed


# --- the authority check --------------------------------------------------------------------------
def makers(application: Application, memo: CreditMemo | None) -> set[int]:
    """Who prepared the application: its RM and analyst, the memo's analyst, everyone who saved the memo."""
    found = {application.owner_id}
    if application.analyst_id is not None:
        found.add(application.analyst_id)
    if memo is not None:
        found.add(memo.analyst_id)
        found.update(
            MemoRevision.objects.filter(memo_id=memo.pk).values_list("saved_by_id", flat=True).distinct()
        )
    return found


def delegations_in_force(user: User, day: date) -> QuerySet[Delegation]:
    """The user's delegations valid on `day` and not revoked."""
    return Delegation.objects.filter(
        user_id=user.pk, revoked_at__isnull=True, valid_from__lte=day, expires_on__gte=day
    )


def delegations_on(user: User, when: date) -> list[Delegation]:
    """The user's delegations in force on `when`, or PermissionDenied saying why there are none; one query."""
    held = list(Delegation.objects.filter(user_id=user.pk).select_related("level"))
    valid = [d for d in held if d.revoked_at is None and d.valid_from <= when <= d.expires_on]
    if valid:
        return valid
    if any(d.revoked_at is None for d in held):
        raise errors.PermissionDenied(
            _("Your delegated authority is not in force on %(day)s.") % {"day": when.isoformat()},
            code="delegation_expired",
        )
    if held:
        raise errors.PermissionDenied(
            _("Your delegated authority has been revoked."), code="delegation_revoked"
        )
    raise errors.PermissionDenied(_("You hold no delegated credit authority."), code="no_delegation")


def authorise(approver: User, application: Application, found: Assessment, when: date) -> AuthorityLevel:
    """The level at which `approver` may decide (or vote on) the assessed application on `when`: the lowest
    delegated level at or above the one required whose limit covers the state now; PermissionDenied if
    none."""
    if approver.pk in makers(application, found.memo):
        raise errors.PermissionDenied(
            _("You prepared this application, so someone else must decide it (four-eyes)."),
            code="maker_cannot_approve",
        )
    committee = found.required.is_committee
    usable = []
    for delegation in delegations_on(approver, when):
        level = delegation.level
        if level.is_committee != committee or level.rank < found.required.rank:
            continue
        limit = found.matrix.limit_for(level.pk)
        exposure = found.exposure
        if limit is not None and limit.covers(
            total=exposure.total, grade=found.grade, product_ids=found.product_ids
        ):
            usable.append(level)
    if not usable:
        raise errors.PermissionDenied(
            _(
                "This application needs %(level)s authority for a group exposure of %(amount)s %(currency)s "
                "and risk grade %(grade)s; your delegation does not cover it."
            )
            % {
                "level": found.required.name,
                "amount": f"{found.exposure.total:,.2f}",
                "currency": found.exposure.currency,
                "grade": found.grade,
            },
            code="beyond_authority",
        )
    return min(usable, key=lambda level: level.rank)


def check_authority(
    *, approver: User, application: Application, when: date | None = None
) -> tuple[AuthorityLevel, AuthorityMatrix, Exposure]:
    """Whether `approver` may decide the application as it stands now: the level used, the active matrix and
    the group exposure it was judged on; PermissionDenied (403) otherwise."""
    found = assess(application)
    level = authorise(approver, application, found, when or timezone.localdate())
    return level, found.matrix.matrix, found.exposure


# --- reads for the API and the pages ---------------------------------------------------------------
def visible_application(*, viewer: User, application_id: object) -> Application:
    """One application whose borrower the viewer may read, with its required level; NotFound otherwise."""
    found = (
        visible_applications(viewer=viewer)
        .select_related("required_level")
        .filter(pk=row_id(application_id))
        .first()
    )
    if found is None:
        raise errors.NotFound()
    return found


@dataclass(frozen=True)
class DecisionRecord:
    """Everything decided on an application: decisions, committee votes and conditions, oldest first."""

    application: Application
    decisions: list[Decision]
    votes: list[CommitteeVote]
    conditions: list[Condition]


def decision_record(*, viewer: User, application_id: object) -> DecisionRecord:
    """The application's decisions, votes and conditions; four queries."""
    application = visible_application(viewer=viewer, application_id=application_id)
    return DecisionRecord(
        application=application,
        decisions=list(
            Decision.objects.filter(application=application)
            .select_related("decided_by", "level", "matrix")
            .order_by("round", "id")
        ),
        votes=list(
            CommitteeVote.objects.filter(application=application)
            .select_related("member")
            .order_by("round", "cast_at", "id")
        ),
        conditions=list(Condition.objects.filter(application=application).order_by("id")),
    )


def level_ladder() -> tuple[AuthorityMatrix | None, list[tuple[AuthorityLevel, Limit | None]]]:
    """Every approval level with its limit under the active matrix (None: it decides nothing); three
    queries. Policy, not customer data: any member of staff may read it."""
    try:
        matrix: ActiveMatrix | None = active_matrix()
    except errors.Conflict:
        matrix = None
    levels = AuthorityLevel.objects.order_by("rank")
    if matrix is None:
        return None, [(level, None) for level in levels]
    return matrix.matrix, [(level, matrix.limit_for(level.pk)) for level in levels]


# --- the approver's queue ---------------------------------------------------------------------------
def decision_queue(
    viewer: User, *, when: date | None = None, now: datetime | None = None
) -> QuerySet[Application]:
    """Applications awaiting a decision this viewer could take (or vote on) with a delegation in force,
    oldest first, annotated `overdue` (past the status's turnaround target); never their own, always
    within scope. Ranks only: the limits are checked against the state when deciding."""
    day = when or timezone.localdate()
    held = list(delegations_in_force(viewer, day).values_list("level__rank", "level__is_committee"))
    single = [rank for rank, is_committee in held if not is_committee]
    committee = [rank for rank, is_committee in held if is_committee]
    can = Q(pk__in=[])
    if single:
        can |= Q(required_level__is_committee=False, required_level__rank__lte=max(single))
    if committee:
        voted = CommitteeVote.objects.filter(
            application_id=OuterRef("pk"), round=OuterRef("decision_round"), member_id=viewer.pk
        )
        can |= Q(required_level__is_committee=True, required_level__rank__lte=max(committee)) & ~Q(
            Exists(voted)
        )
    edited = MemoRevision.objects.filter(memo__application_id=OuterRef("pk"), saved_by_id=viewer.pk)
    late = turnaround.overdue_filter(turnaround.load_targets(), now or timezone.now())
    return (
        turnaround.with_main_product(visible_applications(viewer=viewer))
        .filter(status__in=workflow.AWAITING_DECISION)
        .filter(can)
        .exclude(owner_id=viewer.pk)
        .exclude(analyst_id=viewer.pk)
        .exclude(memo__analyst_id=viewer.pk)
        .exclude(Exists(edited))
        .annotate(
            overdue=Case(When(late, then=Value(True)), default=Value(False), output_field=BooleanField())
        )
        .select_related("borrower", "required_level", "branch", "owner")
        .order_by("status_entered_at", "id")
    )
