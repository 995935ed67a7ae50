"""Credit decisions: a single approver's decision within delegated authority, committee votes, and the
conditions of approval until they are met or waived.

Every decision re-checks the authority against the state at that moment (`authority.assess`), under the
application's row lock, so two approvers acting at once produce one decision: the second finds the
application decided and gets 409. The unique (application, round) constraint is the last line of defence.

Committee rule: votes are counted once the number of distinct members who voted this round reaches the
committee's quorum. Abstentions count towards the quorum but not the majority; the application is approved
when approving votes (with or without conditions) outnumber declining ones, otherwise declined — a tie,
all abstentions included, declines. Approval carries conditions when any approving member attached some
(one per line of their vote's comment). The member whose vote completed the quorum is recorded as the
decision's maker; every vote, with its comment or dissent, stays on record.
"""

from collections.abc import Sequence
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.concurrency import check_version
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.origination import authority, workflow
from lendcrm.origination.models import (
    Application,
    AuthorityLevel,
    CommitteeVote,
    Condition,
    ConditionKind,
    ConditionStatus,
    CreditMemo,
    Decision,
    Outcome,
    Status,
    Vote,
)
from lendcrm.origination.services.applications import bump, lock_application

MAX_COMMENT = 5000
MAX_CONDITION = 2000
MAX_CONDITIONS = 30
MAX_NOTE = 500
APPROVING_VOTES = frozenset({Vote.APPROVE, Vote.APPROVE_WITH_CONDITIONS})
# Roles that may mark a condition met (with evidence) and that may waive one (with a reason).
CONDITION_MET_ROLES = frozenset(
    {Role.RELATIONSHIP_MANAGER, Role.CREDIT_ANALYST, Role.CREDIT_APPROVER, Role.COMMITTEE_MEMBER}
)
CONDITION_WAIVE_ROLES = frozenset({Role.CREDIT_APPROVER, Role.COMMITTEE_MEMBER})
# Where a condition can still be worked on: from approval until the application is ready to disburse.
CONDITION_STATUSES = frozenset(
    {
        Status.APPROVED_WITH_CONDITIONS,
        Status.OFFER_ISSUED,
        Status.OFFER_ACCEPTED,
        Status.CONDITIONS_MET,
        Status.READY_TO_DISBURSE,
    }
)


# --- input ----------------------------------------------------------------------------------------
def _text(name: str, value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise errors.field_error(name, _("Must be text."))
    if len(value) > limit:
        raise errors.field_error(name, _("At most %(n)d characters.") % {"n": limit})
    return value.strip()


def _conditions(outcome: str, raw: Sequence[str]) -> list[str]:
    if isinstance(raw, str) or not isinstance(raw, Sequence):
        raise errors.field_error("conditions", _("Send a list of conditions."))
    if len(raw) > MAX_CONDITIONS:
        raise errors.field_error("conditions", _("At most %(n)d conditions.") % {"n": MAX_CONDITIONS})
    texts = [_text(f"conditions.{i}", item, MAX_CONDITION) for i, item in enumerate(raw)]
    for index, text in enumerate(texts):
        if not text:
            raise errors.field_error(f"conditions.{index}", _("A condition cannot be empty."))
    if outcome == Outcome.APPROVED_WITH_CONDITIONS and not texts:
        raise errors.field_error("conditions", _("Give at least one condition of approval."))
    if outcome != Outcome.APPROVED_WITH_CONDITIONS and texts:
        raise errors.field_error("conditions", _("Only an approval with conditions carries conditions."))
    return texts


# --- shared ---------------------------------------------------------------------------------------
def _awaiting(application: Application) -> None:
    if application.status not in workflow.AWAITING_DECISION:
        raise errors.Conflict(
            _("This application is not awaiting a credit decision (it is “%(status)s”).")
            % {"status": Status(application.status).label},
            code="not_awaiting_decision",
        )


def _level_above(found: authority.Assessment, level: AuthorityLevel) -> AuthorityLevel:
    above = [lim.level for lim in found.matrix.limits if lim.level.rank > level.rank]
    if not above:
        raise errors.Conflict(_("There is no level above yours to refer to."), code="no_level_above")
    return min(above, key=lambda lvl: lvl.rank)


def _record(
    *,
    actor: User,
    application: Application,
    found: authority.Assessment,
    level: AuthorityLevel,
    outcome: str,
    comment: str,
    conditions: Sequence[str],
) -> Decision:
    """Write the decision with what it rested on, its conditions, and the status it leads to."""
    now = timezone.now()
    try:
        with transaction.atomic():
            decision = Decision.objects.create(
                application=application,
                round=application.decision_round,
                outcome=outcome,
                decided_by=actor,
                decided_at=now,
                level=level,
                matrix=found.matrix.matrix,
                memo_version=found.memo.version,
                risk_grade=found.grade,
                group_exposure=found.exposure.total,
                exposure_currency=found.exposure.currency,
                comment=comment,
            )
    except IntegrityError as exc:
        raise errors.Conflict(_("This round has already been decided."), code="already_decided") from exc
    Condition.objects.bulk_create(
        [
            Condition(application=application, decision=decision, kind=ConditionKind.PRECEDENT, text=text)
            for text in conditions
        ]
    )
    workflow.move(application, outcome, actor=actor, note=comment[:500])
    fields = ["updated_at"]
    if outcome == Outcome.REFERRED_UP:
        application.required_level = _level_above(found, level)
        application.decision_round += 1
        fields += ["required_level", "decision_round"]
    else:
        application.decided_at = now
        fields.append("decided_at")
    application.save(update_fields=fields)
    audit.record(
        actor=actor,
        action="application.decided",
        object_type="application",
        object_id=application.pk,
        party_id=application.borrower_id,
        changes={
            "decision": decision.pk,
            "round": decision.round,
            "outcome": outcome,
            "level": level.slug,
            "matrix": found.matrix.matrix.number,
            "memo_version": decision.memo_version,
            "risk_grade": decision.risk_grade,
            "group_exposure": decision.group_exposure,
            "currency": decision.exposure_currency,
            "conditions": list(conditions),
            "referred_to": application.required_level.slug
            if outcome == Outcome.REFERRED_UP and application.required_level
            else None,
        },
    )
    return decision


# --- single approver ------------------------------------------------------------------------------
def decide(
    *,
    actor: User,
    application_id: object,
    outcome: str,
    comment: str = "",
    conditions: Sequence[str] = (),
    expected_version: int | None = None,
    when: date | None = None,
) -> Decision:
    """Approve, approve with conditions, decline or refer up, within the actor's delegated authority as
    it stands now (403 beyond it or for the maker; 409 when not awaiting a decision or when the committee
    must vote). Refer up sends it to the next level above the actor's for a new round."""
    if outcome not in Outcome.values:
        raise errors.field_error("outcome", _("Unknown outcome."))
    comment = _text("comment", comment, MAX_COMMENT)
    if outcome in (Outcome.DECLINED, Outcome.REFERRED_UP) and not comment:
        raise errors.field_error("comment", _("Say why the application is declined or referred up."))
    texts = _conditions(outcome, conditions)
    with transaction.atomic():
        application = lock_application(actor=actor, application_id=application_id)
        check_version(application, expected_version)
        _awaiting(application)
        found = authority.assess(application)
        if found.required.is_committee:
            raise errors.Conflict(
                _("%(level)s decides this application by vote.") % {"level": found.required.name},
                code="committee_vote_required",
            )
        level = authority.authorise(actor, application, found, when or timezone.localdate())
        return _record(
            actor=actor,
            application=application,
            found=found,
            level=level,
            outcome=outcome,
            comment=comment,
            conditions=texts,
        )


# --- committee ------------------------------------------------------------------------------------
def cast_vote(
    *,
    actor: User,
    application_id: object,
    vote: str,
    comment: str = "",
    expected_version: int | None = None,
    when: date | None = None,
) -> CommitteeVote:
    """One committee member's vote in the current round (see the module docstring for how votes decide).
    A decline needs its dissent in the comment; an approval with conditions needs them, one per line."""
    if vote not in Vote.values:
        raise errors.field_error("vote", _("Unknown vote."))
    comment = _text("comment", comment, MAX_COMMENT)
    if vote == Vote.DECLINE and not comment:
        raise errors.field_error("comment", _("A vote to decline records its dissent: say why."))
    if vote == Vote.APPROVE_WITH_CONDITIONS and not comment:
        raise errors.field_error("comment", _("State the conditions, one per line."))
    with transaction.atomic():
        application = lock_application(actor=actor, application_id=application_id)
        check_version(application, expected_version)
        _awaiting(application)
        found = authority.assess(application)
        if not found.required.is_committee:
            raise errors.Conflict(
                _("This application is decided by a single approver, not by committee vote."),
                code="committee_not_required",
            )
        level = authority.authorise(actor, application, found, when or timezone.localdate())
        round_votes = CommitteeVote.objects.filter(application=application, round=application.decision_round)
        if round_votes.filter(member_id=actor.pk).exists():
            raise errors.Conflict(_("You have already voted in this round."), code="already_voted")
        cast = CommitteeVote.objects.create(
            application=application,
            round=application.decision_round,
            member=actor,
            vote=vote,
            comment=comment,
            cast_at=timezone.now(),
        )
        audit.record(
            actor=actor,
            action="application.vote_cast",
            object_type="application",
            object_id=application.pk,
            party_id=application.borrower_id,
            changes={"round": cast.round, "vote": vote, "level": level.slug, "comment": comment},
        )
        votes = list(round_votes.values_list("vote", "comment"))
        if len(votes) >= level.quorum:
            outcome, conditions = tally(votes)
            _record(
                actor=actor,
                application=application,
                found=found,
                level=level,
                outcome=outcome,
                comment="",
                conditions=conditions,
            )
        else:
            bump(application)
    return cast


def tally(votes: Sequence[tuple[str, str]]) -> tuple[str, list[str]]:
    """The committee's outcome from (vote, comment) pairs, and the approving members' conditions."""
    approving = [(v, c) for v, c in votes if v in APPROVING_VOTES]
    declining = sum(1 for v, _c in votes if v == Vote.DECLINE)
    if len(approving) <= declining:
        return Outcome.DECLINED, []
    conditions = [
        line.strip()
        for v, c in approving
        if v == Vote.APPROVE_WITH_CONDITIONS
        for line in c.splitlines()
        if line.strip()
    ]
    if any(v == Vote.APPROVE_WITH_CONDITIONS for v, _c in approving):
        return Outcome.APPROVED_WITH_CONDITIONS, list(dict.fromkeys(conditions))
    return Outcome.APPROVED, []


# --- conditions -----------------------------------------------------------------------------------
def resolve_condition(
    *, actor: User, condition_id: object, status: str, note: str, application_id: object | None = None
) -> Condition:
    """Mark an open condition met (the note is the evidence) or waive it (the note is the reason; an
    approver who did not prepare the application). With `application_id`, the condition must be its."""
    if status not in (ConditionStatus.MET, ConditionStatus.WAIVED):
        raise errors.field_error("status", _("A condition is resolved as met or waived."))
    note = _text("note", note, MAX_NOTE)
    if not note:
        message = _("Give the evidence.") if status == ConditionStatus.MET else _("Say why it is waived.")
        raise errors.field_error("note", message)
    pk = row_id(condition_id)
    owner_id = Condition.objects.filter(pk=pk).values_list("application_id", flat=True).first()
    if owner_id is None or (application_id is not None and row_id(application_id) != owner_id):
        raise errors.NotFound()
    with transaction.atomic():
        application = lock_application(actor=actor, application_id=owner_id)
        condition = Condition.objects.select_for_update().get(pk=pk)
        roles = CONDITION_WAIVE_ROLES if status == ConditionStatus.WAIVED else CONDITION_MET_ROLES
        if not (actor.is_active and actor.role_slugs & roles):
            raise errors.PermissionDenied(
                _("Only a credit approver may waive a condition.")
                if status == ConditionStatus.WAIVED
                else _("Your roles do not allow resolving conditions.")
            )
        if status == ConditionStatus.WAIVED and actor.pk in authority.makers(application, _memo(application)):
            raise errors.PermissionDenied(
                _("You prepared this application, so someone else must waive its conditions."),
                code="maker_cannot_approve",
            )
        if application.status not in CONDITION_STATUSES:
            raise errors.Conflict(
                _("This application's conditions can no longer change."), code="application_closed"
            )
        if condition.status != ConditionStatus.OPEN:
            raise errors.Conflict(_("This condition is already resolved."), code="condition_resolved")
        condition.status = status
        condition.note = note
        condition.resolved_at = timezone.now()
        condition.resolved_by = actor
        condition.save(update_fields=["status", "note", "resolved_at", "resolved_by"])
        bump(application)
        audit.record(
            actor=actor,
            action="application.condition_resolved",
            object_type="application",
            object_id=application.pk,
            party_id=application.borrower_id,
            changes={"condition": condition.pk, "status": status, "note": note},
        )
    return condition


def _memo(application: Application) -> CreditMemo | None:
    return CreditMemo.objects.filter(application_id=application.pk).first()
