"""Writes to proposals (term sheets): draft a version, edit the draft, issue it to the customer (which
supersedes the earlier versions), record the customer's rejection or acceptance. Acceptance turns the
proposal into a loan application in the same transaction, without re-typing."""

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.access import require_customer_writer
from lendcrm.core.concurrency import check_version, locked_row
from lendcrm.core.fields import MAX_ID
from lendcrm.core.models import User
from lendcrm.parties.models import Party
from lendcrm.parties.selectors import visible_parties
from lendcrm.pipeline.models import Opportunity, Proposal, ProposalFacility, ProposalStatus, Stage
from lendcrm.pipeline.selectors import visible_proposals
from lendcrm.pipeline.services.common import bump
from lendcrm.pipeline.services.opportunities import enter_stage, lock_opportunity, refuse_closed
from lendcrm.pipeline.terms import TERM_FIELDS, clean_facilities
from lendcrm.pipeline.validation import Invalid, Problems, check_future_date, check_long_text, collect, refuse

PROPOSAL_AUDIT_FIELDS = ("opportunity_id", "number", "status", "summary", "conditions", "valid_until")
PROPOSAL_INPUT = frozenset({"facilities", "guarantors", "summary", "conditions", "valid_until"})
MAX_GUARANTORS = 20
# Stages a proposal may be drafted or issued in; issuing moves an earlier opportunity to "proposal".
_BEFORE_PROPOSAL = (Stage.QUALIFY, Stage.NEEDS_ANALYSIS)


def _guarantor_ids(value: object) -> list[int]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise Invalid(_("Must be a list of party ids."))
    ids: list[int] = []
    for item in value:
        pk = item.pk if isinstance(item, Party) else item
        if isinstance(pk, bool) or not isinstance(pk, int) or not 1 <= pk <= MAX_ID:
            raise Invalid(_("Must be a list of party ids."))
        if pk in ids:
            raise Invalid(_("A guarantor is listed twice."))
        ids.append(pk)
    if len(ids) > MAX_GUARANTORS:
        raise Invalid(_("At most %(n)d guarantors.") % {"n": MAX_GUARANTORS})
    return ids


def _clean(data: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    problems: Problems = {name: [_("Unknown field.")] for name in sorted(set(data) - PROPOSAL_INPUT)}
    attrs: dict[str, Any] = {}
    for name in ("summary", "conditions"):
        if name in data:
            attrs[name] = collect(problems, name, check_long_text, data[name])
    if "valid_until" in data:
        attrs["valid_until"] = collect(problems, "valid_until", check_future_date, data["valid_until"])
    if "guarantors" in data:
        attrs["guarantors"] = collect(problems, "guarantors", _guarantor_ids, data["guarantors"])
    if creating or "facilities" in data:
        try:
            attrs["facilities"] = clean_facilities(data.get("facilities") or [])
        except errors.ValidationFailed as exc:
            for key, messages in exc.field_errors.items():
                problems.setdefault(key, []).extend(messages)
    refuse(problems)
    return attrs


def _guarantors(actor: User, ids: list[int], borrower_id: int) -> list[Party]:
    """The guarantors, each a party the actor may see and not the borrower itself."""
    found = {p.pk: p for p in visible_parties(viewer=actor).filter(pk__in=ids)}
    problems: Problems = {}
    for index, pk in enumerate(ids):
        if pk not in found:
            problems[f"guarantors.{index}"] = [_("No party you can see has the id %(id)s.") % {"id": pk}]
        elif pk == borrower_id:
            problems[f"guarantors.{index}"] = [_("The borrower cannot guarantee its own facilities.")]
    refuse(problems)
    return [found[pk] for pk in ids]


def _write_facilities(proposal: Proposal, facilities: list[dict[str, Any]]) -> None:
    ProposalFacility.objects.filter(proposal=proposal).delete()
    ProposalFacility.objects.bulk_create(
        [ProposalFacility(proposal=proposal, **terms) for terms in facilities]
    )


def _state(proposal: Proposal) -> dict[str, Any]:
    """What the audit trail keeps of a proposal: its fields, facilities and guarantors."""
    facilities = [
        {
            name: audit.to_jsonable(getattr(f, "product_id" if name == "product" else name))
            for name in TERM_FIELDS
        }
        for f in ProposalFacility.objects.filter(proposal=proposal).order_by("position", "id")
    ]
    return {
        **audit.snapshot(proposal, PROPOSAL_AUDIT_FIELDS),
        "facilities": facilities,
        "guarantors": sorted(proposal.guarantors.values_list("pk", flat=True)),
    }


def _record(actor: User, action: str, proposal: Proposal, party_id: int, changes: dict[str, Any]) -> None:
    audit.record(
        actor=actor,
        action=action,
        object_type="proposal",
        object_id=proposal.pk,
        party_id=party_id,
        changes=changes,
    )


def create_proposal(*, actor: User, opportunity_id: int, data: Mapping[str, Any]) -> Proposal:
    """Draft the next version of the financing scheme for an open opportunity, with its facilities."""
    require_customer_writer(actor)
    attrs = _clean(data, creating=True)
    with transaction.atomic():
        opportunity = lock_opportunity(actor, opportunity_id)
        refuse_closed(opportunity)
        if opportunity.stage == Stage.APPLICATION:
            raise errors.Conflict(
                _("A proposal for this opportunity was accepted already."), code="proposal_already_accepted"
            )
        guarantors = _guarantors(actor, attrs.pop("guarantors", []), opportunity.party_id)
        facilities = attrs.pop("facilities")
        last = Proposal.objects.filter(opportunity=opportunity).aggregate(n=Max("number"))["n"] or 0
        proposal = Proposal.objects.create(
            opportunity=opportunity, number=last + 1, created_by=actor, **attrs
        )
        _write_facilities(proposal, facilities)
        proposal.guarantors.set(guarantors)
        _record(actor, "proposal.created", proposal, opportunity.party_id, {"after": _state(proposal)})
    return proposal


def _lock(actor: User, proposal_id: int, expected_version: int | None) -> tuple[Opportunity, Proposal]:
    """The proposal and its opportunity, both locked (opportunity first, as everywhere)."""
    found = (
        visible_proposals(viewer=actor)
        .filter(pk=proposal_id)
        .values_list("opportunity_id", flat=True)
        .first()
    )
    if found is None:
        raise errors.NotFound()
    opportunity = lock_opportunity(actor, found)
    proposal: Proposal = locked_row(Proposal.objects.filter(opportunity=opportunity), proposal_id)
    check_version(proposal, expected_version)
    return opportunity, proposal


def _require_status(proposal: Proposal, *allowed: str) -> None:
    if proposal.status not in allowed:
        raise errors.Conflict(
            _("This proposal is %(status)s.") % {"status": proposal.get_status_display()},
            code="proposal_status",
        )


def update_proposal(
    *,
    actor: User,
    proposal_id: int,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
) -> Proposal:
    """Edit a draft; `facilities`, when given, replace the draft's facilities."""
    require_customer_writer(actor)
    attrs = _clean(changes, creating=False)
    with transaction.atomic():
        opportunity, proposal = _lock(actor, proposal_id, expected_version)
        _require_status(proposal, ProposalStatus.DRAFT)
        before = _state(proposal)
        if "guarantors" in attrs:
            proposal.guarantors.set(_guarantors(actor, attrs.pop("guarantors"), opportunity.party_id))
        if "facilities" in attrs:
            _write_facilities(proposal, attrs.pop("facilities"))
        for name, value in attrs.items():
            setattr(proposal, name, value)
        after = _state(proposal)
        if after == before:
            return proposal
        bump(proposal)
        _record(actor, "proposal.updated", proposal, opportunity.party_id, audit.diff(before, after))
    return proposal


def issue_proposal(*, actor: User, proposal_id: int, expected_version: int | None = None) -> Proposal:
    """Send a draft to the customer: earlier drafts and issued versions become superseded, and an
    opportunity still before the proposal stage moves to it."""
    require_customer_writer(actor)
    with transaction.atomic():
        opportunity, proposal = _lock(actor, proposal_id, expected_version)
        _require_status(proposal, ProposalStatus.DRAFT)
        refuse_closed(opportunity)
        if proposal.valid_until is not None and proposal.valid_until < timezone.localdate():
            raise errors.field_error("valid_until", _("The proposal's validity has already ended."))
        now = timezone.now()
        superseded = list(
            Proposal.objects.filter(
                opportunity=opportunity, status__in=(ProposalStatus.DRAFT, ProposalStatus.ISSUED)
            )
            .exclude(pk=proposal.pk)
            .values_list("pk", flat=True)
        )
        Proposal.objects.filter(pk__in=superseded).update(
            status=ProposalStatus.SUPERSEDED, version=F("version") + 1, updated_at=now
        )
        proposal.status, proposal.issued_at = ProposalStatus.ISSUED, now
        bump(proposal)
        if opportunity.stage in _BEFORE_PROPOSAL:
            enter_stage(opportunity, Stage.PROPOSAL, actor=actor, at=now)
        _record(
            actor,
            "proposal.issued",
            proposal,
            opportunity.party_id,
            {"after": {"status": proposal.status, "issued_at": now, "superseded": superseded}},
        )
    return proposal


def reject_proposal(*, actor: User, proposal_id: int, expected_version: int | None = None) -> Proposal:
    """Record that the customer turned an issued proposal down; the opportunity stays open for a new one."""
    require_customer_writer(actor)
    with transaction.atomic():
        opportunity, proposal = _lock(actor, proposal_id, expected_version)
        _require_status(proposal, ProposalStatus.ISSUED)
        proposal.status, proposal.decided_at = ProposalStatus.REJECTED, timezone.now()
        bump(proposal)
        _record(
            actor, "proposal.rejected", proposal, opportunity.party_id, {"after": {"status": proposal.status}}
        )
    return proposal


def accept_proposal(*, actor: User, proposal_id: int, expected_version: int | None = None) -> Proposal:
    """Record the customer's acceptance of an issued proposal: the opportunity moves to the application
    stage and the application is created from the proposal, all in one transaction (one accepted
    proposal per opportunity, enforced by the database too)."""
    from lendcrm.origination.services.applications import create_application_from_proposal

    require_customer_writer(actor)
    with transaction.atomic():
        opportunity, proposal = _lock(actor, proposal_id, expected_version)
        _require_status(proposal, ProposalStatus.ISSUED)
        refuse_closed(opportunity)
        if proposal.valid_until is not None and proposal.valid_until < timezone.localdate():
            raise errors.Conflict(_("This proposal's validity has ended."), code="proposal_expired")
        now = timezone.now()
        proposal.status, proposal.decided_at = ProposalStatus.ACCEPTED, now
        try:
            with transaction.atomic():
                bump(proposal)
        except IntegrityError as exc:
            raise errors.Conflict(
                _("Another proposal for this opportunity was accepted already."),
                code="proposal_already_accepted",
            ) from exc
        if opportunity.stage != Stage.APPLICATION:
            enter_stage(opportunity, Stage.APPLICATION, actor=actor, at=now)
        _record(
            actor, "proposal.accepted", proposal, opportunity.party_id, {"after": {"status": proposal.status}}
        )
        create_application_from_proposal(actor=actor, proposal=proposal)
    return proposal
