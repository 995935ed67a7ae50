"""Every write to the pipeline: products, leads, opportunities and proposals."""

from lendcrm.pipeline.services.leads import create_lead, disqualify_lead, qualify_lead, update_lead
from lendcrm.pipeline.services.opportunities import (
    DEFAULT_STAGE_PROBABILITY,
    MOVES,
    create_opportunity,
    move_opportunity,
    stage_probability,
    update_opportunity,
)
from lendcrm.pipeline.services.products import update_product
from lendcrm.pipeline.services.proposals import (
    accept_proposal,
    create_proposal,
    issue_proposal,
    reject_proposal,
    update_proposal,
)

__all__ = [
    "DEFAULT_STAGE_PROBABILITY",
    "MOVES",
    "accept_proposal",
    "create_lead",
    "create_opportunity",
    "create_proposal",
    "disqualify_lead",
    "issue_proposal",
    "move_opportunity",
    "qualify_lead",
    "reject_proposal",
    "stage_probability",
    "update_lead",
    "update_opportunity",
    "update_product",
    "update_proposal",
]
