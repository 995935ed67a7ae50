"""Every write to the customer master: parties, identifiers, coverage, contacts and relationships."""

from lendcrm.parties.services.common import search_text_of
from lendcrm.parties.services.contacts import (
    add_contact_point,
    add_contact_role,
    create_contact,
    update_contact,
)
from lendcrm.parties.services.exports import record_party_export
from lendcrm.parties.services.party import (
    add_identifier,
    create_party,
    remove_identifier,
    set_coverage,
    update_party,
)
from lendcrm.parties.services.relationships import create_relationship, delete_relationship
from lendcrm.parties.validation import NewContactPoint

__all__ = [
    "NewContactPoint",
    "add_contact_point",
    "add_contact_role",
    "add_identifier",
    "create_contact",
    "create_party",
    "create_relationship",
    "delete_relationship",
    "record_party_export",
    "remove_identifier",
    "search_text_of",
    "set_coverage",
    "update_contact",
    "update_party",
]
