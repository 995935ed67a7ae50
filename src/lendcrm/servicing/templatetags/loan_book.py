"""The loan-book panel of the customer 360 page, read here so the 360 view needs no change."""

from dataclasses import dataclass
from typing import Any

from django import template

from lendcrm.servicing import selectors
from lendcrm.servicing.models import Facility
from lendcrm.servicing.services import delinquency
from lendcrm.servicing.services.delinquency import Rollup

register = template.Library()
PANEL_ROWS = 10


@dataclass(frozen=True)
class PartyFacilities:
    facilities: list[Facility]
    more: bool
    party: Rollup  # the party's active facilities, base currency
    group: Rollup  # its connected group's (the group-exposure connection)


@register.simple_tag(takes_context=True)
def party_facilities(context: Any, party: Any) -> PartyFacilities:
    """The party's facilities (as borrower) the viewer may see, active first, with the party's and its
    group's outstanding, arrears and worst days past due (the repayments area's roll-ups); five queries."""
    viewer = context["request"].user
    found = selectors.party_facilities(viewer=viewer, party_id=party.pk, limit=PANEL_ROWS + 1)
    return PartyFacilities(
        facilities=found[:PANEL_ROWS],
        more=len(found) > PANEL_ROWS,
        party=delinquency.party_delinquency(viewer=viewer, party_id=party.pk),
        group=delinquency.group_delinquency(viewer=viewer, party_id=party.pk),
    )
