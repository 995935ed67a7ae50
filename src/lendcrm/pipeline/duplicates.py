"""Duplicate detection for leads: does a party already exist with this LEI, USCC or name?

It searches the whole book, not only what the acting user may see: a prospect booked at another branch is
still the same customer, and matching only within scope would re-create it. The link is stored on the
lead; what the actor is told about a party outside their scope is only that one exists (see
`selectors.lead_match`), never its name or id."""

from dataclasses import dataclass

from lendcrm.parties import identifiers
from lendcrm.parties.models import Identifier, Party
from lendcrm.parties.search import matching


@dataclass(frozen=True)
class Match:
    party_id: int
    matched_by: str  # "lei", "uscc" or "name"


def name_key(name: str) -> str:
    """A name compared without regard to case or whitespace (the lower-casing the party search uses)."""
    return "".join(name.split()).lower()


def _by_identifier(lei: str, uscc: str) -> Match | None:
    wanted = [(identifiers.LEI, lei), (identifiers.USCC, uscc)]
    pairs = [(scheme, value) for scheme, value in wanted if value]
    if not pairs:
        return None
    found = dict(
        Identifier.objects.filter(scheme__in=[s for s, _v in pairs], value__in=[v for _s, v in pairs])
        .order_by("id")
        .values_list("scheme", "party_id")
    )
    for scheme, _value in pairs:  # LEI first: the global identifier wins over the national one
        if scheme in found:
            return Match(found[scheme], scheme)
    return None


def _by_name(names: list[str]) -> Match | None:
    for name in names:
        key = name_key(name)
        if not key:
            continue
        # The party search index narrows to parties whose names contain every word; the exact comparison
        # (case and whitespace aside) is made here.
        terms = [word.lower() for word in name.split()]
        candidates, _count = matching(Party.objects.all(), terms)
        for party_id, legal_name, local_name in candidates.order_by("id").values_list(
            "id", "legal_name", "local_name"
        ):
            if key in (name_key(legal_name), name_key(local_name)):
                return Match(party_id, "name")
    return None


def find_existing_party(
    *, lei: str = "", uscc: str = "", name: str = "", local_name: str = ""
) -> Match | None:
    """The party a lead duplicates: by LEI, then USCC, then legal or local name; None when it is new.
    Identifiers must already be normalised (`identifiers.validate`)."""
    return _by_identifier(lei, uscc) or _by_name([n for n in (name, local_name) if n])
