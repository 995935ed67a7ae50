"""The customer 360 as the API sends it: the same scoped, audited read as `selectors.customer_360`, but the
parts are read as plain values and rendered straight to JSON types. Model instances and serializer
machinery were most of the time a 360 took, and the API needs neither. `Customer360Serializer` still
declares the schema, and a test holds the two renderings equal."""

from collections import defaultdict
from typing import Any

from django.db.models import Q
from rest_framework import serializers

from lendcrm.core.models import User
from lendcrm.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.parties import selectors
from lendcrm.parties.models import (
    ContactPoint,
    ContactRole,
    Coverage,
    CoverageRole,
    Identifier,
    Party,
    Relationship,
)
from lendcrm.parties.selectors import _party_node, _visible_flag
from lendcrm.parties.serializers import PLAIN_PARTY_FIELDS

# The serializer fields whose text form is not plain `str()`: reused, so the output matches theirs exactly.
_STAMP = serializers.DateTimeField()
_AMOUNT = serializers.DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
_PCT = serializers.DecimalField(max_digits=6, decimal_places=3)


def _day(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _pct(value: Any) -> str | None:
    return None if value is None else _PCT.to_representation(value)


def _money(amount: Any, currency: str) -> dict[str, Any] | None:
    return None if amount is None else {"amount": _AMOUNT.to_representation(amount), "currency": currency}


def _party(party: Party, lead_rm: int | None) -> dict[str, Any]:
    """PartySerializer's output, field for field; one query for the identifiers."""
    identifiers = [
        {"id": pk, "scheme": scheme, "value": value}
        for pk, scheme, value in Identifier.objects.filter(party_id=party.pk)
        .order_by("scheme", "value")
        .values_list("id", "scheme", "value")
    ]
    return {
        "id": party.pk,
        **{name: getattr(party, name) for name in PLAIN_PARTY_FIELDS},
        "kyc_next_review": _day(party.kyc_next_review),
        "branch": party.branch.code,
        "lead_rm": lead_rm,
        "annual_revenue": _money(party.annual_revenue, party.annual_revenue_currency),
        "total_assets": _money(party.total_assets, party.total_assets_currency),
        "employees": party.employees,
        "incorporation_date": _day(party.incorporation_date),
        "birth_date": _day(party.birth_date),
        "version": party.version,
        "identifiers": identifiers,
        "created_at": _STAMP.to_representation(party.created_at),
        "updated_at": _STAMP.to_representation(party.updated_at),
    }


def _coverage(party_id: int) -> dict[str, Any]:
    rows = (
        Coverage.objects.filter(party_id=party_id)
        .order_by("role", "user__username")
        .values_list("role", "user_id", "user__username", "user__first_name", "user__last_name")
    )
    staff = [(role, {"id": u, "username": n, "first_name": f, "last_name": la}) for role, u, n, f, la in rows]
    return {
        "lead": next((s for role, s in staff if role == CoverageRole.LEAD), None),
        "team": [s for role, s in staff if role == CoverageRole.TEAM],
    }


def _contacts(party_id: int) -> list[dict[str, Any]]:
    """The party's contacts with their roles there and their contact points; two queries."""
    roles = (
        ContactRole.objects.filter(party_id=party_id)
        .order_by("contact_id", "role")
        .values_list(
            "id", "contact_id", "role", "ownership_pct", "contact__full_name", "contact__local_name",
            "contact__title",
        )
    )  # fmt: skip
    points: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for pk, contact_id, kind, value, label, preferred in (
        ContactPoint.objects.filter(
            contact_id__in=ContactRole.objects.filter(party_id=party_id).values("contact_id")
        )
        .order_by("kind", "-is_preferred", "id")
        .values_list("id", "contact_id", "kind", "value", "label", "is_preferred")
    ):
        points[contact_id].append(
            {"id": pk, "kind": kind, "value": value, "label": label, "is_preferred": preferred}
        )
    cards: dict[int, dict[str, Any]] = {}
    for pk, contact_id, role, pct, full_name, local_name, title in roles:
        card = cards.get(contact_id)
        if card is None:
            card = cards[contact_id] = {
                "id": contact_id,
                "full_name": full_name,
                "local_name": local_name,
                "title": title,
                "roles": [],
                "points": points[contact_id],
            }
        card["roles"].append({"id": pk, "party": party_id, "role": role, "ownership_pct": _pct(pct)})
    return list(cards.values())


def _relationships(viewer: User, party_id: int) -> list[dict[str, Any]]:
    """`selectors.party_relationships` as values: the other side restricted when out of scope."""
    ends = ("id", "legal_name", "local_name", "kind")
    rows = (
        Relationship.objects.filter(Q(from_party_id=party_id) | Q(to_party_id=party_id))
        .annotate(
            from_visible=_visible_flag(viewer, "from_party"),
            to_visible=_visible_flag(viewer, "to_party"),
        )
        .order_by("kind", "id")
        .values_list(
            "id", "kind", "ownership_pct", "from_party_id", "from_visible", "to_visible",
            *(f"from_party__{f}" for f in ends), *(f"to_party__{f}" for f in ends),
        )
    )  # fmt: skip
    out = []
    for pk, kind, pct, from_id, from_visible, to_visible, *sides in rows:
        outgoing = from_id == party_id
        other, visible = (sides[4:], to_visible) if outgoing else (sides[:4], from_visible)
        node = Party(pk=other[0], legal_name=other[1], local_name=other[2], kind=other[3])
        out.append(
            {
                "id": pk if visible else None,
                "kind": kind,
                "direction": "outgoing" if outgoing else "incoming",
                "ownership_pct": _pct(pct) if visible else None,
                "party": _party_node(node, bool(visible)),
            }
        )
    return out


def customer_360_data(*, viewer: User, party_id: object) -> dict[str, Any]:
    """The 360 as JSON-ready data, in a fixed number of queries; out of scope is NotFound, and the read is
    audited like every 360."""
    from lendcrm.interactions.selectors import open_task_values, recent_interaction_values

    party = selectors.get_party(viewer=viewer, party_id=party_id)
    pid = party.pk
    coverage = _coverage(pid)
    profile = _party(party, coverage["lead"]["id"] if coverage["lead"] else None)
    data = {
        "party": profile,
        "identifiers": profile["identifiers"],
        "coverage": coverage,
        "contacts": _contacts(pid),
        "group": selectors.group_summary(viewer=viewer, party=party),
        "relationships": _relationships(viewer, pid),
        "recent_interactions": [
            {
                "id": row["id"],
                "channel": row["channel"],
                "direction": row["direction"],
                "occurred_at": _STAMP.to_representation(row["occurred_at"]),
                "subject": row["subject"],
                "staff": row["staff_id"],
                "contact": row["contact_id"],
            }
            for row in recent_interaction_values(viewer=viewer, party_id=pid, limit=10)
        ],
        "open_tasks": [
            {
                "id": row["id"],
                "kind": row["kind"],
                "title": row["title"],
                "due_date": _day(row["due_date"]),
                "status": row["status"],
                "assignee": row["assignee_id"],
            }
            for row in open_task_values(viewer=viewer, party_id=pid)
        ],
    }
    selectors.audit_360(viewer=viewer, party_id=pid)
    return data
