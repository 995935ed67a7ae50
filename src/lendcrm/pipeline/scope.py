"""Who may read which pipeline rows: the one place the pipeline's scoping rules live (see selectors)."""

from typing import Any

from django.db.models import BooleanField, Case, Q, QuerySet, Value, When

from lendcrm.core.access import party_scope, sees_by_coverage, sees_whole_book
from lendcrm.core.models import User
from lendcrm.pipeline.models import Lead, Opportunity, Proposal


def lead_scope(user: User) -> Q | None:
    """The leads `user` may read, as a filter; None when they see every lead."""
    if sees_whole_book(user):
        return None
    if not sees_by_coverage(user):
        return Q(pk__in=[])
    mine = Q(owner_id=user.pk)
    return mine if user.branch_id is None else mine | Q(branch_id=user.branch_id)


def visible_leads(*, viewer: User) -> QuerySet[Lead]:
    scope = lead_scope(viewer)
    return Lead.objects.all() if scope is None else Lead.objects.filter(scope)


def visible_opportunities(*, viewer: User) -> QuerySet[Opportunity]:
    scope = party_scope(viewer, via="party")
    return Opportunity.objects.all() if scope is None else Opportunity.objects.filter(scope)


def visible_proposals(*, viewer: User) -> QuerySet[Proposal]:
    return Proposal.objects.filter(opportunity__in=visible_opportunities(viewer=viewer).values("pk"))


def party_visible_flag(viewer: User) -> Any:
    """A boolean column: may `viewer` read the party a row points at (false when there is none)?"""
    scope = party_scope(viewer, via="party")
    if scope is None:
        return Case(
            When(party__isnull=False, then=Value(True)), default=Value(False), output_field=BooleanField()
        )
    return Case(When(scope, then=Value(True)), default=Value(False), output_field=BooleanField())
