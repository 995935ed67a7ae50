"""What every customer-master write shares: field lists, permission, locking, search text."""

from collections.abc import Iterable
from decimal import Decimal

from django.utils.translation import gettext as _

from lendcrm.core import errors
from lendcrm.core.concurrency import locked_row
from lendcrm.core.models import User
from lendcrm.parties.models import (
    Contact,
    ContactPoint,
    ContactPointKind,
    Identifier,
    Lifecycle,
    Party,
    PartySearchGram,
)
from lendcrm.parties.search import cjk_pairs
from lendcrm.parties.selectors import can_see_party, visible_contacts, visible_parties

PROFILE_FIELDS = (
    "kind",
    "legal_name",
    "local_name",
    "short_name",
    "country",
    "industry_code",
    "annual_revenue",
    "total_assets",
    "employees",
    "incorporation_date",
    "birth_date",
    "segment",
    "lifecycle",
    "kyc_status",
    "kyc_next_review",
    "branch",
)
MONEY_FIELDS = ("annual_revenue", "total_assets")


def _stored_columns(name: str) -> tuple[str, ...]:
    """The columns behind a profile field: money is an amount and a currency, the branch its id."""
    if name in MONEY_FIELDS:
        return (name, f"{name}_currency")
    return (f"{name}_id",) if name == "branch" else (name,)


# What the audit trail records of a party: every column of its profile.
PARTY_AUDIT_FIELDS = tuple(column for name in PROFILE_FIELDS for column in _stored_columns(name))
CONTACT_FIELDS = ("full_name", "local_name", "title", "birth_date", "nationality")
NAME_FIELDS = ("legal_name", "local_name", "short_name")

LIFECYCLE_TRANSITIONS: dict[str, frozenset[str]] = {
    # A prospect that never onboards, or a relationship closed outright, ends as former; a former
    # customer who comes back starts again as a prospect (with fresh KYC).
    Lifecycle.PROSPECT: frozenset({Lifecycle.ACTIVE, Lifecycle.FORMER}),
    Lifecycle.ACTIVE: frozenset({Lifecycle.DORMANT, Lifecycle.FORMER}),
    Lifecycle.DORMANT: frozenset({Lifecycle.ACTIVE, Lifecycle.FORMER}),
    Lifecycle.FORMER: frozenset({Lifecycle.PROSPECT}),
}


# --- search text, locking, visibility ---------------------------------------------------------------
def search_text_of(parts: Iterable[str]) -> str:
    """The search column for these names, identifier values and emails (bulk loaders use it too)."""
    return "\n".join(dict.fromkeys(p.strip().lower() for p in parts if p and p.strip()))


def refresh_search_text(party: Party) -> None:
    """Rebuild the one lower-cased search column from names, identifier values and contact emails, and the
    CJK pairs that index it for two-character terms."""
    ids = Identifier.objects.filter(party=party).order_by("scheme", "value").values_list("value", flat=True)
    emails = (
        ContactPoint.objects.filter(kind=ContactPointKind.EMAIL, contact__roles__party=party)
        .order_by("value")
        .values_list("value", flat=True)
        .distinct()
    )
    text = search_text_of([party.legal_name, party.local_name, party.short_name, *ids, *emails])
    Party.objects.filter(pk=party.pk).update(search_text=text)
    party.search_text = text
    _refresh_grams(party.pk, text)


def _refresh_grams(party_id: int, text: str) -> None:
    """Keep the party's CJK pairs (two-character search) equal to those of its search text."""
    wanted = cjk_pairs(text)
    held = set(PartySearchGram.objects.filter(party_id=party_id).values_list("gram", flat=True))
    if held - wanted:
        PartySearchGram.objects.filter(party_id=party_id, gram__in=held - wanted).delete()
    PartySearchGram.objects.bulk_create(
        [PartySearchGram(party_id=party_id, gram=gram) for gram in sorted(wanted - held)]
    )


def lock_party(actor: User | None, party_id: int) -> Party:
    """The party row, locked for this transaction, if the actor may see it (404 otherwise)."""
    return locked_row(Party.objects.all() if actor is None else visible_parties(viewer=actor), party_id)


def lock_contact(actor: User | None, contact_id: int) -> Contact:
    """The contact row, locked, if the actor may see one of the parties it has a role at."""
    return locked_row(Contact.objects.all() if actor is None else visible_contacts(viewer=actor), contact_id)


def ensure_visible(actor: User | None, party: Party) -> None:
    """Refuse a write that would leave a branch- or coverage-scoped actor unable to see the party."""
    if actor is not None and not can_see_party(viewer=actor, party_id=party.pk):
        raise errors.field_error(
            "branch",
            _("You could no longer see this party: book it at your branch or make yourself its coverage."),
        )


def bump(obj: Party | Contact) -> None:
    type(obj).objects.filter(pk=obj.pk).update(version=obj.version + 1)
    obj.version += 1


def pct_text(pct: Decimal) -> str:
    return f"{pct.normalize():f}"
