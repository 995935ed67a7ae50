"""Every read of the pipeline, scoped to the viewer.

Opportunities and proposals follow their party's scope (`core.access.party_scope`). Leads have no party
until they are matched or qualified, so they have their own rule: whole-book roles see every lead;
relationship managers and service agents see the leads booked at their branch and those they own;
anyone else sees none. A lead matched to a party the viewer may not see says only that it matches an
existing customer (`party_visible` is false), never which one."""

from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from lendcrm.core import errors
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.selectors import given
from lendcrm.pipeline.metrics import funnel as funnel
from lendcrm.pipeline.metrics import time_in_stage as time_in_stage
from lendcrm.pipeline.models import (
    CLOSED_STAGES,
    OPEN_STAGES,
    Lead,
    Opportunity,
    Product,
    Proposal,
    ProposalFacility,
    Stage,
    StageChange,
)
from lendcrm.pipeline.scope import lead_scope as lead_scope
from lendcrm.pipeline.scope import party_visible_flag, visible_leads, visible_opportunities
from lendcrm.pipeline.scope import visible_proposals as visible_proposals

# The board shows every open opportunity and those closed within this many days.
RECENTLY_CLOSED_DAYS = 30
BOARD_COLUMN_LIMIT = 200


# --- products ---------------------------------------------------------------------------------------
def product_list(*, viewer: User, active_only: bool = True, family: str = "") -> QuerySet[Product]:
    """The catalogue, in its display order; not customer data, so every member of staff reads it."""
    qs = Product.objects.order_by("position", "code")
    return given(qs.filter(is_active=True) if active_only else qs, family=family)


# --- leads ------------------------------------------------------------------------------------------
def _leads(viewer: User) -> QuerySet[Lead]:
    return (
        visible_leads(viewer=viewer)
        .select_related("product", "branch", "owner")
        .annotate(party_visible=party_visible_flag(viewer))
    )


def lead_list(
    *,
    viewer: User,
    status: str = "",
    source: str = "",
    owner: int | None = None,
    branch: int | None = None,
) -> QuerySet[Lead]:
    """The leads the viewer may read, newest first, filtered. Each has `party_visible`."""
    return given(_leads(viewer), status=status, source=source, owner_id=owner, branch_id=branch).order_by(
        "-created_at", "-id"
    )


def get_lead(*, viewer: User, lead_id: object) -> Lead:
    """One lead the viewer may read (with `party_visible`), or NotFound."""
    lead = _leads(viewer).filter(pk=row_id(lead_id)).first()
    if lead is None:
        raise errors.NotFound()
    return lead


# --- opportunities ----------------------------------------------------------------------------------
def _opportunities(viewer: User) -> QuerySet[Opportunity]:
    return (
        visible_opportunities(viewer=viewer)
        .select_related("party", "owner")
        .prefetch_related(Prefetch("products", queryset=Product.objects.order_by("position", "code")))
    )


def opportunity_list(
    *,
    viewer: User,
    stage: str = "",
    owner: int | None = None,
    party: int | None = None,
    open_only: bool = False,
) -> QuerySet[Opportunity]:
    """The opportunities the viewer may read, most recently changed first, filtered."""
    qs = given(_opportunities(viewer), stage=stage, owner_id=owner, party_id=party)
    if open_only:
        qs = qs.filter(stage__in=OPEN_STAGES)
    return qs.order_by("-updated_at", "-id")


def get_opportunity(*, viewer: User, opportunity_id: object) -> Opportunity:
    """One opportunity the viewer may read, or NotFound."""
    found = _opportunities(viewer).filter(pk=row_id(opportunity_id)).first()
    if found is None:
        raise errors.NotFound()
    return found


def opportunity_board(
    *, viewer: User, owner: int | None = None, now: datetime | None = None
) -> dict[str, list[Opportunity]]:
    """The kanban board: every stage (in order) with its opportunities, soonest expected close first; open
    stages and the won and lost of the last RECENTLY_CLOSED_DAYS, at most BOARD_COLUMN_LIMIT a column (the
    database cuts each column, so a whole-book viewer does not load the whole book)."""
    since = (now or timezone.now()) - timedelta(days=RECENTLY_CLOSED_DAYS)
    column_order = [F("expected_close").asc(nulls_last=True), F("id").asc()]
    qs = (
        given(_opportunities(viewer), owner_id=owner)
        .filter(Q(stage__in=OPEN_STAGES) | Q(stage__in=CLOSED_STAGES, closed_at__gte=since))
        .annotate(place=Window(RowNumber(), partition_by=[F("stage")], order_by=column_order))
        .filter(place__lte=BOARD_COLUMN_LIMIT)
    )
    board: dict[str, list[Opportunity]] = {stage: [] for stage in Stage.values}
    for opportunity in qs.order_by(*column_order):
        board[opportunity.stage].append(opportunity)
    return board


def stage_history(*, opportunity: Opportunity) -> QuerySet[StageChange]:
    """The stage moves of an opportunity already read through a scoped selector, oldest first."""
    return (
        StageChange.objects.filter(opportunity=opportunity)
        .select_related("changed_by")
        .order_by("changed_at", "id")
    )


# --- proposals --------------------------------------------------------------------------------------
def _proposals(viewer: User) -> QuerySet[Proposal]:
    return (
        visible_proposals(viewer=viewer)
        .select_related("opportunity", "opportunity__party", "created_by", "application")
        .prefetch_related(
            Prefetch(
                "facilities",
                queryset=ProposalFacility.objects.select_related("product").order_by("position", "id"),
            ),
            "guarantors",
        )
    )


def proposal_list(*, viewer: User, opportunity: int | None = None) -> QuerySet[Proposal]:
    """The proposals the viewer may read (of one opportunity if given), newest version first."""
    return given(_proposals(viewer), opportunity_id=opportunity).order_by("-created_at", "-id")


def get_proposal(*, viewer: User, proposal_id: object) -> Proposal:
    """One proposal with its facilities and guarantors, or NotFound."""
    found = _proposals(viewer).filter(pk=row_id(proposal_id)).first()
    if found is None:
        raise errors.NotFound()
    return found


def application_id_of(proposal: Proposal) -> int | None:
    """The application an accepted proposal became (None before acceptance)."""
    application: Any = getattr(proposal, "application", None)
    return None if application is None else int(application.pk)
