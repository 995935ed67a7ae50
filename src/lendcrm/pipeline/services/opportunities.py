"""Writes to opportunities: open one on a party, edit it, move it through the sales stages.

Stages move along `MOVES`: back and forth among qualify, needs analysis and proposal; to won or lost
from the later stages. The application stage is entered only by accepting a proposal
(`proposals.accept_proposal`), so an opportunity in it always has its application; a manual move there is
refused (409). Won and lost are final. Each move writes a `StageChange` row (the funnel and time in stage
are read from them) and, unless a probability is given, sets the stage's default probability
(`stage_probability`)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.access import require_customer_writer
from lendcrm.core.concurrency import check_version, locked_row
from lendcrm.core.models import User
from lendcrm.parties.selectors import can_see_party
from lendcrm.pipeline.models import CLOSED_STAGES, Lead, LostReason, Opportunity, Stage, StageChange
from lendcrm.pipeline.selectors import visible_opportunities
from lendcrm.pipeline.services.common import bump, check_staff
from lendcrm.pipeline.validation import (
    Problems,
    check_choice,
    check_future_date,
    check_int,
    check_text,
    collect,
    money_pair,
    refuse,
    resolve_products,
)

# Default win probability (%) per stage; a bank overrides it with the LENDCRM_STAGE_PROBABILITY setting.
DEFAULT_STAGE_PROBABILITY: dict[str, int] = {
    Stage.QUALIFY: 10,
    Stage.NEEDS_ANALYSIS: 25,
    Stage.PROPOSAL: 50,
    Stage.APPLICATION: 75,
    Stage.WON: 100,
    Stage.LOST: 0,
}
MOVES: dict[str, frozenset[str]] = {
    Stage.QUALIFY: frozenset({Stage.NEEDS_ANALYSIS, Stage.PROPOSAL, Stage.LOST}),
    Stage.NEEDS_ANALYSIS: frozenset({Stage.QUALIFY, Stage.PROPOSAL, Stage.LOST}),
    Stage.PROPOSAL: frozenset({Stage.QUALIFY, Stage.NEEDS_ANALYSIS, Stage.WON, Stage.LOST}),
    Stage.APPLICATION: frozenset({Stage.WON, Stage.LOST}),
    Stage.WON: frozenset(),
    Stage.LOST: frozenset(),
}
OPPORTUNITY_AUDIT_FIELDS = (
    "party_id",
    "lead_id",
    "title",
    "amount",
    "currency",
    "stage",
    "expected_close",
    "probability",
    "owner_id",
    "lost_reason",
    "lost_note",
    "closed_at",
)
# What an opportunity's input may name; `owner` is a User, `products` codes (or Products).
OPPORTUNITY_INPUT = frozenset(
    {"title", "products", "amount", "currency", "expected_close", "probability", "owner"}
)
MAX_PRODUCTS = 20


def stage_probability(stage: str) -> int:
    """The default probability of a stage (the setting LENDCRM_STAGE_PROBABILITY overrides ours)."""
    table = {**DEFAULT_STAGE_PROBABILITY, **getattr(settings, "LENDCRM_STAGE_PROBABILITY", {})}
    return int(table[stage])


def clean_opportunity(data: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """Opportunity input as attributes (`products` a list of Products), every bad field reported."""
    problems: Problems = {name: [_("Unknown field.")] for name in sorted(set(data) - OPPORTUNITY_INPUT)}
    attrs: dict[str, Any] = {}
    if creating and not data.get("title"):
        problems.setdefault("title", []).append(_("This field is required."))
    if "title" in data:
        attrs["title"] = collect(problems, "title", check_text, data["title"], limit=200, required=True)
    if "expected_close" in data:
        attrs["expected_close"] = collect(
            problems, "expected_close", check_future_date, data["expected_close"]
        )
    if data.get("probability") is not None:
        attrs["probability"] = collect(
            problems, "probability", check_int, data["probability"], low=0, high=100
        )
    if "amount" in data or "currency" in data:
        attrs["amount"], attrs["currency"] = money_pair(problems, data, "amount")
    products = data.get("products", [] if creating else None)
    if products is not None and (isinstance(products, str) or not isinstance(products, list | tuple)):
        problems.setdefault("products", []).append(_("Must be a list of product codes."))
    elif products is not None and not products:
        problems.setdefault("products", []).append(_("Name at least one product."))
    elif products is not None and len(products) > MAX_PRODUCTS:
        problems.setdefault("products", []).append(_("At most %(n)d products.") % {"n": MAX_PRODUCTS})
    refuse(problems)
    if products is not None:
        attrs["products"] = list(dict.fromkeys(resolve_products(products, lambda i: f"products.{i}")))
    if data.get("owner") is not None:
        attrs["owner"] = check_staff(data["owner"], "owner")
    return attrs


def _check_owner(owner: User, party_id: int) -> None:
    if not can_see_party(viewer=owner, party_id=party_id):
        raise errors.field_error("owner", _("The owner must be able to see this party."))


def enter_stage(
    opportunity: Opportunity, stage: str, *, actor: User, at: datetime, probability: int | None = None
) -> None:
    """Put a (locked or new) opportunity into `stage` with its history row; checks are the caller's."""
    from_stage = opportunity.stage if opportunity.pk else ""
    opportunity.stage = stage
    opportunity.stage_entered_at = at
    opportunity.probability = stage_probability(stage) if probability is None else probability
    opportunity.closed_at = at if stage in CLOSED_STAGES else None
    if opportunity.pk:
        bump(opportunity)
    else:
        opportunity.save()
    StageChange.objects.create(
        opportunity=opportunity,
        from_stage=from_stage,
        to_stage=stage,
        changed_at=at,
        changed_by=actor,
    )


def insert_opportunity(
    *, actor: User, party_id: int, attrs: dict[str, Any], lead: Lead | None = None
) -> Opportunity:
    """Write a new opportunity in stage qualify from cleaned attributes; runs in the caller's transaction."""
    attrs = dict(attrs)
    products = attrs.pop("products", [])
    owner = attrs.pop("owner", None) or actor
    _check_owner(owner, party_id)
    opportunity = Opportunity(party_id=party_id, lead=lead, owner=owner, **attrs)
    enter_stage(
        opportunity, Stage.QUALIFY, actor=actor, at=timezone.now(), probability=attrs.get("probability")
    )
    opportunity.products.set(products)
    audit.record(
        actor=actor,
        action="opportunity.created",
        object_type="opportunity",
        object_id=opportunity.pk,
        party_id=party_id,
        changes={
            "after": {
                **audit.snapshot(opportunity, OPPORTUNITY_AUDIT_FIELDS),
                "products": sorted(p.code for p in products),
            }
        },
    )
    return opportunity


def create_opportunity(*, actor: User, party_id: int, data: Mapping[str, Any]) -> Opportunity:
    """Open an opportunity on a party the actor may see (404 otherwise), in stage qualify."""
    if not can_see_party(viewer=actor, party_id=party_id):
        raise errors.NotFound()
    require_customer_writer(actor)
    attrs = clean_opportunity(data, creating=True)
    with transaction.atomic():
        return insert_opportunity(actor=actor, party_id=party_id, attrs=attrs)


def lock_opportunity(actor: User, opportunity_id: int, expected_version: int | None = None) -> Opportunity:
    """The opportunity row, locked, if the actor may see it (404 otherwise) and at the expected version."""
    opportunity: Opportunity = locked_row(visible_opportunities(viewer=actor), opportunity_id)
    check_version(opportunity, expected_version)
    return opportunity


def refuse_closed(opportunity: Opportunity) -> None:
    if opportunity.stage in CLOSED_STAGES:
        raise errors.Conflict(
            _("This opportunity is closed (%(stage)s).") % {"stage": opportunity.get_stage_display()},
            code="opportunity_closed",
        )


def _state(opportunity: Opportunity) -> dict[str, Any]:
    return {
        **audit.snapshot(opportunity, OPPORTUNITY_AUDIT_FIELDS),
        "products": sorted(opportunity.products.values_list("code", flat=True)),
    }


def update_opportunity(
    *,
    actor: User,
    opportunity_id: int,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
) -> Opportunity:
    """Change an open opportunity's title, products, amount, expected close, probability or owner."""
    require_customer_writer(actor)
    attrs = clean_opportunity(changes, creating=False)
    with transaction.atomic():
        opportunity = lock_opportunity(actor, opportunity_id, expected_version)
        refuse_closed(opportunity)
        before = _state(opportunity)
        products = attrs.pop("products", None)
        if "owner" in attrs:
            _check_owner(attrs["owner"], opportunity.party_id)
        for name, value in attrs.items():
            setattr(opportunity, name, value)
        if products is not None:
            opportunity.products.set(products)
        after = _state(opportunity)
        if after == before:
            return opportunity
        bump(opportunity)
        audit.record(
            actor=actor,
            action="opportunity.updated",
            object_type="opportunity",
            object_id=opportunity.pk,
            party_id=opportunity.party_id,
            changes=audit.diff(before, after),
        )
    return opportunity


def _check_move(opportunity: Opportunity, stage: str, lost_reason: str, lost_note: str) -> None:
    problems: Problems = {}
    collect(problems, "stage", check_choice, stage, Stage)
    if stage == Stage.LOST:
        if not lost_reason:
            problems["lost_reason"] = [_("Say why the opportunity was lost.")]
        else:
            collect(problems, "lost_reason", check_choice, lost_reason, LostReason)
        collect(problems, "lost_note", check_text, lost_note, limit=500)
    elif lost_reason or lost_note:
        problems["lost_reason"] = [_("Only a lost opportunity has a lost reason.")]
    refuse(problems)
    refuse_closed(opportunity)
    if stage == Stage.APPLICATION and opportunity.stage != Stage.APPLICATION:
        raise errors.Conflict(
            _("An opportunity reaches the application stage when its customer accepts a proposal."),
            code="application_via_proposal",
        )
    if stage != opportunity.stage and stage not in MOVES[opportunity.stage]:
        raise errors.Conflict(
            _("An opportunity cannot move from %(from)s to %(to)s.")
            % {"from": opportunity.get_stage_display(), "to": Stage(stage).label},
            code="illegal_stage_move",
        )


def move_opportunity(
    *,
    actor: User,
    opportunity_id: int,
    stage: str,
    lost_reason: str = "",
    lost_note: str = "",
    probability: int | None = None,
    expected_version: int | None = None,
) -> Opportunity:
    """Move an opportunity to another stage (see MOVES); lost needs a reason (400), a closed one or an
    illegal move is refused (409) and nothing changes. Moving to the stage it is in changes nothing."""
    require_customer_writer(actor)
    if probability is not None:
        probability = check_int_field("probability", probability)
    with transaction.atomic():
        opportunity = lock_opportunity(actor, opportunity_id, expected_version)
        _check_move(opportunity, stage, lost_reason, lost_note)
        if stage == opportunity.stage:
            return opportunity
        before = audit.snapshot(opportunity, OPPORTUNITY_AUDIT_FIELDS)
        opportunity.lost_reason, opportunity.lost_note = lost_reason, lost_note.strip()
        enter_stage(opportunity, stage, actor=actor, at=timezone.now(), probability=probability)
        audit.record(
            actor=actor,
            action="opportunity.moved",
            object_type="opportunity",
            object_id=opportunity.pk,
            party_id=opportunity.party_id,
            changes=audit.diff(before, audit.snapshot(opportunity, OPPORTUNITY_AUDIT_FIELDS)),
        )
    return opportunity


def check_int_field(name: str, value: object) -> int:
    problems: Problems = {}
    checked = collect(problems, name, check_int, value, low=0, high=100)
    refuse(problems)
    return int(checked)
