"""Five-category classification and IFRS 9 stage: the daily run that moves facilities down to the rules'
floor, and manual changes proposed by one person and decided by another (four-eyes)."""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.concurrency import locked_row
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.roles import MONITORING_ROLES, OVERSIGHT_APPROVER_ROLES
from lendcrm.parties.models import GROUP_KINDS, NATURAL_PERSON_KINDS, Relationship, Segment
from lendcrm.servicing import classification as rules
from lendcrm.servicing.classification_selectors import classification_requests
from lendcrm.servicing.models import (
    Category,
    ClassificationBasis,
    ClassificationChange,
    ClassificationRequest,
    Facility,
    FacilityStatus,
    RequestStatus,
    Stage,
)
from lendcrm.servicing.selectors import visible_facilities

CHUNK = 2000
MAX_REASON = 4000
_STATE_FIELDS = (
    "id",
    "borrower_id",
    "category",
    "stage",
    "days_past_due",
    "outstanding_principal",
    "restructured_on",
    "version",
    "borrower__kind",
    "borrower__segment",
)


def is_retail(kind: str, segment: str) -> bool:
    """A party of these kind and segment is retail: natural persons and the retail segment; contagion
    applies to everyone else."""
    return kind in NATURAL_PERSON_KINDS or segment == Segment.RETAIL


def _state(facility: Facility) -> rules.FacilityState:
    return rules.FacilityState(
        id=facility.pk,
        category=facility.category,
        stage=facility.stage,
        days_past_due=facility.days_past_due,
        outstanding=facility.outstanding_principal,
        restructured_on=facility.restructured_on,
    )


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def classify(*, as_of: date, facility_ids: Iterable[int] | None = None) -> int:
    """The daily run (the system, no actor): every active facility moved down to the worst of its rule
    floors, with its stage, never up. With `facility_ids`, all active facilities of their borrowers are
    classified (contagion weighs a debtor's claims together). Works per 2,000 borrowers in a fixed number
    of queries; writes a history row and an audit event (`audit.record_many`) per change. Returns the
    facilities changed; a re-run on the same data changes none."""
    active = Facility.objects.filter(status=FacilityStatus.ACTIVE)
    if facility_ids is not None:
        wanted = sorted({int(i) for i in facility_ids})
        borrowers: set[int] = set()
        for chunk in _chunks(wanted):
            borrowers.update(active.filter(pk__in=chunk).values_list("borrower_id", flat=True))
        borrower_ids = sorted(borrowers)
    else:
        borrower_ids = list(active.order_by("borrower_id").values_list("borrower_id", flat=True).distinct())
    policy = rules.policy()
    changed = 0
    for chunk in _chunks(borrower_ids):
        changed += _classify_chunk(chunk, as_of, policy)
    return changed


@dataclass(frozen=True)
class _Row:
    """A facility as the daily run reads it: plain values, no model instance (most rows do not change)."""

    state: rules.FacilityState
    borrower_id: int
    version: int
    retail: bool


def _read_chunk(borrower_ids: Sequence[int]) -> list[_Row]:
    """The chunk's active facilities, locked, in borrower order (one query)."""
    rows = (
        Facility.objects.select_for_update(of=("self",))
        .filter(status=FacilityStatus.ACTIVE, borrower_id__in=borrower_ids)
        .order_by("borrower_id", "id")
        .values_list(*_STATE_FIELDS)
    )
    return [
        _Row(
            rules.FacilityState(pk, category, stage, dpd, outstanding, restructured_on),
            borrower,
            version,
            is_retail(kind, segment),
        )
        for pk, borrower, category, stage, dpd, outstanding, restructured_on, version, kind, segment in rows
    ]


def _classify_chunk(borrower_ids: Sequence[int], as_of: date, policy: rules.Policy) -> int:
    with transaction.atomic():
        rows = _read_chunk(borrower_ids)
        by_id = {row.state.id: row for row in rows}
        outcomes: list[rules.Outcome] = []
        for _borrower, group in groupby(rows, key=lambda row: row.borrower_id):
            members = list(group)
            outcomes.extend(
                rules.classify_debtor(
                    [m.state for m in members], as_of=as_of, retail=members[0].retail, rules=policy
                )
            )
        if not outcomes:
            return 0
        now = timezone.now()
        history = []
        updated = []
        for outcome in outcomes:
            row = by_id[outcome.id]
            history.append(
                ClassificationChange(
                    facility_id=outcome.id,
                    category=outcome.category,
                    stage=outcome.stage,
                    previous_category=row.state.category,
                    previous_stage=row.state.stage,
                    basis=outcome.basis,
                    days_past_due=outcome.days_past_due,
                    effective_on=as_of,
                    recorded_at=now,
                )
            )
            updated.append(
                Facility(
                    pk=outcome.id,
                    category=outcome.category,
                    stage=outcome.stage,
                    version=row.version + 1,
                    updated_at=now,
                )
            )
        Facility.objects.bulk_update(updated, ["category", "stage", "version", "updated_at"])
        ClassificationChange.objects.bulk_create(history)
        audit.record_many(
            actor=None,
            entries=[
                audit.Entry(
                    action="classification.changed",
                    object_type="facility",
                    object_id=c.facility_id,
                    party_id=by_id[c.facility_id].borrower_id,
                    changes={
                        "before": {"category": c.previous_category, "stage": c.previous_stage},
                        "after": {"category": c.category, "stage": c.stage},
                        "basis": c.basis,
                        "days_past_due": c.days_past_due,
                        "as_of": as_of,
                    },
                )
                for c in history
            ],
        )
        return len(history)


def rule_floor_for(facility: Facility, *, proposed_category: str, as_of: date) -> rules.Floor:
    """The lowest category the rules allow for `facility` if it became `proposed_category`, weighing the
    borrower's other active facilities as they stand (one query)."""
    others = (
        Facility.objects.filter(borrower_id=facility.borrower_id, status=FacilityStatus.ACTIVE)
        .exclude(pk=facility.pk)
        .only("id", "category", "stage", "days_past_due", "outstanding_principal", "restructured_on")
    )
    return rules.debtor_floor(
        _state(facility),
        [_state(o) for o in others],
        proposed_category=proposed_category,
        as_of=as_of,
        retail=is_retail(facility.borrower.kind, facility.borrower.segment),
        rules=rules.policy(),
    )


def _check_against_floor(
    facility: Facility, category: str, stage: int, as_of: date, *, on_decision: bool
) -> None:
    policy = rules.policy()
    floor = rule_floor_for(facility, proposed_category=category, as_of=as_of)
    problems: dict[str, list[str]] = {}
    if rules.rank(category) < rules.rank(floor.category):
        problems["category"] = [
            _("The rules keep this facility at %(floor)s or worse (%(basis)s).")
            % {"floor": Category(floor.category).label, "basis": ClassificationBasis(floor.basis).label}
        ]
    least_stage = rules.stage_floor(category, facility.days_past_due, policy)
    if stage < least_stage:
        problems["stage"] = [
            _("With this classification and %(dpd)d days past due the stage is at least %(stage)d.")
            % {"dpd": facility.days_past_due, "stage": least_stage}
        ]
    if problems:
        message = " ".join(m for messages in problems.values() for m in messages)
        if on_decision:
            raise errors.Conflict(message, code="below_rule_floor", extra={"errors": problems})
        raise errors.ValidationFailed(message, field_errors=problems, code="below_rule_floor")


def _require(actor: User, roles: frozenset[str], message: str) -> None:
    if not (actor.is_active and actor.role_slugs & roles):
        raise errors.PermissionDenied(message)


def _clean_reason(reason: object, field: str = "reason") -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise errors.field_error(field, _("Give the reason and the evidence."))
    if len(text) > MAX_REASON:
        raise errors.field_error(field, _("At most %(n)d characters.") % {"n": MAX_REASON})
    return text


def _lock_facility(actor: User, facility_id: object) -> Facility:
    facility = locked_row(visible_facilities(viewer=actor).select_related("borrower"), row_id(facility_id))
    if facility.status != FacilityStatus.ACTIVE:
        raise errors.Conflict(
            _("This facility is %(status)s.") % {"status": facility.get_status_display()},
            code="facility_not_active",
        )
    return facility


def request_classification(
    *, actor: User, facility_id: object, category: str, stage: int, reason: str
) -> ClassificationRequest:
    """A monitoring officer proposes a category and stage with the reason and evidence; it takes effect
    only when someone else approves. Refused below the rules' floor, or while another request is open."""
    _require(actor, MONITORING_ROLES, _("Only a portfolio monitoring officer proposes a classification."))
    problems: dict[str, list[str]] = {}
    if category not in Category.values:
        problems["category"] = [_("Choose one of the five categories.")]
    if isinstance(stage, bool) or stage not in Stage.values:
        problems["stage"] = [_("Choose stage 1, 2 or 3.")]
    if problems:
        raise errors.ValidationFailed(field_errors=problems)
    text = _clean_reason(reason)
    with transaction.atomic():
        facility = _lock_facility(actor, facility_id)
        if (facility.category, facility.stage) == (category, stage):
            raise errors.field_error(
                "category", _("The facility is already at this classification and stage.")
            )
        _check_against_floor(facility, category, stage, timezone.localdate(), on_decision=False)
        if ClassificationRequest.objects.filter(facility=facility, status=RequestStatus.PENDING).exists():
            raise errors.Conflict(
                _("A classification request for this facility is already waiting for a decision."),
                code="request_pending",
            )
        request = ClassificationRequest(
            facility=facility,
            category=category,
            stage=stage,
            reason=text,
            requested_at=timezone.now(),
            requested_by=actor,
        )
        try:
            with transaction.atomic():
                request.save(force_insert=True)
        except IntegrityError as exc:  # a concurrent request won the partial unique index
            raise errors.Conflict(code="request_pending") from exc
        _audit(actor, "classification.requested", request, facility, {"category": category, "stage": stage})
    return request


def _audit(
    actor: User | None,
    action: str,
    request: ClassificationRequest,
    facility: Facility,
    changes: dict[str, Any],
) -> None:
    audit.record(
        actor=actor,
        action=action,
        object_type="classification_request",
        object_id=request.pk,
        party_id=facility.borrower_id,
        changes={"facility": facility.reference, **changes},
    )


def _locked_request(actor: User, request_id: object) -> tuple[ClassificationRequest, Facility]:
    """The request and its facility, both locked (facility first, as every facility write does)."""
    facility_id = (
        classification_requests(viewer=actor)
        .filter(pk=row_id(request_id))
        .values_list("facility_id", flat=True)
        .first()
    )
    if facility_id is None:
        raise errors.NotFound()
    facility = locked_row(visible_facilities(viewer=actor).select_related("borrower"), facility_id)
    request = ClassificationRequest.objects.select_for_update().get(pk=row_id(request_id))
    if request.status != RequestStatus.PENDING:
        raise errors.Conflict(
            _("This request is %(status)s.") % {"status": request.get_status_display()},
            code="request_decided",
        )
    return request, facility


def decide_classification_request(
    *, actor: User, request_id: object, approve: bool, note: str = ""
) -> ClassificationRequest:
    """An oversight approver other than the requester approves (the change takes effect today) or rejects
    (with a note). An approval that the rules no longer allow — the facility fell further behind since the
    request — is refused (409)."""
    _require(actor, OVERSIGHT_APPROVER_ROLES, _("Only a monitoring officer or a credit approver decides."))
    if not isinstance(approve, bool):
        raise errors.field_error("approve", _("Say whether you approve."))
    note = note.strip() if isinstance(note, str) else ""
    if not approve and not note:
        raise errors.field_error("note", _("Say why the request is rejected."))
    if len(note) > MAX_REASON:
        raise errors.field_error("note", _("At most %(n)d characters.") % {"n": MAX_REASON})
    with transaction.atomic():
        request, facility = _locked_request(actor, request_id)
        if request.requested_by_id == actor.pk:
            raise errors.PermissionDenied(
                _("Someone other than the requester must decide (four-eyes)."), code="four_eyes"
            )
        now = timezone.now()
        if approve:
            if facility.status != FacilityStatus.ACTIVE:
                raise errors.Conflict(code="facility_not_active")
            today = timezone.localdate()
            _check_against_floor(facility, request.category, request.stage, today, on_decision=True)
            ClassificationChange.objects.create(
                facility=facility,
                category=request.category,
                stage=request.stage,
                previous_category=facility.category,
                previous_stage=facility.stage,
                basis=ClassificationBasis.MANUAL,
                days_past_due=facility.days_past_due,
                reason=request.reason,
                effective_on=today,
                recorded_at=now,
                proposed_by_id=request.requested_by_id,
                approved_by=actor,
            )
            before = {"category": facility.category, "stage": facility.stage}
            facility.category, facility.stage = request.category, request.stage
            facility.version += 1
            facility.save(update_fields=["category", "stage", "version", "updated_at"])
        request.status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
        request.decided_at, request.decided_by, request.decision_note = now, actor, note
        request.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
        changes: dict[str, Any] = {"note": note}
        if approve:
            changes.update(
                {"before": before, "after": {"category": request.category, "stage": request.stage}}
            )
        _audit(
            actor,
            "classification.approved" if approve else "classification.rejected",
            request,
            facility,
            changes,
        )
    return request


def withdraw_classification_request(*, actor: User, request_id: object) -> ClassificationRequest:
    """The requester takes back a request still waiting for a decision."""
    with transaction.atomic():
        request, facility = _locked_request(actor, request_id)
        if request.requested_by_id != actor.pk:
            raise errors.PermissionDenied(_("Only the requester may withdraw a request."))
        request.status = RequestStatus.WITHDRAWN
        request.decided_at = timezone.now()
        request.save(update_fields=["status", "decided_at"])
        _audit(actor, "classification.withdrawn", request, facility, {})
    return request


def record_rule_change(
    *, actor: User | None, facility: Facility, floor: rules.Floor, as_of: date
) -> ClassificationChange | None:
    """Move one locked facility down to `floor` now (used when a restructuring takes effect); the caller
    holds the transaction and the lock and audits the cause."""
    outcome = rules.worsen(_state(facility), floor, rules.policy())
    if outcome is None:
        return None
    change = ClassificationChange.objects.create(
        facility=facility,
        category=outcome.category,
        stage=outcome.stage,
        previous_category=facility.category,
        previous_stage=facility.stage,
        basis=outcome.basis,
        days_past_due=facility.days_past_due,
        effective_on=as_of,
        recorded_at=timezone.now(),
        proposed_by=actor,
    )
    facility.category, facility.stage = outcome.category, outcome.stage
    return change


def contagion_reviews(*, as_of: date, party_ids: Iterable[int] | None = None) -> list[tuple[int, int, int]]:
    """A group member's NPL is a reason to review the other members, not to downgrade them: for every
    borrower with a non-performing active facility, the other parties of its group (connected through
    parent and group-membership edges, either direction — `parties.graph.connecting` over the group
    kinds) as (party to review, NPL party, its worst NPL facility), limited to `party_ids` when given.
    Two queries whatever the number of groups: the NPL facilities, and every group edge, joined into
    groups here."""
    wanted = None if party_ids is None else {int(p) for p in party_ids}
    npl = (
        Facility.objects.filter(status=FacilityStatus.ACTIVE, category__in=rules.NON_PERFORMING)
        .order_by("borrower_id", "id")
        .values_list("borrower_id", "id", "category")
    )
    worst_by_party: dict[int, tuple[int, str]] = {}
    for borrower_id, facility_id, category in npl:
        current = worst_by_party.get(borrower_id)
        if current is None or rules.rank(category) > rules.rank(current[1]):
            worst_by_party[borrower_id] = (facility_id, category)
    if not worst_by_party:
        return []
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    edges = Relationship.objects.filter(kind__in=GROUP_KINDS).values_list("from_party_id", "to_party_id")
    for left, right in edges.iterator(chunk_size=CHUNK):
        parent[root(left)] = root(right)
    groups: dict[int, list[int]] = {}
    for node in list(parent):
        groups.setdefault(root(node), []).append(node)
    reviews = []
    for party_id, (facility_id, _category) in sorted(worst_by_party.items()):
        if party_id not in parent:
            continue
        for member_id in sorted(groups[root(party_id)]):
            if member_id != party_id and (wanted is None or member_id in wanted):
                reviews.append((member_id, party_id, facility_id))
    return reviews
