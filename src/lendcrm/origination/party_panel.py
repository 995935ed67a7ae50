"""What the customer 360 page shows of the party's business in progress: its open opportunities and open
applications, the most recent first, in two queries whatever the party's history."""

from dataclasses import dataclass

from lendcrm.core.models import User
from lendcrm.origination import selectors
from lendcrm.origination.models import Application
from lendcrm.pipeline import selectors as pipeline_selectors
from lendcrm.pipeline.models import Opportunity

PANEL_ROWS = 10


@dataclass(frozen=True)
class PartyPipeline:
    opportunities: list[Opportunity]
    applications: list[Application]
    more_opportunities: bool
    more_applications: bool


def party_pipeline(*, viewer: User, party_id: int) -> PartyPipeline:
    """The party's open opportunities and applications the viewer may see, at most PANEL_ROWS of each
    (one more is read to know whether there are more)."""
    # The panel shows no products, so the selector's product prefetch is dropped (one query, not two).
    open_opportunities = pipeline_selectors.opportunity_list(viewer=viewer, party=party_id, open_only=True)
    opportunities = list(open_opportunities.prefetch_related(None)[: PANEL_ROWS + 1])
    applications = list(
        selectors.application_list(viewer=viewer, borrower_id=party_id, open_only=True)[: PANEL_ROWS + 1]
    )
    return PartyPipeline(
        opportunities=opportunities[:PANEL_ROWS],
        applications=applications[:PANEL_ROWS],
        more_opportunities=len(opportunities) > PANEL_ROWS,
        more_applications=len(applications) > PANEL_ROWS,
    )
