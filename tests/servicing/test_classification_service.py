"""The daily classification run and manual changes with four-eyes, on booked facilities."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, User
from lendcrm.core.roles import Role
from lendcrm.parties.models import PartyKind, Relationship, RelationshipKind, Segment
from lendcrm.servicing.models import (
    Category,
    ClassificationBasis,
    ClassificationChange,
    ClassificationRequest,
    Facility,
    FacilityStatus,
    RequestStatus,
)
from lendcrm.servicing.services import classification as service
from lendcrm.servicing.services.delinquency import refresh_delinquency
from tests.servicing import factories

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)


def set_state(facility: Facility, **values: object) -> Facility:
    Facility.objects.filter(pk=facility.pk).update(**values)
    return Facility.objects.get(pk=facility.pk)


def fresh(facility: Facility) -> Facility:
    return Facility.objects.get(pk=facility.pk)


@pytest.fixture
def monitor(make_user: Callable[..., User]) -> User:
    return make_user("monitor", Role.PORTFOLIO_MONITOR)


@pytest.fixture
def approver(make_user: Callable[..., User]) -> User:
    return make_user("approver", Role.CREDIT_APPROVER)


# --- the daily run ----------------------------------------------------------------------------------
def test_a_performing_facility_is_left_alone() -> None:
    facility = factories.booked_facility()
    assert service.classify(as_of=AS_OF) == 0
    assert (fresh(facility).category, fresh(facility).stage) == (Category.NORMAL, 1)
    assert not ClassificationChange.objects.exists()


def test_days_past_due_downgrade_once_with_history_and_audit() -> None:
    facility = set_state(factories.booked_facility(), days_past_due=95)
    version = facility.version
    assert service.classify(as_of=AS_OF) == 1
    facility = fresh(facility)
    assert (facility.category, facility.stage) == (Category.SUBSTANDARD, 3)
    assert facility.version == version + 1
    change = ClassificationChange.objects.get(facility=facility)
    assert (change.previous_category, change.previous_stage) == (Category.NORMAL, 1)
    assert change.basis == ClassificationBasis.DAYS_PAST_DUE
    assert (change.days_past_due, change.effective_on) == (95, AS_OF)
    assert change.proposed_by is None
    assert change.approved_by is None
    event = AuditEvent.objects.get(action="classification.changed")
    assert event.actor is None
    assert (event.object_id, event.party_id) == (str(facility.pk), facility.borrower_id)
    assert event.changes["after"] == {"category": "substandard", "stage": 3}
    # Idempotent: nothing more on a re-run over the same data.
    assert service.classify(as_of=AS_OF) == 0
    assert ClassificationChange.objects.count() == 1
    assert AuditEvent.objects.filter(action="classification.changed").count() == 1
    assert fresh(facility).version == version + 1


def test_rules_never_upgrade() -> None:
    facility = set_state(factories.booked_facility(), category=Category.DOUBTFUL, stage=3, days_past_due=0)
    assert service.classify(as_of=AS_OF) == 0
    assert fresh(facility).category == Category.DOUBTFUL


@pytest.mark.parametrize(
    ("dpd", "category", "stage"),
    [
        (1, Category.SPECIAL_MENTION, 2),
        (31, Category.SPECIAL_MENTION, 2),
        (91, Category.SUBSTANDARD, 3),
        (271, Category.DOUBTFUL, 3),
        (361, Category.LOSS, 3),
    ],
)
def test_each_floor(dpd: int, category: str, stage: int) -> None:
    facility = set_state(factories.booked_facility(), days_past_due=dpd)
    service.classify(as_of=AS_OF)
    assert (fresh(facility).category, fresh(facility).stage) == (category, stage)


def test_restructured_is_special_mention_during_observation() -> None:
    facility = set_state(factories.booked_facility(), restructured_on=date(2025, 7, 1))
    assert service.classify(as_of=AS_OF) == 1
    change = ClassificationChange.objects.get(facility=facility)
    assert (change.category, change.basis) == (Category.SPECIAL_MENTION, ClassificationBasis.RESTRUCTURED)
    other = set_state(factories.booked_facility(), restructured_on=date(2025, 6, 30))
    assert service.classify(as_of=AS_OF) == 0  # its year of observation ended yesterday
    assert fresh(other).category == Category.NORMAL


def test_contagion_over_ten_percent_of_a_corporate_debtor() -> None:
    borrower = factories.borrower_party("Pudong Steel")
    bad = set_state(factories.booked_facility(borrower=borrower, amount=Decimal(200_000)), days_past_due=100)
    good = factories.booked_facility(borrower=borrower, amount=Decimal(1_000_000))
    undrawn = factories.booked_facility(borrower=borrower, amount=Decimal(500_000), drawn=False)
    assert service.classify(as_of=AS_OF) == 3  # 200k of 1.2M outstanding (16.7 %) is non-performing
    assert fresh(bad).category == Category.SUBSTANDARD
    for facility in (good, undrawn):
        assert (fresh(facility).category, fresh(facility).stage) == (Category.SUBSTANDARD, 3)
        assert ClassificationChange.objects.get(facility=facility).basis == ClassificationBasis.CONTAGION
    assert service.classify(as_of=AS_OF) == 0


def test_no_contagion_at_or_below_ten_percent_or_for_retail() -> None:
    borrower = factories.borrower_party("Jinqiao Foods")
    set_state(factories.booked_facility(borrower=borrower, amount=Decimal(100_000)), days_past_due=100)
    good = factories.booked_facility(borrower=borrower, amount=Decimal(900_000))
    person = factories.borrower_party("Wang Fang", kind=PartyKind.INDIVIDUAL)
    set_state(factories.booked_facility(borrower=person, amount=Decimal(500_000)), days_past_due=100)
    other = factories.booked_facility(borrower=person, amount=Decimal(500_000))
    retail_company = factories.borrower_party("Corner Shop")
    retail_company.segment = Segment.RETAIL
    retail_company.save(update_fields=["segment"])
    set_state(factories.booked_facility(borrower=retail_company, amount=Decimal(500_000)), days_past_due=100)
    shop_other = factories.booked_facility(borrower=retail_company, amount=Decimal(500_000))
    assert service.classify(as_of=AS_OF) == 3
    assert {fresh(f).category for f in (good, other, shop_other)} == {Category.NORMAL}


def test_facility_ids_take_the_whole_debtor() -> None:
    borrower = factories.borrower_party("Zhangjiang Chips")
    bad = set_state(factories.booked_facility(borrower=borrower, amount=Decimal(500_000)), days_past_due=100)
    good = factories.booked_facility(borrower=borrower, amount=Decimal(500_000))
    elsewhere = set_state(factories.booked_facility(), days_past_due=5)
    assert service.classify(as_of=AS_OF, facility_ids=[bad.pk]) == 2
    assert fresh(good).category == Category.SUBSTANDARD
    assert fresh(elsewhere).category == Category.NORMAL  # not asked for


def test_closed_facilities_are_not_classified() -> None:
    facility = set_state(factories.booked_facility(), days_past_due=100, status=FacilityStatus.REPAID)
    assert service.classify(as_of=AS_OF) == 0
    assert fresh(facility).category == Category.NORMAL


def _queries(as_of: date) -> int:
    with CaptureQueriesContext(connection) as ctx:
        service.classify(as_of=as_of)
    return len(ctx.captured_queries)


def test_a_fixed_number_of_queries_whatever_the_number_of_facilities() -> None:
    facilities = [factories.booked_facility() for _ in range(2)]
    for f in facilities:
        set_state(f, days_past_due=40)
    small = _queries(AS_OF)
    more = [factories.booked_facility() for _ in range(4)]
    for f in [*facilities, *more]:
        set_state(f, days_past_due=100)
    assert _queries(AS_OF) == small
    assert _queries(AS_OF) < small  # nothing to change: no writes at all


def test_chunks_split_borrowers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "CHUNK", 1)
    borrower = factories.borrower_party("Two Loans Ltd")
    a = set_state(factories.booked_facility(borrower=borrower), days_past_due=100)
    b = factories.booked_facility(borrower=borrower)
    c = set_state(factories.booked_facility(), days_past_due=10)
    assert service.classify(as_of=AS_OF) == 3
    assert [fresh(f).category for f in (a, b, c)] == [
        Category.SUBSTANDARD,
        Category.SUBSTANDARD,
        Category.SPECIAL_MENTION,
    ]
    assert AuditEvent.objects.filter(action="classification.changed").count() == 3


def test_contagion_reviews_name_the_other_group_members() -> None:
    parent = factories.borrower_party("Group Holdings")
    member = factories.borrower_party("Group Member A")
    sister = factories.borrower_party("Group Member B")
    outsider = factories.borrower_party("Unrelated Ltd")
    Relationship.objects.create(from_party=parent, to_party=member, kind=RelationshipKind.PARENT_OF)
    Relationship.objects.create(from_party=sister, to_party=parent, kind=RelationshipKind.MEMBER_OF_GROUP)
    other_head, other_member = factories.borrower_party("Other Group"), factories.borrower_party("Other Sub")
    Relationship.objects.create(from_party=other_head, to_party=other_member, kind=RelationshipKind.PARENT_OF)
    Relationship.objects.create(from_party=member, to_party=outsider, kind=RelationshipKind.SUPPLIER_OF)
    bad = set_state(factories.booked_facility(borrower=member), category=Category.DOUBTFUL, stage=3)
    set_state(factories.booked_facility(borrower=outsider), category=Category.SUBSTANDARD, stage=3)
    with CaptureQueriesContext(connection) as ctx:
        reviews = service.contagion_reviews(as_of=AS_OF)
    assert len(ctx.captured_queries) == 2  # the NPL facilities, the group edges
    assert sorted(reviews) == sorted([(parent.pk, member.pk, bad.pk), (sister.pk, member.pk, bad.pk)])
    assert service.contagion_reviews(as_of=AS_OF, party_ids=[sister.pk]) == [(sister.pk, member.pk, bad.pk)]


# --- manual changes ---------------------------------------------------------------------------------
def test_request_and_approve_an_upgrade(monitor: User, approver: User) -> None:
    facility = set_state(factories.booked_facility(), category=Category.SUBSTANDARD, stage=3)
    request = service.request_classification(
        actor=monitor,
        facility_id=facility.pk,
        category=Category.NORMAL,
        stage=1,
        reason="Arrears cured, audited",
    )
    assert request.status == RequestStatus.PENDING
    assert fresh(facility).category == Category.SUBSTANDARD  # nothing changes before the decision
    decided = service.decide_classification_request(actor=approver, request_id=request.pk, approve=True)
    assert decided.status == RequestStatus.APPROVED
    assert decided.decided_by == approver
    facility = fresh(facility)
    assert (facility.category, facility.stage) == (Category.NORMAL, 1)
    change = ClassificationChange.objects.get(facility=facility)
    assert change.basis == ClassificationBasis.MANUAL
    assert (change.proposed_by, change.approved_by) == (monitor, approver)
    assert change.reason == "Arrears cured, audited"
    assert AuditEvent.objects.filter(action="classification.approved", party_id=facility.borrower_id).exists()


def test_a_manual_downgrade_also_needs_a_second_person(monitor: User) -> None:
    facility = factories.booked_facility()
    request = service.request_classification(
        actor=monitor,
        facility_id=facility.pk,
        category=Category.SPECIAL_MENTION,
        stage=2,
        reason="Plant fire",
    )
    with pytest.raises(errors.PermissionDenied) as exc:
        service.decide_classification_request(actor=monitor, request_id=request.pk, approve=True)
    assert exc.value.code == "four_eyes"
    assert fresh(facility).category == Category.NORMAL


def test_who_may_request_and_decide(monitor: User, approver: User, rm_a: User) -> None:
    facility = factories.booked_facility()
    with pytest.raises(errors.PermissionDenied):
        service.request_classification(
            actor=approver, facility_id=facility.pk, category=Category.SPECIAL_MENTION, stage=2, reason="x"
        )
    request = service.request_classification(
        actor=monitor, facility_id=facility.pk, category=Category.SPECIAL_MENTION, stage=2, reason="x"
    )
    with pytest.raises(errors.PermissionDenied):
        service.decide_classification_request(actor=rm_a, request_id=request.pk, approve=True)


def test_below_the_rule_floor_is_refused(monitor: User, approver: User) -> None:
    facility = set_state(
        factories.booked_facility(), category=Category.SUBSTANDARD, stage=3, days_past_due=95
    )
    with pytest.raises(errors.ValidationFailed) as exc:
        service.request_classification(
            actor=monitor, facility_id=facility.pk, category=Category.SPECIAL_MENTION, stage=2, reason="Paid"
        )
    assert exc.value.code == "below_rule_floor"
    assert "category" in exc.value.field_errors
    with pytest.raises(errors.ValidationFailed) as exc:
        service.request_classification(
            actor=monitor, facility_id=facility.pk, category=Category.DOUBTFUL, stage=2, reason="Worse"
        )
    assert "stage" in exc.value.field_errors
    assert not ClassificationRequest.objects.exists()


def test_restructured_facility_stays_special_mention_in_observation(monitor: User) -> None:
    facility = set_state(
        factories.booked_facility(),
        category=Category.SPECIAL_MENTION,
        stage=2,
        restructured_on=date.today().replace(day=1),
    )
    with pytest.raises(errors.ValidationFailed) as exc:
        service.request_classification(
            actor=monitor, facility_id=facility.pk, category=Category.NORMAL, stage=1, reason="Performing"
        )
    assert "Restructured" in exc.value.field_errors["category"][0]


def test_contagion_floor_blocks_upgrading_one_facility(monitor: User) -> None:
    borrower = factories.borrower_party("Half Bad Ltd")
    set_state(
        factories.booked_facility(borrower=borrower), category=Category.SUBSTANDARD, stage=3, days_past_due=95
    )
    good = set_state(factories.booked_facility(borrower=borrower), category=Category.SUBSTANDARD, stage=3)
    with pytest.raises(errors.ValidationFailed) as exc:
        service.request_classification(
            actor=monitor, facility_id=good.pk, category=Category.NORMAL, stage=1, reason="This one pays"
        )
    assert "contagion" in exc.value.field_errors["category"][0].lower()


def test_the_floor_is_checked_again_on_decision(monitor: User, approver: User) -> None:
    facility = set_state(factories.booked_facility(), category=Category.SUBSTANDARD, stage=3)
    request = service.request_classification(
        actor=monitor, facility_id=facility.pk, category=Category.NORMAL, stage=1, reason="Cured"
    )
    set_state(facility, days_past_due=120)
    with pytest.raises(errors.Conflict) as exc:
        service.decide_classification_request(actor=approver, request_id=request.pk, approve=True)
    assert exc.value.code == "below_rule_floor"
    assert ClassificationRequest.objects.get(pk=request.pk).status == RequestStatus.PENDING


def test_one_pending_request_per_facility_and_decided_once(monitor: User, approver: User) -> None:
    facility = factories.booked_facility()
    request = service.request_classification(
        actor=monitor, facility_id=facility.pk, category=Category.SPECIAL_MENTION, stage=2, reason="Watch"
    )
    with pytest.raises(errors.Conflict):
        service.request_classification(
            actor=monitor, facility_id=facility.pk, category=Category.SUBSTANDARD, stage=3, reason="Worse"
        )
    with pytest.raises(errors.ValidationFailed):  # a rejection needs a note
        service.decide_classification_request(actor=approver, request_id=request.pk, approve=False)
    service.decide_classification_request(
        actor=approver, request_id=request.pk, approve=False, note="No evidence"
    )
    assert fresh(facility).category == Category.NORMAL
    with pytest.raises(errors.Conflict):
        service.decide_classification_request(actor=approver, request_id=request.pk, approve=True)


def test_withdraw_by_the_requester_only(
    monitor: User, approver: User, make_user: Callable[..., User]
) -> None:
    facility = factories.booked_facility()
    request = service.request_classification(
        actor=monitor, facility_id=facility.pk, category=Category.SPECIAL_MENTION, stage=2, reason="Watch"
    )
    with pytest.raises(errors.PermissionDenied):
        service.withdraw_classification_request(actor=approver, request_id=request.pk)
    assert service.withdraw_classification_request(actor=monitor, request_id=request.pk).status == "withdrawn"


def test_bad_input(monitor: User) -> None:
    facility = factories.booked_facility()
    for category, stage in (("great", 1), (Category.NORMAL, 4), (Category.NORMAL, True)):
        with pytest.raises(errors.ValidationFailed):
            service.request_classification(
                actor=monitor, facility_id=facility.pk, category=category, stage=stage, reason="x"
            )
    with pytest.raises(errors.ValidationFailed):
        service.request_classification(
            actor=monitor, facility_id=facility.pk, category=Category.SPECIAL_MENTION, stage=2, reason="  "
        )
    with pytest.raises(errors.ValidationFailed):  # no change
        service.request_classification(
            actor=monitor, facility_id=facility.pk, category=Category.NORMAL, stage=1, reason="Same"
        )
    with pytest.raises(errors.NotFound):
        service.request_classification(
            actor=monitor, facility_id=10**9, category=Category.SPECIAL_MENTION, stage=2, reason="x"
        )
    assert not ClassificationRequest.objects.exists()


def test_with_real_arrears_from_the_delinquency_refresh() -> None:
    facility = factories.booked_facility()  # monthly from 2026-01-15, nothing repaid
    refresh_delinquency(as_of=date(2026, 3, 1))
    assert service.classify(as_of=date(2026, 3, 1)) == 1
    assert (fresh(facility).category, fresh(facility).stage) == (Category.SPECIAL_MENTION, 2)  # 14 DPD
    refresh_delinquency(as_of=AS_OF)  # oldest unpaid due 2026-02-16 (the 15th is a Sunday): 134 DPD
    assert service.classify(as_of=AS_OF) == 1
    facility = fresh(facility)
    assert facility.days_past_due > 90
    assert (facility.category, facility.stage) == (Category.SUBSTANDARD, 3)
    assert list(
        ClassificationChange.objects.filter(facility=facility)
        .order_by("recorded_at", "id")
        .values_list("category", flat=True)
    ) == [Category.SPECIAL_MENTION, Category.SUBSTANDARD]
