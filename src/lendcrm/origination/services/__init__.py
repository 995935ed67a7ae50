"""Every write to origination: applications and their moves, statements and the memo, offers."""

from lendcrm.origination.services.applications import (
    create_application,
    create_application_from_proposal,
    lock_application,
    transition,
    update_application,
    update_checklist_item,
)
from lendcrm.origination.services.memo import complete_memo, delete_statement, save_memo, save_statement
from lendcrm.origination.services.offers import (
    accept_offer,
    expire_offer,
    expire_stale,
    issue_offer,
    withdraw_offer,
)

__all__ = [
    "accept_offer",
    "complete_memo",
    "create_application",
    "create_application_from_proposal",
    "delete_statement",
    "expire_offer",
    "expire_stale",
    "issue_offer",
    "lock_application",
    "save_memo",
    "save_statement",
    "transition",
    "update_application",
    "update_checklist_item",
    "withdraw_offer",
]
