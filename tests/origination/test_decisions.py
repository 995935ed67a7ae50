"""Decisions through the service: four-eyes, authority at approval time, referral, committee votes with
quorum, majority and dissent, and conditions until met or waived. A refusal changes nothing."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, User
from lendcrm.core.roles import Role
from lendcrm.origination import authority, services
from lendcrm.origination.models import (
    Application,
    CommitteeVote,
    Condition,
    ConditionStatus,
    Decision,
    Outcome,
    Status,
    StatusChange,
    Vote,
)
from lendcrm.origination.services import decisions
from lendcrm.parties.models import Relationship, RelationshipKind
from tests.origination.authority_fixtures import (
    CreditBank,
    bank_fixture,  # noqa: F401 (the `bank` fixture)
    delegate,
    make_party,
)

pytestmark = pytest.mark.django_db


def _state(application: Application) -> tuple[Any, ...]:
    application.refresh_from_db()
    return (
        application.status,
        application.version,
        application.decision_round,
        application.required_level_id,
        Decision.objects.filter(application=application).count(),
        CommitteeVote.objects.filter(application=application).count(),
        Condition.objects.filter(application=application).count(),
        StatusChange.objects.filter(application=application).count(),
    )


def _refused(kind: type[errors.DomainError], call: Any, application: Application, **kwargs: Any) -> str:
    before = _state(application)
    with pytest.raises(kind) as caught:
        call(application_id=application.pk, **kwargs)
    assert _state(application) == before
    return caught.value.code


# --- single approver ------------------------------------------------------------------------------
def test_an_approval_records_who_when_level_matrix_memo_version_grade_and_exposure(bank: CreditBank) -> None:
    application = bank.application(grade=5, editors=[bank.analyst])  # memo v2
    officer = bank.approvers["branch_credit_officer"]
    decision = decisions.decide(actor=officer, application_id=application.pk, outcome=Outcome.APPROVED)
    application.refresh_from_db()
    assert application.status == Status.APPROVED
    assert application.decided_at == decision.decided_at
    assert (decision.round, decision.decided_by, decision.level.slug, decision.matrix.number) == (
        1,
        officer,
        "branch_credit_officer",
        1,
    )
    assert (decision.memo_version, decision.risk_grade) == (2, 5)
    assert (decision.group_exposure, decision.exposure_currency) == (Decimal("500000.00"), "CNY")
    event = AuditEvent.objects.filter(action="application.decided").get()
    assert event.changes["level"] == "branch_credit_officer"
    assert event.actor_id == officer.pk


def test_approval_with_conditions_creates_them_open(bank: CreditBank) -> None:
    application = bank.application()
    decision = decisions.decide(
        actor=bank.approvers["rm"],
        application_id=application.pk,
        outcome=Outcome.APPROVED_WITH_CONDITIONS,
        conditions=["  Pledge of receivables registered ", "Insurance assigned"],
    )
    assert [(c.text, c.status, c.decision_id) for c in Condition.objects.order_by("id")] == [
        ("Pledge of receivables registered", ConditionStatus.OPEN, decision.pk),
        ("Insurance assigned", ConditionStatus.OPEN, decision.pk),
    ]
    application.refresh_from_db()
    assert application.status == Status.APPROVED_WITH_CONDITIONS


@pytest.mark.parametrize(
    ("outcome", "comment", "conditions", "field"),
    [
        ("maybe", "", [], "outcome"),
        (Outcome.APPROVED_WITH_CONDITIONS, "", [], "conditions"),
        (Outcome.APPROVED_WITH_CONDITIONS, "", ["  "], "conditions.0"),
        (Outcome.APPROVED, "", ["extra"], "conditions"),
        (Outcome.DECLINED, " ", [], "comment"),
        (Outcome.REFERRED_UP, "", [], "comment"),
        (Outcome.APPROVED, "x" * 5001, [], "comment"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    bank: CreditBank, outcome: str, comment: str, conditions: list[str], field: str
) -> None:
    application = bank.application()
    before = _state(application)
    with pytest.raises(errors.ValidationFailed) as caught:
        decisions.decide(
            actor=bank.approvers["rm"],
            application_id=application.pk,
            outcome=outcome,
            comment=comment,
            conditions=conditions,
        )
    assert field in caught.value.field_errors
    assert _state(application) == before


def test_the_maker_and_anyone_beyond_authority_are_refused(bank: CreditBank) -> None:
    application = bank.application(grade=6)
    delegate(bank.analyst, "head_office_credit")
    decide = decisions.decide
    assert _refused(errors.PermissionDenied, decide, application, actor=bank.analyst, outcome="approved") == (
        "maker_cannot_approve"
    )
    assert _refused(
        errors.PermissionDenied,
        decide,
        application,
        actor=bank.approvers["rm"],
        outcome="declined",
        comment="no",
    ) == ("beyond_authority")


def test_not_awaiting_a_decision_is_409(bank: CreditBank) -> None:
    application = bank.application(status=Status.CREDIT_ANALYSIS)
    assert (
        _refused(
            errors.Conflict, decisions.decide, application, actor=bank.approvers["rm"], outcome="approved"
        )
        == "not_awaiting_decision"
    )


def test_a_second_decision_on_the_same_application_is_409(bank: CreditBank) -> None:
    application = bank.application()
    decisions.decide(actor=bank.approvers["rm"], application_id=application.pk, outcome=Outcome.APPROVED)
    officer = bank.approvers["branch_credit_officer"]
    assert _refused(errors.Conflict, decisions.decide, application, actor=officer, outcome="approved") == (
        "not_awaiting_decision"
    )
    assert Decision.objects.filter(application=application).count() == 1


def test_a_stale_version_is_412(bank: CreditBank) -> None:
    application = bank.application()
    with pytest.raises(errors.PreconditionFailed):
        decisions.decide(
            actor=bank.approvers["rm"],
            application_id=application.pk,
            outcome=Outcome.APPROVED,
            expected_version=application.version + 5,
        )


def test_out_of_scope_is_404(bank: CreditBank, rm_b: User) -> None:
    application = bank.application()
    delegate(rm_b, "rm")
    assert (
        _refused(errors.NotFound, decisions.decide, application, actor=rm_b, outcome="approved")
        == "not_found"
    )


def test_exposure_that_moved_after_routing_is_refused_at_approval(bank: CreditBank) -> None:
    application = bank.application(facilities=[("working_capital", "900000", "CNY")])
    member = make_party(bank.branch)
    Relationship.objects.create(from_party=member, to_party=bank.borrower, kind=RelationshipKind.SPONSOR_OF)
    bank.application(
        borrower=member, status=Status.CONDITIONS_MET, facilities=[("term_loan", "200000", "CNY")]
    )
    rm_level = bank.approvers["rm"]
    assert _refused(
        errors.PermissionDenied, decisions.decide, application, actor=rm_level, outcome="approved"
    ) == ("beyond_authority")
    decision = decisions.decide(
        actor=bank.approvers["branch_credit_officer"], application_id=application.pk, outcome=Outcome.APPROVED
    )
    assert decision.group_exposure == Decimal("1100000.00")


def test_referral_goes_to_the_next_level_above_the_actor_in_a_new_round(bank: CreditBank) -> None:
    application = bank.application()
    decision = decisions.decide(
        actor=bank.approvers["rm"],
        application_id=application.pk,
        outcome=Outcome.REFERRED_UP,
        comment="New sector",
    )
    application.refresh_from_db()
    assert (decision.round, decision.outcome, decision.level.slug) == (1, Outcome.REFERRED_UP, "rm")
    assert (application.status, application.decision_round) == (Status.REFERRED_UP, 2)
    assert application.required_level.slug == "branch_credit_officer"
    assert application.decided_at is None
    # The referring level cannot now decide it; the next one can, in round 2.
    assert (
        _refused(
            errors.PermissionDenied,
            decisions.decide,
            application,
            actor=bank.approvers["rm"],
            outcome="approved",
        )
        == "beyond_authority"
    )
    second = decisions.decide(
        actor=bank.approvers["branch_credit_officer"],
        application_id=application.pk,
        outcome=Outcome.DECLINED,
        comment="Weak cash flow",
    )
    assert second.round == 2
    application.refresh_from_db()
    assert application.status == Status.DECLINED


def test_referral_from_head_office_reaches_the_committee(bank: CreditBank) -> None:
    application = bank.application()
    decisions.decide(
        actor=bank.approvers["head_office_credit"],
        application_id=application.pk,
        outcome=Outcome.REFERRED_UP,
        comment="Board interest",
    )
    assert (
        _refused(
            errors.Conflict,
            decisions.decide,
            application,
            actor=bank.approvers["head_office_credit"],
            outcome="approved",
        )
        == "committee_vote_required"
    )
    decisions.cast_vote(actor=bank.committee[0], application_id=application.pk, vote=Vote.APPROVE)
    assert CommitteeVote.objects.get().round == 2


# --- committee ------------------------------------------------------------------------------------
def _vote(bank: CreditBank, application: Application, index: int, vote: str, comment: str = "") -> None:
    decisions.cast_vote(
        actor=bank.committee[index], application_id=application.pk, vote=vote, comment=comment
    )


def test_a_single_approver_cannot_decide_a_committee_application(bank: CreditBank) -> None:
    application = bank.application(grade=9)
    assert (
        _refused(errors.Conflict, decisions.decide, application, actor=bank.committee[0], outcome="approved")
        == "committee_vote_required"
    )


def test_votes_decide_at_quorum_by_majority_with_dissent_on_record(bank: CreditBank) -> None:
    application = bank.application(grade=9)
    _vote(bank, application, 0, Vote.APPROVE)
    _vote(bank, application, 1, Vote.DECLINE, "Leverage too high")
    application.refresh_from_db()
    assert application.status == Status.PENDING_DECISION
    assert not Decision.objects.exists()
    _vote(bank, application, 2, Vote.APPROVE_WITH_CONDITIONS, "Cash sweep above 3x\n\nQuarterly DSCR test")
    decision = Decision.objects.get()
    assert decision.outcome == Outcome.APPROVED_WITH_CONDITIONS
    assert decision.decided_by == bank.committee[2]  # completed the quorum
    assert decision.level.slug == "credit_committee"
    assert list(Condition.objects.values_list("text", flat=True)) == [
        "Cash sweep above 3x",
        "Quarterly DSCR test",
    ]
    assert list(CommitteeVote.objects.values_list("vote", "comment")) == [
        (Vote.APPROVE, ""),
        (Vote.DECLINE, "Leverage too high"),
        (Vote.APPROVE_WITH_CONDITIONS, "Cash sweep above 3x\n\nQuarterly DSCR test"),
    ]
    application.refresh_from_db()
    assert application.status == Status.APPROVED_WITH_CONDITIONS
    # Too late for the fourth member.
    assert (
        _refused(
            errors.Conflict, decisions.cast_vote, application, actor=bank.committee[3], vote=Vote.APPROVE
        )
        == "not_awaiting_decision"
    )


@pytest.mark.parametrize(
    ("votes", "outcome"),
    [
        ([Vote.APPROVE, Vote.APPROVE, Vote.APPROVE], Outcome.APPROVED),
        ([Vote.APPROVE, Vote.ABSTAIN, Vote.ABSTAIN], Outcome.APPROVED),  # abstentions make quorum only
        ([Vote.APPROVE, Vote.DECLINE, Vote.ABSTAIN], Outcome.DECLINED),  # a tie declines
        ([Vote.ABSTAIN, Vote.ABSTAIN, Vote.ABSTAIN], Outcome.DECLINED),
        ([Vote.DECLINE, Vote.DECLINE, Vote.APPROVE], Outcome.DECLINED),
    ],
)
def test_majority_rule(bank: CreditBank, votes: list[str], outcome: str) -> None:
    application = bank.application(grade=9)
    for index, vote in enumerate(votes):
        _vote(bank, application, index, vote, "Reason" if vote == Vote.DECLINE else "")
    assert Decision.objects.get().outcome == outcome


def test_vote_refusals(bank: CreditBank) -> None:
    application = bank.application(grade=9)
    vote = decisions.cast_vote
    member = bank.committee[0]
    with pytest.raises(errors.ValidationFailed) as caught:
        vote(actor=member, application_id=application.pk, vote=Vote.DECLINE)
    assert "comment" in caught.value.field_errors  # dissent is recorded, not implied
    with pytest.raises(errors.ValidationFailed):
        vote(actor=member, application_id=application.pk, vote=Vote.APPROVE_WITH_CONDITIONS)
    _vote(bank, application, 0, Vote.APPROVE)
    assert _refused(
        errors.Conflict, vote, application, actor=member, vote=Vote.DECLINE, comment="changed"
    ) == ("already_voted")
    delegate(bank.analyst, "credit_committee")
    assert _refused(errors.PermissionDenied, vote, application, actor=bank.analyst, vote="approve") == (
        "maker_cannot_approve"
    )
    assert _refused(
        errors.PermissionDenied, vote, application, actor=bank.approvers["head_office_credit"], vote="approve"
    ) == ("beyond_authority")
    small = bank.application()
    assert _refused(errors.Conflict, vote, small, actor=member, vote="approve") == "committee_not_required"


# --- conditions -----------------------------------------------------------------------------------
@pytest.fixture
def condition(bank: CreditBank) -> Condition:
    application = bank.application()
    decisions.decide(
        actor=bank.approvers["rm"],
        application_id=application.pk,
        outcome=Outcome.APPROVED_WITH_CONDITIONS,
        conditions=["Mortgage registered"],
    )
    return Condition.objects.get()


def test_a_condition_is_met_with_evidence(bank: CreditBank, condition: Condition) -> None:
    met = decisions.resolve_condition(
        actor=bank.rm, condition_id=condition.pk, status=ConditionStatus.MET, note="Registry extract 2025-118"
    )
    assert (met.status, met.note, met.resolved_by) == (
        ConditionStatus.MET,
        "Registry extract 2025-118",
        bank.rm,
    )
    with pytest.raises(errors.Conflict) as caught:
        decisions.resolve_condition(actor=bank.rm, condition_id=condition.pk, status="met", note="again")
    assert caught.value.code == "condition_resolved"


def test_waiving_needs_an_approver_who_is_not_the_maker_and_a_reason(
    bank: CreditBank, condition: Condition
) -> None:
    resolve = decisions.resolve_condition
    with pytest.raises(errors.ValidationFailed):
        resolve(actor=bank.approvers["regional_head"], condition_id=condition.pk, status="waived", note=" ")
    with pytest.raises(errors.PermissionDenied):
        resolve(actor=bank.rm, condition_id=condition.pk, status="waived", note="not needed")
    bank.rm.role_grants.create(role=Role.CREDIT_APPROVER)
    maker = User.objects.get(pk=bank.rm.pk)
    with pytest.raises(errors.PermissionDenied) as caught:
        resolve(actor=maker, condition_id=condition.pk, status="waived", note="not needed")
    assert caught.value.code == "maker_cannot_approve"
    condition.refresh_from_db()
    assert condition.status == ConditionStatus.OPEN
    waived = resolve(
        actor=bank.approvers["regional_head"],
        condition_id=condition.pk,
        status="waived",
        note="Covered by guarantee",
    )
    assert waived.status == ConditionStatus.WAIVED


def test_a_condition_of_another_application_or_branch_is_not_found(
    bank: CreditBank, condition: Condition, rm_b: User
) -> None:
    other = bank.application()
    with pytest.raises(errors.NotFound):
        decisions.resolve_condition(
            actor=bank.rm, condition_id=condition.pk, application_id=other.pk, status="met", note="x"
        )
    with pytest.raises(errors.NotFound):
        decisions.resolve_condition(actor=rm_b, condition_id=condition.pk, status="met", note="x")
    with pytest.raises(errors.NotFound):
        decisions.resolve_condition(actor=bank.rm, condition_id=987654, status="met", note="x")


def test_queue_drops_what_was_decided(bank: CreditBank) -> None:
    application = bank.application()
    officer = bank.approvers["branch_credit_officer"]
    assert [a.pk for a in authority.decision_queue(officer)] == [application.pk]
    decisions.decide(actor=officer, application_id=application.pk, outcome=Outcome.APPROVED)
    assert list(authority.decision_queue(officer)) == []


# --- through the application services -------------------------------------------------------------
def test_the_whole_path_through_the_services(apps: Any, approver: User, rm_a: User) -> None:
    """Submitted, analysed and sent for decision by the application services (which route it), decided
    here, then offered: the decision service and the rest of the workflow fit together."""
    application = apps.at(Status.PENDING_DECISION)  # CNY 5,000,000 working capital, grade 4
    assert application.required_level.slug == "branch_credit_officer"
    with pytest.raises(errors.PermissionDenied):
        decisions.decide(actor=approver, application_id=application.pk, outcome=Outcome.APPROVED)
    delegate(approver, "branch_credit_officer")
    decision = decisions.decide(actor=approver, application_id=application.pk, outcome=Outcome.APPROVED)
    assert (decision.level.slug, decision.memo_version, decision.risk_grade) == (
        "branch_credit_officer",
        application.memo.version,
        4,
    )
    offer = services.issue_offer(
        actor=rm_a, application_id=application.pk, expires_on=timezone.localdate() + timedelta(days=30)
    )
    application.refresh_from_db()
    assert (application.status, offer.application_id) == (Status.OFFER_ISSUED, application.pk)
