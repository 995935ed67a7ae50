"""Reviews and site visits: scheduled by policy (segment and memo grade), assigned to the facility's
monitor or the lead RM, idempotent, completed with a visit report that schedules the next one."""

from datetime import date, timedelta
from typing import Any

import pytest

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, User
from lendcrm.monitoring.oversight_models import Review, ReviewKind, ReviewPolicy, ReviewStatus
from lendcrm.monitoring.oversight_selectors import review_list
from lendcrm.monitoring.services.reviews import (
    DEFAULT_POLICIES,
    add_months,
    complete_review,
    ensure_default_review_policies,
    policy_interval,
    save_review_policy,
    schedule_reviews,
)
from lendcrm.parties.models import Segment
from lendcrm.servicing.models import Facility, FacilityStatus
from tests.monitoring.oversight_fixtures import *  # noqa: F403
from tests.servicing.factories import START, booked_facility, borrower_party, relationship_manager

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 3, 1)


@pytest.fixture(autouse=True)
def _policies() -> None:
    ensure_default_review_policies()


def _by_kind(party_id: int) -> dict[str, Review]:
    return {r.kind: r for r in Review.objects.filter(party_id=party_id, status=ReviewStatus.SCHEDULED)}


def test_default_policies_are_seeded_once() -> None:
    assert ReviewPolicy.objects.count() == len(DEFAULT_POLICIES)
    assert ensure_default_review_policies() == 0
    ReviewPolicy.objects.exclude(kind=ReviewKind.ANNUAL_REVIEW).delete()
    assert ensure_default_review_policies() == 0  # the bank's own choice is kept


def test_policy_choice_prefers_the_segment_then_the_narrowest_band() -> None:
    policies = list(ReviewPolicy.objects.all())
    assert policy_interval(policies, ReviewKind.ANNUAL_REVIEW, "", 4) == 12
    assert policy_interval(policies, ReviewKind.ANNUAL_REVIEW, Segment.SME, 8) == 6
    assert policy_interval(policies, ReviewKind.SITE_VISIT, "", 5) == 6
    assert policy_interval(policies, ReviewKind.SITE_VISIT, Segment.PROJECT_FINANCE, 2) == 6
    assert policy_interval(policies, ReviewKind.SITE_VISIT, Segment.PROJECT_FINANCE, 9) == 3
    assert policy_interval(policies, ReviewKind.SITE_VISIT, "", 100) is None


def test_add_months_clips_to_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


def test_reviews_are_scheduled_from_the_start_by_grade_for_the_lead_rm() -> None:
    facility = booked_facility(grade=4)
    assert schedule_reviews(as_of=AS_OF) == 2
    reviews = _by_kind(facility.borrower_id)
    assert reviews[ReviewKind.ANNUAL_REVIEW].due_date == add_months(START, 12)
    assert reviews[ReviewKind.SITE_VISIT].due_date == add_months(START, 12)  # grade 4: yearly
    assert {r.assigned_to for r in reviews.values()} == {relationship_manager()}
    assert {r.facility_id for r in reviews.values()} == {facility.pk}
    # One event per review, on the party's timeline, by the system; none on a re-run.
    events = AuditEvent.objects.filter(action="review.scheduled")
    assert sorted((e.object_id, e.party_id, e.actor_id) for e in events) == sorted(
        (str(r.pk), facility.borrower_id, None) for r in reviews.values()
    )
    assert {e.changes["due_date"] for e in events} == {add_months(START, 12).isoformat()}
    total = AuditEvent.objects.count()
    assert schedule_reviews(as_of=AS_OF) == 0
    assert schedule_reviews(as_of=AS_OF + timedelta(days=1)) == 0
    assert AuditEvent.objects.count() == total


def test_a_worse_grade_is_seen_sooner_and_the_monitor_is_assigned(monitor: User) -> None:
    facility = booked_facility(grade=8, booking={"monitor": monitor.pk})
    schedule_reviews(as_of=AS_OF)
    reviews = _by_kind(facility.borrower_id)
    assert reviews[ReviewKind.ANNUAL_REVIEW].due_date == add_months(START, 6)
    assert reviews[ReviewKind.SITE_VISIT].due_date == add_months(START, 3)
    assert {r.assigned_to for r in reviews.values()} == {monitor}


def test_a_policy_for_the_segment_wins() -> None:
    facility = booked_facility()
    facility.borrower.segment = Segment.PROJECT_FINANCE
    facility.borrower.save()
    ReviewPolicy.objects.create(
        kind=ReviewKind.SITE_VISIT,
        segment=Segment.PROJECT_FINANCE,
        min_grade=4,
        max_grade=4,
        interval_months=2,
    )
    schedule_reviews(as_of=AS_OF)
    assert _by_kind(facility.borrower_id)[ReviewKind.SITE_VISIT].due_date == add_months(START, 2)


def test_a_policy_change_moves_the_scheduled_date_and_repaid_parties_are_cancelled() -> None:
    facility = booked_facility()
    schedule_reviews(as_of=AS_OF)
    ReviewPolicy.objects.filter(kind=ReviewKind.ANNUAL_REVIEW, min_grade=1).update(interval_months=9)
    assert schedule_reviews(as_of=AS_OF) == 1
    review = _by_kind(facility.borrower_id)[ReviewKind.ANNUAL_REVIEW]
    assert (review.due_date, review.version) == (add_months(START, 9), 2)
    moved = AuditEvent.objects.get(action="review.rescheduled")
    assert (moved.object_id, moved.party_id) == (str(review.pk), facility.borrower_id)
    assert (moved.changes["before"], moved.changes["after"]) == (
        {"due_date": add_months(START, 12).isoformat()},
        {"due_date": add_months(START, 9).isoformat()},
    )
    Facility.objects.filter(pk=facility.pk).update(status=FacilityStatus.REPAID)
    assert schedule_reviews(as_of=AS_OF) == 2
    assert not _by_kind(facility.borrower_id)
    cancelled = AuditEvent.objects.filter(action="review.cancelled")
    assert [e.party_id for e in cancelled] == [facility.borrower_id] * 2
    total = AuditEvent.objects.count()
    assert schedule_reviews(as_of=AS_OF) == 0
    assert AuditEvent.objects.count() == total


def test_no_one_responsible_no_review() -> None:
    facility = booked_facility()
    facility.borrower.coverage.all().delete()
    assert schedule_reviews(as_of=AS_OF) == 0


def test_completing_a_visit_schedules_the_next_from_the_visit_date(monitor: User) -> None:
    facility = booked_facility()
    schedule_reviews(as_of=AS_OF)
    visit = _by_kind(facility.borrower_id)[ReviewKind.SITE_VISIT]
    rm = relationship_manager()
    done = complete_review(
        actor=rm,
        review_id=visit.pk,
        visited_on=date(2026, 2, 20),
        findings="Plant running two shifts; new order book from a state utility.",
        people_met="CFO Wang",
        site_condition="Clean, second line commissioned",
        recommendation="Keep the grade",
        expected_version=visit.version,
        today=AS_OF,
    )
    assert (done.status, done.completed_by, done.visited_on) == (
        ReviewStatus.COMPLETED,
        rm,
        date(2026, 2, 20),
    )
    following = _by_kind(facility.borrower_id)[ReviewKind.SITE_VISIT]
    assert following.pk != visit.pk
    assert following.due_date == date(2027, 2, 20)
    event = AuditEvent.objects.get(action="review.completed")
    assert event.changes["next_due"] == "2027-02-20"
    assert event.actor == rm
    # The job agrees with what completion scheduled.
    assert schedule_reviews(as_of=AS_OF) == 0
    with pytest.raises(errors.Conflict):
        complete_review(actor=monitor, review_id=visit.pk, visited_on=AS_OF, findings="again", today=AS_OF)


def test_completion_refusals(monitor: User, rm_a: User, rm_b: User) -> None:
    facility = booked_facility()
    schedule_reviews(as_of=AS_OF)
    review = _by_kind(facility.borrower_id)[ReviewKind.ANNUAL_REVIEW]
    with pytest.raises(errors.ValidationFailed) as refused:
        complete_review(
            actor=monitor,
            review_id=review.pk,
            visited_on=AS_OF + timedelta(days=1),
            findings=" ",
            today=AS_OF,
        )
    assert set(refused.value.field_errors) == {"visited_on", "findings"}
    with pytest.raises(errors.NotFound):  # rm_b does not see the factory's branch
        complete_review(actor=rm_b, review_id=review.pk, visited_on=AS_OF, findings="x", today=AS_OF)
    with pytest.raises(errors.PreconditionFailed):
        complete_review(
            actor=monitor,
            review_id=review.pk,
            visited_on=AS_OF,
            findings="x",
            expected_version=9,
            today=AS_OF,
        )
    review.refresh_from_db()
    assert review.status == ReviewStatus.SCHEDULED


def test_another_rm_in_scope_may_not_complete(make_user: Any) -> None:
    facility = booked_facility()
    schedule_reviews(as_of=AS_OF)
    review = _by_kind(facility.borrower_id)[ReviewKind.ANNUAL_REVIEW]
    from tests.servicing.factories import branch, staff

    colleague = staff("bk_rm2", "relationship_manager", at=branch())
    with pytest.raises(errors.PermissionDenied):
        complete_review(actor=colleague, review_id=review.pk, visited_on=AS_OF, findings="x", today=AS_OF)


def test_overdue_and_scope(monitor: User, rm_b: User) -> None:
    facility = booked_facility()
    schedule_reviews(as_of=AS_OF)
    assert review_list(viewer=monitor, overdue_on=date(2027, 1, 16)).count() == 2
    assert review_list(viewer=monitor, overdue_on=date(2027, 1, 15)).count() == 0
    assert review_list(viewer=rm_b).count() == 0
    assert review_list(viewer=relationship_manager(), party_id=facility.borrower_id).count() == 2


def test_scheduling_takes_a_fixed_number_of_queries(django_assert_max_num_queries: Any) -> None:
    for n in range(3):
        booked_facility(borrower=borrower_party(f"Borrower {n}"))
    with django_assert_max_num_queries(16):
        assert schedule_reviews(as_of=AS_OF) == 6
    assert AuditEvent.objects.filter(action="review.scheduled").count() == 6


def test_review_policies_are_changed_by_administrators_and_audited(admin_user: User, monitor: User) -> None:
    policy = ReviewPolicy(
        kind=ReviewKind.SITE_VISIT, segment=Segment.SME, min_grade=1, max_grade=3, interval_months=18
    )
    with pytest.raises(errors.PermissionDenied):
        save_review_policy(actor=monitor, policy=policy)
    save_review_policy(actor=admin_user, policy=policy)
    assert AuditEvent.objects.filter(action="review_policy.created", actor=admin_user).count() == 1
    policy.interval_months = 0
    with pytest.raises(errors.ValidationFailed):
        save_review_policy(actor=admin_user, policy=policy)
    policy.refresh_from_db()
    assert policy.interval_months == 18


def test_the_admin_lists_and_saves_policies(admin_user: User, monitor: User) -> None:
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(admin_user)
    assert client.get("/admin/monitoring/reviewpolicy/").status_code == 200
    response = client.post(
        "/admin/monitoring/reviewpolicy/add/",
        {"kind": "site_visit", "segment": "sme", "min_grade": 1, "max_grade": 2, "interval_months": 24},
    )
    assert response.status_code == 302
    assert ReviewPolicy.objects.filter(segment="sme", interval_months=24).exists()
    looker = Client(HTTP_HOST="localhost")
    looker.force_login(monitor)
    assert looker.get("/admin/monitoring/reviewpolicy/").status_code == 200
    assert looker.get("/admin/monitoring/reviewpolicy/add/").status_code == 403


def test_a_monitor_named_later_takes_over_the_scheduled_reviews(monitor: User) -> None:
    facility = booked_facility()
    schedule_reviews(as_of=AS_OF)
    Facility.objects.filter(pk=facility.pk).update(monitor=monitor)
    assert schedule_reviews(as_of=AS_OF) == 2
    assert {r.assigned_to for r in _by_kind(facility.borrower_id).values()} == {monitor}
    assert schedule_reviews(as_of=AS_OF) == 0
