"""Every read of the customer master, scoped to the viewer.

Group reads keep the shape of a group but hide what the viewer may not see: a party outside the viewer's
scope appears as `{"id": null, "restricted": true, ...}` with no name or figures, so an RM knows the group
has more members without learning who they are."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.access import party_scope, party_scope_ids
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.parties import graph
from lendcrm.parties.models import (
    CONNECTING_KINDS,
    GROUP_KINDS,
    Contact,
    ContactPoint,
    ContactRole,
    Coverage,
    CoverageRole,
    Identifier,
    Party,
    Relationship,
    RelationshipKind,
)
from lendcrm.parties.search import FEW_MATCHES, matching

# Orderings the party list accepts; `id` breaks ties so pages never overlap.
PARTY_ORDERINGS = {
    "legal_name": ("legal_name", "id"),
    "-legal_name": ("-legal_name", "-id"),
    "created_at": ("created_at", "id"),
    "-created_at": ("-created_at", "-id"),
    "updated_at": ("updated_at", "id"),
    "-updated_at": ("-updated_at", "-id"),
    "kyc_next_review": ("kyc_next_review", "id"),
    "-kyc_next_review": ("-kyc_next_review", "-id"),
    "id": ("id",),
    "-id": ("-id",),
}
MAX_SEARCH_TERMS = 8


def visible_parties(*, viewer: User) -> QuerySet[Party]:
    """The parties `viewer` may read; everything else does not exist for them."""
    scope = party_scope(viewer)
    qs = Party.objects.all()
    return qs if scope is None else qs.filter(scope)


def can_see_party(*, viewer: User, party_id: int) -> bool:
    """Whether `viewer` may read the party; one query."""
    return visible_parties(viewer=viewer).filter(pk=party_id).exists()


def get_party(*, viewer: User, party_id: object) -> Party:
    """One party the viewer may read, or NotFound (never a hint that it exists)."""
    pk = row_id(party_id)
    party = visible_parties(viewer=viewer).select_related("branch").filter(pk=pk).first()
    if party is None:
        raise errors.NotFound()
    return party


def _visible_flag(viewer: User, via: str = "") -> Any:
    """A boolean column: may `viewer` read the party (itself, or the one behind foreign key `via`)?"""
    scope = party_scope(viewer, via)
    if scope is None:
        return Value(True)
    return Case(When(scope, then=Value(True)), default=Value(False), output_field=BooleanField())


def _with_profile(qs: QuerySet[Party]) -> QuerySet[Party]:
    """Everything the party JSON shows, in a fixed number of queries however many parties."""
    lead = Coverage.objects.filter(party=OuterRef("pk"), role=CoverageRole.LEAD).values("user_id")[:1]
    return (
        qs.select_related("branch")
        .prefetch_related(Prefetch("identifiers", queryset=Identifier.objects.order_by("scheme", "value")))
        .annotate(lead_rm_id=Subquery(lead))
    )


def get_party_detail(*, viewer: User, party_id: object) -> Party:
    """One party with its identifiers and lead RM, ready to render."""
    party = _with_profile(visible_parties(viewer=viewer)).filter(pk=row_id(party_id)).first()
    if party is None:
        raise errors.NotFound()
    return party


def _in_scope(qs: QuerySet[Party], viewer: User, *, few: bool) -> QuerySet[Party]:
    """Limit a party list to the viewer's scope. When an index has narrowed it to a few parties, each is
    tested against the rule; otherwise the list starts from the parties the viewer may see (branch UNION
    covered), so a scoped search never examines the rest of the book."""
    scope = party_scope(viewer)
    if scope is None:
        return qs
    return qs.filter(scope) if few else qs.filter(pk__in=party_scope_ids(viewer))


def party_list(
    *,
    viewer: User,
    search: str = "",
    branch: str = "",
    kind: str = "",
    segment: str = "",
    lifecycle: str = "",
    country: str = "",
    industry_code: str = "",
    kyc_status: str = "",
    rm: int | None = None,
    ordering: str = "legal_name",
) -> QuerySet[Party]:
    """The parties the viewer may read, searched and filtered. Search matches names in any script,
    identifier values and contact emails; every word must occur."""
    if ordering not in PARTY_ORDERINGS:
        raise errors.field_error(
            "ordering", _("Order by one of: %(values)s.") % {"values": ", ".join(PARTY_ORDERINGS)}
        )
    qs, at_most = matching(Party.objects.all(), search.lower().split()[:MAX_SEARCH_TERMS])
    qs = _in_scope(qs, viewer, few=at_most is not None and at_most <= FEW_MATCHES)
    if branch:
        match = Q(branch__code=branch.strip().upper())
        if branch.strip().isdigit():
            match |= Q(branch_id=int(branch))
        qs = qs.filter(match)
    exact = {
        "kind": kind,
        "segment": segment,
        "lifecycle": lifecycle,
        "country": country.upper(),
        "industry_code": industry_code.upper(),
        "kyc_status": kyc_status,
    }
    qs = qs.filter(**{name: value for name, value in exact.items() if value})
    if rm is not None:
        qs = qs.filter(Exists(Coverage.objects.filter(party=OuterRef("pk"), user_id=rm)))
    return _with_profile(qs).order_by(*PARTY_ORDERINGS[ordering])


def party_identifiers(*, viewer: User, party: Party) -> list[Identifier]:
    """The identifiers of a party the caller resolved through `get_party`."""
    return list(Identifier.objects.filter(party=party).order_by("scheme", "value"))


def get_identifier(*, viewer: User, party: Party, identifier_id: object) -> Identifier:
    found = Identifier.objects.filter(party=party, pk=row_id(identifier_id)).first()
    if found is None:
        raise errors.NotFound()
    return found


def party_coverage(*, viewer: User, party: Party) -> list[Coverage]:
    """Who covers the party, lead first."""
    return list(
        Coverage.objects.filter(party=party)
        .select_related("user")
        .only("party_id", "role", "user__id", "user__username", "user__first_name", "user__last_name")
        .order_by("role", "user__username")
    )


# --- contacts ---------------------------------------------------------------------------------------
def _visible_roles(viewer: User) -> QuerySet[ContactRole]:
    scope = party_scope(viewer, "party")
    qs = ContactRole.objects.all()
    return qs if scope is None else qs.filter(scope)


def visible_contacts(*, viewer: User) -> QuerySet[Contact]:
    """Contacts with a role at a party the viewer may read."""
    return Contact.objects.filter(Exists(_visible_roles(viewer).filter(contact=OuterRef("pk"))))


def _with_roles_and_points(viewer: User, qs: QuerySet[Contact]) -> QuerySet[Contact]:
    """Roles only at parties the viewer may read; contact points in display order."""
    return qs.prefetch_related(
        Prefetch("roles", queryset=_visible_roles(viewer).order_by("party_id", "role")),
        Prefetch("points", queryset=ContactPoint.objects.order_by("kind", "-is_preferred", "id")),
    )


def contact_list(*, viewer: User, party: Party | None = None, search: str = "") -> QuerySet[Contact]:
    """Contacts the viewer may read, optionally at one party or matching a name in any script."""
    qs = visible_contacts(viewer=viewer)
    if party is not None:
        qs = qs.filter(roles__party=party).distinct()
    if search:
        qs = qs.filter(Q(full_name__icontains=search) | Q(local_name__icontains=search))
    return _with_roles_and_points(viewer, qs).order_by("full_name", "id")


def get_contact(*, viewer: User, contact_id: object) -> Contact:
    """One contact with their roles at parties the viewer may read, and their contact points."""
    contact = (
        _with_roles_and_points(viewer, visible_contacts(viewer=viewer)).filter(pk=row_id(contact_id)).first()
    )
    if contact is None:
        raise errors.NotFound()
    return contact


@dataclass(frozen=True)
class ContactCard:
    """A contact as a party sees them: their roles at that party and how to reach them."""

    contact: Contact
    roles: list[ContactRole]
    points: list[ContactPoint]


def party_contacts(*, viewer: User, party: Party) -> list[ContactCard]:
    """The party's contacts with their roles and points, in two queries."""
    roles = list(
        ContactRole.objects.filter(party=party).select_related("contact").order_by("contact_id", "role")
    )
    points = ContactPoint.objects.filter(contact_id__in={r.contact_id for r in roles}).order_by(
        "kind", "-is_preferred", "id"
    )
    by_contact: dict[int, list[ContactPoint]] = defaultdict(list)
    for point in points:
        by_contact[point.contact_id].append(point)
    cards: dict[int, ContactCard] = {}
    for role in roles:
        card = cards.setdefault(role.contact_id, ContactCard(role.contact, [], by_contact[role.contact_id]))
        card.roles.append(role)
    return list(cards.values())


# --- relationships ----------------------------------------------------------------------------------
def visible_relationships(*, viewer: User) -> QuerySet[Relationship]:
    """Links whose both ends the viewer may read."""
    qs = Relationship.objects.select_related("from_party", "to_party")
    for via in ("from_party", "to_party"):
        scope = party_scope(viewer, via)
        if scope is not None:
            qs = qs.filter(scope)
    return qs


def relationship_list(*, viewer: User, party: Party | None = None) -> QuerySet[Relationship]:
    qs = visible_relationships(viewer=viewer)
    if party is not None:
        qs = qs.filter(Q(from_party=party) | Q(to_party=party))
    return qs.order_by("id")


def get_relationship(*, viewer: User, relationship_id: object) -> Relationship:
    found = visible_relationships(viewer=viewer).filter(pk=row_id(relationship_id)).first()
    if found is None:
        raise errors.NotFound()
    return found


def _party_node(party: Party, visible: bool) -> dict[str, Any]:
    if not visible:
        return {"id": None, "restricted": True, "legal_name": None, "local_name": None, "kind": None}
    return {
        "id": party.pk,
        "restricted": False,
        "legal_name": party.legal_name,
        "local_name": party.local_name,
        "kind": party.kind,
    }


def party_relationships(*, viewer: User, party: Party) -> list[dict[str, Any]]:
    """The party's direct links of every kind, with the other side restricted when out of scope."""
    rels = (
        Relationship.objects.filter(Q(from_party=party) | Q(to_party=party))
        .select_related("from_party", "to_party")
        .annotate(
            from_visible=_visible_flag(viewer, "from_party"), to_visible=_visible_flag(viewer, "to_party")
        )
        .order_by("kind", "id")
    )
    out = []
    for rel in rels:
        outgoing = rel.from_party_id == party.pk
        other, other_visible = (
            (rel.to_party, rel.to_visible) if outgoing else (rel.from_party, rel.from_visible)
        )
        out.append(
            {
                "id": rel.pk if other_visible else None,
                "kind": rel.kind,
                "direction": "outgoing" if outgoing else "incoming",
                "ownership_pct": rel.ownership_pct if other_visible else None,
                "party": _party_node(other, bool(other_visible)),
            }
        )
    return out


# --- groups -----------------------------------------------------------------------------------------
def _parent_rank(rel: Relationship) -> tuple[int, Decimal, int]:
    """Prefer the majority owner, then the group head, then the oldest link."""
    pct = rel.ownership_pct or Decimal(0)
    return (0 if rel.kind == RelationshipKind.PARENT_OF else 1, -pct, rel.pk)


def ultimate_parent_id(party: Party) -> int:
    """Walk up parent_of (largest stake first) and member_of_group links to the top; one query."""
    forward, backward = graph.GROUP_UP
    ancestors = graph.closure(party.pk, forward=forward, backward=backward)
    up: dict[int, list[Relationship]] = defaultdict(list)
    for rel in Relationship.objects.filter(
        kind__in=GROUP_KINDS, from_party_id__in=ancestors, to_party_id__in=ancestors
    ):
        child, parent = (
            (rel.to_party_id, rel.from_party_id)
            if rel.kind == RelationshipKind.PARENT_OF
            else (rel.from_party_id, rel.to_party_id)
        )
        up[child].append(rel)
    current, seen = party.pk, {party.pk}
    while up[current]:
        best = min(up[current], key=_parent_rank)
        parent = best.from_party_id if best.kind == RelationshipKind.PARENT_OF else best.to_party_id
        if parent in seen:  # cannot happen while services refuse cycles; never loop forever
            break
        seen.add(parent)
        current = parent
    return current


@dataclass
class _Tree:
    nodes: dict[int, Party] = field(default_factory=dict)
    visible: dict[int, bool] = field(default_factory=dict)
    children: dict[int, list[Relationship]] = field(default_factory=lambda: defaultdict(list))


def _load_tree(viewer: User, root_id: int) -> _Tree:
    """All parties below `root_id` with the links between them: two queries."""
    forward, backward = graph.GROUP_DOWN
    members = graph.closure(root_id, forward=forward, backward=backward)
    tree = _Tree()
    for party in Party.objects.filter(pk__in=members).annotate(viewer_may_see=_visible_flag(viewer)):
        tree.nodes[party.pk] = party
        tree.visible[party.pk] = bool(party.viewer_may_see)
    for rel in Relationship.objects.filter(
        kind__in=GROUP_KINDS, from_party_id__in=members, to_party_id__in=members
    ).order_by("id"):
        parent = rel.from_party_id if rel.kind == RelationshipKind.PARENT_OF else rel.to_party_id
        tree.children[parent].append(rel)
    return tree


def _render(tree: _Tree, party_id: int, via: Relationship | None, placed: set[int]) -> dict[str, Any]:
    """A nested node; a party reachable along two paths is expanded once and marked `repeated` after."""
    visible = tree.visible[party_id]
    node = _party_node(tree.nodes[party_id], visible)
    node["relationship"] = via.kind if via is not None else None
    node["ownership_pct"] = via.ownership_pct if via is not None and visible else None
    node["repeated"] = party_id in placed
    node["children"] = []
    if node["repeated"]:
        return node
    placed.add(party_id)
    for rel in tree.children[party_id]:
        child = rel.to_party_id if rel.kind == RelationshipKind.PARENT_OF else rel.from_party_id
        node["children"].append(_render(tree, child, rel, placed))
    return node


def group_tree(*, viewer: User, party: Party) -> dict[str, Any]:
    """The whole group of `party`: its ultimate parent and everything below it, ownership % per link.
    Three queries whatever the size of the group."""
    root = ultimate_parent_id(party)
    tree = _load_tree(viewer, root)
    placed: set[int] = set()
    rendered = _render(tree, root, None, placed)
    restricted = sum(1 for visible in tree.visible.values() if not visible)
    return {
        "party_id": party.pk,
        "ultimate_parent": _party_node(tree.nodes[root], tree.visible[root]),
        "size": len(tree.nodes),
        "restricted": restricted,
        "tree": rendered,
    }


def group_summary(*, viewer: User, party: Party) -> dict[str, Any]:
    """The party's group in brief (ultimate parent, size, members out of the viewer's scope) without
    building the tree: the up-walk and one aggregate over the members, two queries whatever the size."""
    root = ultimate_parent_id(party)
    forward, backward = graph.GROUP_DOWN
    scope = party_scope(viewer)
    is_root = Q(pk=root)
    found = Party.objects.filter(pk__in=graph.closure(root, forward=forward, backward=backward)).aggregate(
        size=Count("pk"),
        visible=Count("pk") if scope is None else Count("pk", filter=scope),
        root_visible=Count("pk", filter=is_root if scope is None else is_root & scope),
        legal_name=Max("legal_name", filter=is_root),
        local_name=Max("local_name", filter=is_root),
        kind=Max("kind", filter=is_root),
    )
    top = Party(pk=root, legal_name=found["legal_name"], local_name=found["local_name"], kind=found["kind"])
    return {
        "ultimate_parent": _party_node(top, bool(found["root_visible"])),
        "size": found["size"],
        "restricted": found["size"] - found["visible"],
    }


def connected_party_ids(*, party: Party) -> set[int]:
    """Ids of every party linked to `party` by control, group, sponsor or guarantor edges, in either
    direction and at any distance (the party itself excluded); one query. Unscoped on purpose: exposure
    must add up the whole connected group even where the viewer sees only part of it."""
    members = graph.connecting(party.pk, CONNECTING_KINDS)
    return set(Party.objects.filter(pk__in=members).exclude(pk=party.pk).values_list("pk", flat=True))


def connected_parties(*, viewer: User, party: Party) -> list[dict[str, Any]]:
    """The connected parties as the viewer may see them (restricted placeholders for the rest); one query."""
    members = graph.connecting(party.pk, CONNECTING_KINDS)
    rows = (
        Party.objects.filter(pk__in=members)
        .exclude(pk=party.pk)
        .annotate(viewer_may_see=_visible_flag(viewer))
        .order_by("legal_name", "id")
    )
    nodes = [_party_node(p, bool(p.viewer_may_see)) for p in rows]
    return [n for n in nodes if not n["restricted"]] + [n for n in nodes if n["restricted"]]


# --- customer 360 -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Customer360:
    """Everything an RM needs on one screen, read in a fixed number of queries."""

    party: Party
    identifiers: list[Identifier]
    coverage: list[Coverage]
    contacts: list[ContactCard]
    group: dict[str, Any]
    relationships: list[dict[str, Any]]
    recent_interactions: list[Any]
    open_tasks: list[Any]


def customer_360(*, viewer: User, party_id: object) -> Customer360:
    """The customer 360; the read itself is audited (who looked at whom)."""
    # Imported here: interactions builds on parties, so a module-level import could run in a circle.
    from lendcrm.interactions.selectors import open_tasks_for_party, recent_interactions

    party = get_party_detail(viewer=viewer, party_id=party_id)
    view = Customer360(
        party=party,
        identifiers=list(party.identifiers.all()),
        coverage=party_coverage(viewer=viewer, party=party),
        contacts=party_contacts(viewer=viewer, party=party),
        group=group_summary(viewer=viewer, party=party),
        relationships=party_relationships(viewer=viewer, party=party),
        recent_interactions=recent_interactions(viewer=viewer, party=party, limit=10),
        open_tasks=open_tasks_for_party(viewer=viewer, party=party),
    )
    audit_360(viewer=viewer, party_id=party.pk)
    return view


def audit_360(*, viewer: User, party_id: int) -> None:
    """Record that `viewer` looked at the party's 360 (every interface that shows one calls this)."""
    with transaction.atomic():
        audit.record(
            actor=viewer,
            action="party.viewed_360",
            object_type="party",
            object_id=party_id,
            party_id=party_id,
        )


# --- the workspace's lists ----------------------------------------------------------------------------
def kyc_reviews_due(*, viewer: User, until: date) -> QuerySet[Party]:
    """Parties the viewer covers whose KYC review falls due by `until` (overdue ones first)."""
    covered = Coverage.objects.filter(user_id=viewer.pk).values("party_id")
    return (
        visible_parties(viewer=viewer)
        .filter(pk__in=covered, kyc_next_review__lte=until)
        .order_by("kyc_next_review", "id")
    )


def narrowed(
    qs: QuerySet[Party], *, viewer: User, covered_by_me: bool, kyc_due_by: date | None
) -> QuerySet[Party]:
    """A party list further limited to the viewer's own coverage and, or, a KYC review deadline."""
    if covered_by_me:
        qs = qs.filter(Exists(Coverage.objects.filter(party=OuterRef("pk"), user_id=viewer.pk)))
    if kyc_due_by is not None:
        qs = qs.filter(kyc_next_review__lte=kyc_due_by)
    return qs
