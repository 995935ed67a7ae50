"""Annual credit reviews and site visits (回访): scheduled by policy for every borrower with an active
facility, assigned to the facility's monitoring officer (else the party's lead RM), completed with a
visit report that schedules the next one."""

import calendar
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.concurrency import check_version, locked_row
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.roles import MONITORING_ROLES, Role
from lendcrm.monitoring.oversight_models import Review, ReviewKind, ReviewPolicy, ReviewStatus
from lendcrm.monitoring.oversight_selectors import visible_reviews
from lendcrm.origination.models import CreditMemo, Status
from lendcrm.parties.models import Coverage, CoverageRole, Party, Segment
from lendcrm.servicing.models import Facility, FacilityStatus

CHUNK = 2000

# (kind, segment or "" for any, from grade, to grade, every n months): a worse grade is seen more often,
# and project sites at least twice a year. Seeded once by `ensure_default_review_policies`, then data.
DEFAULT_POLICIES: tuple[tuple[str, str, int, int, int], ...] = (
    (ReviewKind.ANNUAL_REVIEW, "", 1, 6, 12),
    (ReviewKind.ANNUAL_REVIEW, "", 7, 99, 6),
    (ReviewKind.SITE_VISIT, "", 1, 4, 12),
    (ReviewKind.SITE_VISIT, "", 5, 7, 6),
    (ReviewKind.SITE_VISIT, "", 8, 99, 3),
    (ReviewKind.SITE_VISIT, Segment.PROJECT_FINANCE, 1, 7, 6),
    (ReviewKind.SITE_VISIT, Segment.PROJECT_FINANCE, 8, 99, 3),
)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clipped to the month's end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def chunks(ids: Iterable[int], size: int = CHUNK) -> Iterator[list[int]]:
    batch: list[int] = []
    for one in ids:
        batch.append(one)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def ensure_default_review_policies() -> int:
    """Create the default policies when there are none at all (a bank's own policies are never touched);
    returns how many were created. Called by the daily job and the demo seeding."""
    with transaction.atomic():
        if ReviewPolicy.objects.exists():
            return 0
        ReviewPolicy.objects.bulk_create(
            ReviewPolicy(kind=k, segment=s, min_grade=lo, max_grade=hi, interval_months=n)
            for k, s, lo, hi, n in DEFAULT_POLICIES
        )
        audit.record(
            actor=None,
            action="review_policy.seeded",
            object_type="review_policy",
            object_id="defaults",
            changes={"count": len(DEFAULT_POLICIES)},
        )
    return len(DEFAULT_POLICIES)


def save_review_policy(*, actor: User | None, policy: ReviewPolicy) -> ReviewPolicy:
    """Create or change a review policy (administrators; `None` is the system), validated by the model's
    own rules and audited with what changed. The next daily run reschedules what it affects."""
    if actor is not None and not (actor.is_active and actor.has_role(Role.ADMINISTRATOR)):
        raise errors.PermissionDenied(_("Only an administrator changes the review policies."))
    with transaction.atomic():
        stored = ReviewPolicy.objects.select_for_update().filter(pk=policy.pk).first() if policy.pk else None
        before = audit.snapshot(stored) if stored is not None else {}
        try:
            policy.full_clean()
        except DjangoValidationError as exc:
            raise errors.ValidationFailed(field_errors=exc.message_dict) from exc
        policy.save()
        audit.record(
            actor=actor,
            action=f"review_policy.{'changed' if stored else 'created'}",
            object_type="review_policy",
            object_id=policy.pk,
            changes=audit.diff(before, audit.snapshot(policy)),
        )
    return policy


def policy_interval(policies: list[ReviewPolicy], kind: str, segment: str, grade: int) -> int | None:
    """Months between reviews of `kind` for this segment and grade: a policy for the segment wins over
    one for any segment, then the narrowest grade band; None when no policy applies."""
    fits = [
        p
        for p in policies
        if p.kind == kind and p.segment in (segment, "") and p.min_grade <= grade <= p.max_grade
    ]
    if not fits:
        return None
    best = min(fits, key=lambda p: (p.segment == "", p.max_grade - p.min_grade, p.pk))
    return best.interval_months


def memo_grades(party_ids: list[int]) -> dict[int, int]:
    """Each party's grade from the latest completed credit memo of its booked applications (one query)."""
    rows = (
        CreditMemo.objects.filter(
            application__borrower_id__in=party_ids,
            application__status=Status.BOOKED,
            risk_grade__isnull=False,
        )
        .order_by("application__borrower_id", "-completed_at", "-id")
        .values_list("application__borrower_id", "risk_grade__grade")
    )
    grades: dict[int, int] = {}
    for party_id, grade in rows:
        grades.setdefault(party_id, grade)
    return grades


@dataclass(frozen=True)
class Responsible:
    """Who looks after a party's post-loan work: the monitor of its first monitored active facility, else
    its lead RM (None when it has neither)."""

    user_id: int | None
    facility_id: int | None


def responsible(party_ids: list[int]) -> dict[int, Responsible]:
    """The responsible person of each party (two queries)."""
    facilities = (
        Facility.objects.filter(borrower_id__in=party_ids, status=FacilityStatus.ACTIVE)
        .order_by("borrower_id", "start_date", "id")
        .values_list("borrower_id", "id", "monitor_id")
    )
    leads = dict(
        Coverage.objects.filter(party_id__in=party_ids, role=CoverageRole.LEAD).values_list(
            "party_id", "user_id"
        )
    )
    first: dict[int, int] = {}
    monitored: dict[int, tuple[int, int]] = {}
    for party_id, facility_id, monitor_id in facilities:
        first.setdefault(party_id, facility_id)
        if monitor_id is not None:
            monitored.setdefault(party_id, (monitor_id, facility_id))
    out: dict[int, Responsible] = {}
    for party_id in party_ids:
        if party_id in monitored:
            out[party_id] = Responsible(*monitored[party_id])
        else:
            out[party_id] = Responsible(leads.get(party_id), first.get(party_id))
    return out


def _universe(party_ids: Iterable[int] | None) -> list[int]:
    """Borrowers with an active facility, and parties with a scheduled review (to cancel it when the
    last facility has gone)."""
    borrowers = Facility.objects.filter(status=FacilityStatus.ACTIVE).values_list("borrower_id", flat=True)
    scheduled = Review.objects.filter(status=ReviewStatus.SCHEDULED).values_list("party_id", flat=True)
    if party_ids is not None:
        wanted = list(party_ids)
        borrowers = borrowers.filter(borrower_id__in=wanted)
        scheduled = scheduled.filter(party_id__in=wanted)
    return sorted(set(borrowers) | set(scheduled))


@dataclass
class _Outcome:
    created: list[Review]
    moved: list[tuple[Review, date, int]]  # with the due date and assignee before
    cancelled: list[Review]

    @property
    def count(self) -> int:
        return len(self.created) + len(self.moved) + len(self.cancelled)


def _schedule_chunk(party_ids: list[int], policies: list[ReviewPolicy]) -> _Outcome:
    """Bring the chunk's scheduled reviews in line with the policies, in a fixed number of queries."""
    segments = dict(Party.objects.filter(pk__in=party_ids).values_list("id", "segment"))
    who = responsible(party_ids)
    grades = memo_grades(party_ids)
    starts: dict[int, date] = {}
    for party_id, start in (
        Facility.objects.filter(borrower_id__in=party_ids, status=FacilityStatus.ACTIVE)
        .order_by("borrower_id", "start_date")
        .values_list("borrower_id", "start_date")
    ):
        starts.setdefault(party_id, start)
    last_done: dict[tuple[int, str], date] = {}
    for party_id, kind, visited in (
        Review.objects.filter(party_id__in=party_ids, status=ReviewStatus.COMPLETED)
        .order_by("party_id", "kind", "-visited_on")
        .values_list("party_id", "kind", "visited_on")
    ):
        if visited is not None:
            last_done.setdefault((party_id, kind), visited)
    scheduled = {
        (r.party_id, r.kind): r
        for r in Review.objects.filter(party_id__in=party_ids, status=ReviewStatus.SCHEDULED)
    }
    unrated = int(settings.LENDCRM_REVIEW_UNRATED_GRADE)
    outcome = _Outcome([], [], [])
    for party_id in party_ids:
        person = who[party_id] if party_id in starts else None
        for kind in ReviewKind.values:
            current = scheduled.pop((party_id, kind), None)
            interval = None
            if person is not None:
                grade = grades.get(party_id, unrated)
                interval = policy_interval(policies, kind, segments.get(party_id, ""), grade)
            if person is None or interval is None:
                if current is not None and person is None:
                    current.status = ReviewStatus.CANCELLED
                    outcome.cancelled.append(current)
                continue
            due = add_months(last_done.get((party_id, kind)) or starts[party_id], interval)
            if current is None:
                if person.user_id is None:
                    continue
                outcome.created.append(
                    Review(
                        party_id=party_id,
                        facility_id=person.facility_id,
                        kind=kind,
                        due_date=due,
                        assigned_to_id=person.user_id,
                    )
                )
            else:
                # The date follows the policy; the assignee follows the facility's monitor (or lead RM).
                wanted = (due, person.user_id or current.assigned_to_id)
                before = (current.due_date, current.assigned_to_id)
                if before != wanted:
                    current.due_date, current.assigned_to_id = wanted
                    current.version += 1
                    outcome.moved.append((current, *before))
    now = timezone.now()
    Review.objects.bulk_create(outcome.created)
    moved = [review for review, _due, _who in outcome.moved]
    for review in moved:
        review.updated_at = now
    Review.objects.bulk_update(moved, ["due_date", "assigned_to", "version", "updated_at"])
    for review in outcome.cancelled:
        review.version += 1
        review.updated_at = now
    Review.objects.bulk_update(outcome.cancelled, ["status", "version", "updated_at"])
    return outcome


def _audit_entries(as_of: date, outcome: _Outcome) -> Iterator[audit.Entry]:
    """One event per review scheduled, rescheduled (due date or assignee) or cancelled, with its party."""
    for review in outcome.created:
        changes = {
            "as_of": as_of,
            "kind": review.kind,
            "due_date": review.due_date,
            "assigned_to": review.assigned_to_id,
            "facility": review.facility_id,
        }
        yield audit.Entry("review.scheduled", "review", review.pk, review.party_id, changes)
    for review, due, who in outcome.moved:
        changes = audit.diff(
            {"due_date": due.isoformat(), "assigned_to": who},
            {"due_date": review.due_date.isoformat(), "assigned_to": review.assigned_to_id},
        )
        changes.update({"as_of": as_of, "kind": review.kind})
        yield audit.Entry("review.rescheduled", "review", review.pk, review.party_id, changes)
    for review in outcome.cancelled:
        changes = {"as_of": as_of, "kind": review.kind, "due_date": review.due_date}
        yield audit.Entry("review.cancelled", "review", review.pk, review.party_id, changes)


def schedule_reviews(*, as_of: date, party_ids: Iterable[int] | None = None) -> int:
    """Make sure every borrower with an active facility has its next review and visit scheduled as the
    policies say (due one interval after the last one done, else after the first facility's start);
    cancel those of parties with no active facility left. One audit event per review scheduled
    (`review.scheduled`), rescheduled (`review.rescheduled`) or cancelled (`review.cancelled`), in bulk per
    chunk. Idempotent (a re-run changes and audits nothing); returns the rows changed."""
    policies = list(ReviewPolicy.objects.all())
    changed = 0
    for chunk in chunks(_universe(party_ids)):
        with transaction.atomic():
            outcome = _schedule_chunk(chunk, policies)
            audit.record_many(actor=None, entries=_audit_entries(as_of, outcome))
        changed += outcome.count
    return changed


def may_complete(actor: User, review: Review) -> bool:
    return actor.is_active and (
        review.assigned_to_id == actor.pk or bool(actor.role_slugs & MONITORING_ROLES)
    )


def complete_review(
    *,
    actor: User,
    review_id: object,
    visited_on: date,
    findings: str,
    people_met: str = "",
    site_condition: str = "",
    recommendation: str = "",
    expected_version: int | None = None,
    today: date | None = None,
) -> Review:
    """Record the visit report of a scheduled review (its assignee or a monitoring officer) and schedule
    the next one from the visit date."""
    today = today or timezone.localdate()
    problems: dict[str, list[str]] = {}
    if not isinstance(visited_on, date) or visited_on > today:
        problems["visited_on"] = [_("Give the date of the visit; it cannot be in the future.")]
    if not (findings or "").strip():
        problems["findings"] = [_("Write down what the review found.")]
    for name, value, limit in (("people_met", people_met, 300),):
        if len(value or "") > limit:
            problems[name] = [_("At most %(n)d characters.") % {"n": limit}]
    with transaction.atomic():
        review = locked_row(visible_reviews(viewer=actor), row_id(review_id))
        if not may_complete(actor, review):
            raise errors.PermissionDenied(_("Only the person assigned or a monitoring officer completes it."))
        check_version(review, expected_version)
        if review.status != ReviewStatus.SCHEDULED:
            raise errors.Conflict(
                _("This review is %(status)s.") % {"status": review.get_status_display()},
                code="review_not_scheduled",
            )
        if problems:
            raise errors.ValidationFailed(field_errors=problems)
        review.visited_on = visited_on
        review.findings = findings.strip()
        review.people_met = (people_met or "").strip()
        review.site_condition = (site_condition or "").strip()
        review.recommendation = (recommendation or "").strip()
        review.status = ReviewStatus.COMPLETED
        review.completed_at = timezone.now()
        review.completed_by = actor
        review.version += 1
        review.save()
        outcome = _schedule_chunk([review.party_id], list(ReviewPolicy.objects.all()))
        following = next((r for r in outcome.created if r.kind == review.kind), None)
        audit.record(
            actor=actor,
            action="review.completed",
            object_type="review",
            object_id=review.pk,
            party_id=review.party_id,
            changes={
                "kind": review.kind,
                "visited_on": visited_on,
                "next_due": following.due_date if following else None,
            },
        )
    return review
