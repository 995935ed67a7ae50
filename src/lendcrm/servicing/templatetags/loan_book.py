"""The loan-book panel of the customer 360 page, read here so the 360 view needs no change."""

from dataclasses import dataclass
from typing import Any

from django import template

from lendcrm.servicing import selectors
from lendcrm.servicing.models import Facility

register = template.Library()
PANEL_ROWS = 10


@dataclass(frozen=True)
class PartyFacilities:
    facilities: list[Facility]
    more: bool


@register.simple_tag(takes_context=True)
def party_facilities(context: Any, party: Any) -> PartyFacilities:
    """The party's facilities (as borrower) the viewer may see, active first; one query."""
    found = selectors.party_facilities(
        viewer=context["request"].user, party_id=party.pk, limit=PANEL_ROWS + 1
    )
    return PartyFacilities(facilities=found[:PANEL_ROWS], more=len(found) > PANEL_ROWS)
