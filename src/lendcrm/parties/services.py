"""Every write to the customer master: parties, identifiers, coverage, contacts and relationships."""

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.access import may_write_customers
from lendcrm.core.models import Branch, User
from lendcrm.core.money import Money
from lendcrm.core.roles import Role
from lendcrm.parties import graph, validation
from lendcrm.parties.identifiers import SCHEMES
from lendcrm.parties.models import (
    OWNERSHIP_KINDS,
    Contact,
    ContactPoint,
    ContactPointKind,
    ContactRole,
    ContactRoleKind,
    Coverage,
    CoverageRole,
    Identifier,
    KycStatus,
    Lifecycle,
    Party,
    Relationship,
    RelationshipKind,
)
from lendcrm.parties.selectors import visible_contacts, visible_parties
from lendcrm.parties.validation import NewContactPoint

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
PARTY_AUDIT_FIELDS = (
    "kind",
    "legal_name",
    "local_name",
    "short_name",
    "country",
    "industry_code",
    "annual_revenue",
    "annual_revenue_currency",
    "total_assets",
    "total_assets_currency",
    "employees",
    "incorporation_date",
    "birth_date",
    "segment",
    "lifecycle",
    "kyc_status",
    "kyc_next_review",
    "branch_id",
)
CONTACT_FIELDS = ("full_name", "local_name", "title", "birth_date", "nationality")
NAME_FIELDS = ("legal_name", "local_name", "short_name")

# prospect -> active -> dormant -> former; a dormant customer may come back.
LIFECYCLE_TRANSITIONS: dict[str, frozenset[str]] = {
    # A prospect that never onboards, or a relationship closed outright, ends as former; a former
    # customer who comes back starts again as a prospect (with fresh KYC).
    Lifecycle.PROSPECT: frozenset({Lifecycle.ACTIVE, Lifecycle.FORMER}),
    Lifecycle.ACTIVE: frozenset({Lifecycle.DORMANT, Lifecycle.FORMER}),
    Lifecycle.DORMANT: frozenset({Lifecycle.ACTIVE, Lifecycle.FORMER}),
    Lifecycle.FORMER: frozenset({Lifecycle.PROSPECT}),
}


def _require_writer(actor: User | None) -> None:
    """Only customer-facing roles change customer data; `None` is the system itself (seed, imports)."""
    if actor is not None and not may_write_customers(actor):
        raise errors.PermissionDenied(_("Your roles do not allow changing customer data."))


# --- search text, locking, visibility ---------------------------------------------------------------
def search_text_of(parts: Iterable[str]) -> str:
    """The search column for these names, identifier values and emails (bulk loaders use it too)."""
    return "\n".join(dict.fromkeys(p.strip().lower() for p in parts if p and p.strip()))


def _refresh_search_text(party: Party) -> None:
    """Rebuild the one lower-cased search column from names, identifier values and contact emails."""
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


def _lock_party(actor: User | None, party_id: int) -> Party:
    """The party row, locked for this transaction, if the actor may see it (404 otherwise)."""
    parties = Party.objects.all() if actor is None else visible_parties(viewer=actor)
    locked = parties.select_for_update().filter(pk=party_id).first()
    if locked is None:
        raise errors.NotFound()
    return locked


def _lock_contact(actor: User | None, contact_id: int) -> Contact:
    contacts = Contact.objects.all() if actor is None else visible_contacts(viewer=actor)
    locked = contacts.select_for_update().filter(pk=contact_id).first()
    if locked is None:
        raise errors.NotFound()
    return locked


def _ensure_visible(actor: User | None, party: Party) -> None:
    """Refuse a write that would leave a branch- or coverage-scoped actor unable to see the party."""
    if actor is not None and not visible_parties(viewer=actor).filter(pk=party.pk).exists():
        raise errors.field_error(
            "branch",
            _("You could no longer see this party: book it at your branch or make yourself its coverage."),
        )


def _bump(obj: Party | Contact) -> None:
    type(obj).objects.filter(pk=obj.pk).update(version=obj.version + 1)
    obj.version += 1


def _pct_text(pct: Decimal) -> str:
    return f"{pct.normalize():f}"


# --- identifiers ------------------------------------------------------------------------------------
def _refuse_taken(actor: User | None, pairs: list[tuple[str, str]], prefix: str) -> None:
    """Refuse identifiers another party holds, naming the holder only when the actor may see it."""
    if not pairs:
        return
    taken = [
        found
        for found in Identifier.objects.filter(
            scheme__in={s for s, _v in pairs}, value__in={v for _s, v in pairs}
        )
        .select_related("party")
        .order_by("id")
        if (found.scheme, found.value) in pairs
    ]
    if not taken:
        return
    holders = {i.party_id for i in taken}
    if actor is not None:
        holders = set(visible_parties(viewer=actor).filter(pk__in=holders).values_list("pk", flat=True))
    problems: dict[str, list[str]] = {}
    for found in taken:
        index = pairs.index((found.scheme, found.value))
        params: dict[str, object] = {"scheme": SCHEMES.get(found.scheme, found.scheme), "value": found.value}
        if found.party_id in holders:
            params |= {"name": found.party.legal_name, "id": found.party_id}
            message = _("%(scheme)s %(value)s is already registered to %(name)s (party %(id)s).") % params
        else:
            message = _("%(scheme)s %(value)s is already registered to another party.") % params
        problems.setdefault(f"{prefix}.{index}.value" if prefix else "value", []).append(message)
    first = next(iter(problems.values()))[0]
    raise errors.ValidationFailed(first, field_errors=problems, code="duplicate_identifier")


def _insert_identifiers(party: Party, pairs: list[tuple[str, str]]) -> list[Identifier]:
    """Insert in a savepoint: a concurrent insert of the same identifier becomes a 400, not a 500."""
    try:
        with transaction.atomic():
            return Identifier.objects.bulk_create(
                [Identifier(party=party, scheme=s, value=v) for s, v in pairs]
            )
    except IntegrityError as exc:
        raise errors.ValidationFailed(
            _("This identifier is already registered to another party."), code="duplicate_identifier"
        ) from exc


def add_identifier(*, actor: User | None, party: Party, scheme: str, value: str) -> Identifier:
    """Register one more identifier for a party."""
    _require_writer(actor)
    pairs = validation.clean_identifiers([(scheme, value)], "")
    with transaction.atomic():
        locked = _lock_party(actor, party.pk)
        _refuse_taken(actor, pairs, "")
        (identifier,) = _insert_identifiers(locked, pairs)
        _bump(locked)
        _refresh_search_text(locked)
        audit.record(
            actor=actor,
            action="party.identifier_added",
            object_type="identifier",
            object_id=identifier.pk,
            party_id=locked.pk,
            changes={"after": {"scheme": identifier.scheme, "value": identifier.value}},
        )
    return identifier


def remove_identifier(*, actor: User | None, identifier: Identifier) -> None:
    """Withdraw an identifier registered in error."""
    _require_writer(actor)
    with transaction.atomic():
        locked = _lock_party(actor, identifier.party_id)
        deleted, _n = Identifier.objects.filter(pk=identifier.pk, party=locked).delete()
        if not deleted:
            raise errors.NotFound()
        _bump(locked)
        _refresh_search_text(locked)
        audit.record(
            actor=actor,
            action="party.identifier_removed",
            object_type="identifier",
            object_id=identifier.pk,
            party_id=locked.pk,
            changes={"before": {"scheme": identifier.scheme, "value": identifier.value}},
        )


# --- coverage ---------------------------------------------------------------------------------------
def _clean_coverage(lead: User | None, team: Iterable[User], lead_field: str) -> list[User]:
    """Check the lead is an active RM and team members hold a business role; drop repeats and the lead."""
    if lead is not None and not (lead.is_active and lead.has_role(Role.RELATIONSHIP_MANAGER)):
        raise errors.field_error(lead_field, _("The lead must be an active relationship manager."))
    members: dict[int, User] = {}
    for user in team:
        if not user.is_active or not (user.role_slugs - {Role.ADMINISTRATOR}):
            raise errors.field_error(
                "team", _("%(user)s is not an active member of staff with a business role.") % {"user": user}
            )
        if lead is None or user.pk != lead.pk:
            members[user.pk] = user
    return list(members.values())


def _write_coverage(party: Party, lead: User | None, team: list[User]) -> None:
    Coverage.objects.filter(party=party).delete()
    rows = [Coverage(party=party, user=u, role=CoverageRole.TEAM) for u in team]
    if lead is not None:
        rows.insert(0, Coverage(party=party, user=lead, role=CoverageRole.LEAD))
    Coverage.objects.bulk_create(rows)


def _coverage_state(party: Party) -> dict[str, Any]:
    rows = list(Coverage.objects.filter(party=party).order_by("user_id").values_list("user_id", "role"))
    return {
        "lead": next((uid for uid, role in rows if role == CoverageRole.LEAD), None),
        "team": [uid for uid, role in rows if role == CoverageRole.TEAM],
    }


def set_coverage(
    *,
    actor: User | None,
    party: Party,
    lead: User | None,
    team: Sequence[User] = (),
    expected_version: int | None = None,
) -> Party:
    """Replace who covers a party: one lead RM (or none) and team members."""
    _require_writer(actor)
    members = _clean_coverage(lead, team, "lead")
    with transaction.atomic():
        locked = _lock_party(actor, party.pk)
        if expected_version is not None and locked.version != expected_version:
            raise errors.PreconditionFailed()
        before = _coverage_state(locked)
        _write_coverage(locked, lead, members)
        after = _coverage_state(locked)
        if after != before:
            _bump(locked)
            audit.record(
                actor=actor,
                action="party.coverage_changed",
                object_type="party",
                object_id=locked.pk,
                party_id=locked.pk,
                changes=audit.diff(before, after),
            )
    return locked


# --- parties ----------------------------------------------------------------------------------------
def create_party(
    *,
    actor: User | None,
    kind: str,
    legal_name: str,
    branch: Branch | None,
    local_name: str = "",
    short_name: str = "",
    country: str = "",
    industry_code: str = "",
    annual_revenue: Money | None = None,
    total_assets: Money | None = None,
    employees: int | None = None,
    incorporation_date: date | None = None,
    birth_date: date | None = None,
    segment: str = "",
    lifecycle: str = Lifecycle.PROSPECT,
    kyc_status: str = KycStatus.NOT_STARTED,
    kyc_next_review: date | None = None,
    identifiers: Sequence[tuple[str, str]] = (),
    lead_rm: User | None = None,
    team: Sequence[User] = (),
) -> Party:
    """Create a customer or prospect with its identifiers and coverage; an RM creating one leads it."""
    _require_writer(actor)
    attrs = validation.clean_profile(
        {
            "kind": kind,
            "legal_name": legal_name,
            "branch": branch,
            "local_name": local_name,
            "short_name": short_name,
            "country": country,
            "industry_code": industry_code,
            "annual_revenue": annual_revenue,
            "total_assets": total_assets,
            "employees": employees,
            "incorporation_date": incorporation_date,
            "birth_date": birth_date,
            "segment": segment,
            "lifecycle": lifecycle,
            "kyc_status": kyc_status,
            "kyc_next_review": kyc_next_review,
        }
    )
    party = Party(**attrs)
    validation.check_person_fields(party)
    pairs = validation.clean_identifiers(identifiers, "identifiers")
    if lead_rm is None and actor is not None and actor.has_role(Role.RELATIONSHIP_MANAGER):
        lead_rm = actor
    members = _clean_coverage(lead_rm, team, "lead_rm")
    with transaction.atomic():
        _refuse_taken(actor, pairs, "identifiers")
        party.save()
        _insert_identifiers(party, pairs)
        _write_coverage(party, lead_rm, members)
        _refresh_search_text(party)
        _ensure_visible(actor, party)
        audit.record(
            actor=actor,
            action="party.created",
            object_type="party",
            object_id=party.pk,
            party_id=party.pk,
            changes={
                "after": {
                    **audit.snapshot(party, PARTY_AUDIT_FIELDS),
                    "identifiers": [f"{s}:{v}" for s, v in pairs],
                    **_coverage_state(party),
                }
            },
        )
    return party


def update_party(
    *, actor: User | None, party: Party, expected_version: int | None = None, **changes: Any
) -> Party:
    """Change a party's profile; lifecycle moves only along LIFECYCLE_TRANSITIONS."""
    _require_writer(actor)
    unknown = sorted(set(changes) - set(PROFILE_FIELDS))
    if unknown:
        raise errors.ValidationFailed(field_errors={name: [_("Unknown field.")] for name in unknown})
    attrs = validation.clean_profile(changes)
    with transaction.atomic():
        locked = _lock_party(actor, party.pk)
        if expected_version is not None and locked.version != expected_version:
            raise errors.PreconditionFailed()
        target = attrs.get("lifecycle", locked.lifecycle)
        if target != locked.lifecycle and target not in LIFECYCLE_TRANSITIONS[locked.lifecycle]:
            raise errors.Conflict(
                _("A %(current)s party cannot become %(target)s.")
                % {"current": locked.lifecycle, "target": target},
                field_errors={"lifecycle": [_("Not an allowed lifecycle transition.")]},
                code="lifecycle_transition",
            )
        before = audit.snapshot(locked, PARTY_AUDIT_FIELDS)
        for name, value in attrs.items():
            setattr(locked, name, value)
        validation.check_person_fields(locked)
        after = audit.snapshot(locked, PARTY_AUDIT_FIELDS)
        if after == before:
            return locked
        locked.version += 1
        locked.save()
        if any(before[n] != after[n] for n in NAME_FIELDS):
            _refresh_search_text(locked)
        if before["branch_id"] != after["branch_id"]:
            _ensure_visible(actor, locked)
        audit.record(
            actor=actor,
            action="party.updated",
            object_type="party",
            object_id=locked.pk,
            party_id=locked.pk,
            changes=audit.diff(before, after),
        )
    return locked


# --- contacts ---------------------------------------------------------------------------------------
def _check_ubo_total(party: Party, pct: Decimal | None) -> None:
    """Beneficial ownership of one party cannot add up to more than 100 % (the party row is locked)."""
    if pct is None:
        return
    held = ContactRole.objects.filter(party=party, role=ContactRoleKind.UBO).aggregate(
        total=Sum("ownership_pct")
    )
    total = (held["total"] or Decimal(0)) + pct
    if total > validation.PCT_MAX:
        raise errors.field_error(
            "ownership_pct",
            _("Beneficial owners of this party would hold %(total)s %%; at most 100 %% is possible.")
            % {"total": _pct_text(total)},
            code="ownership_over_100",
        )


def _party_ids_of(contact: Contact) -> list[int]:
    return sorted(set(ContactRole.objects.filter(contact=contact).values_list("party_id", flat=True)))


def _audit_contact(actor: User | None, action: str, contact: Contact, changes: dict[str, Any]) -> None:
    """One event per party the contact belongs to, so it shows in each party's timeline."""
    for party_id in _party_ids_of(contact):
        audit.record(
            actor=actor,
            action=action,
            object_type="contact",
            object_id=contact.pk,
            party_id=party_id,
            changes=changes,
        )


def _insert_points(contact: Contact, points: Sequence[NewContactPoint]) -> list[ContactPoint]:
    """Insert contact points; a new preferred point takes the flag from the old one of its kind."""
    created = []
    for point in points:
        if point.is_preferred:
            ContactPoint.objects.filter(contact=contact, kind=point.kind, is_preferred=True).update(
                is_preferred=False
            )
        created.append(ContactPoint.objects.create(contact=contact, **vars(point)))
    return created


def _point_state(point: ContactPoint) -> dict[str, Any]:
    return {
        "kind": point.kind,
        "value": point.value,
        "label": point.label,
        "is_preferred": point.is_preferred,
    }


def create_contact(
    *,
    actor: User | None,
    party: Party,
    role: str,
    full_name: str,
    local_name: str = "",
    title: str = "",
    birth_date: date | None = None,
    nationality: str = "",
    ownership_pct: Decimal | None = None,
    points: Sequence[NewContactPoint] = (),
) -> Contact:
    """Record a natural person at a party in a role, with their emails, phones and addresses."""
    _require_writer(actor)
    attrs = validation.clean_contact_fields(
        {
            "full_name": full_name,
            "local_name": local_name,
            "title": title,
            "birth_date": birth_date,
            "nationality": nationality,
        }
    )
    pct = validation.clean_role(role, ownership_pct)
    if len(points) > validation.MAX_POINTS:
        raise errors.field_error("points", _("At most 20 contact points."))
    cleaned = [validation.clean_point(p, f"points.{i}") for i, p in enumerate(points)]
    preferred_kinds = [p.kind for p in cleaned if p.is_preferred]
    if len(preferred_kinds) != len(set(preferred_kinds)):
        raise errors.field_error("points", _("Mark at most one point of each kind as preferred."))
    with transaction.atomic():
        locked = _lock_party(actor, party.pk)
        _check_ubo_total(locked, pct)
        contact = Contact.objects.create(**attrs)
        ContactRole.objects.create(contact=contact, party=locked, role=role, ownership_pct=pct)
        _insert_points(contact, cleaned)
        _refresh_search_text(locked)
        audit.record(
            actor=actor,
            action="contact.created",
            object_type="contact",
            object_id=contact.pk,
            party_id=locked.pk,
            changes={
                "after": {
                    **audit.snapshot(contact, CONTACT_FIELDS),
                    "role": role,
                    "ownership_pct": pct,
                    "points": [vars(p) for p in cleaned],
                }
            },
        )
    return contact


def update_contact(
    *, actor: User | None, contact: Contact, expected_version: int | None = None, **changes: Any
) -> Contact:
    """Correct a contact's name, title, birth date or nationality."""
    _require_writer(actor)
    attrs = validation.clean_contact_fields(changes)
    with transaction.atomic():
        locked = _lock_contact(actor, contact.pk)
        if expected_version is not None and locked.version != expected_version:
            raise errors.PreconditionFailed()
        before = audit.snapshot(locked, CONTACT_FIELDS)
        for name, value in attrs.items():
            setattr(locked, name, value)
        after = audit.snapshot(locked, CONTACT_FIELDS)
        if after == before:
            return locked
        locked.version += 1
        locked.save()
        _audit_contact(actor, "contact.updated", locked, audit.diff(before, after))
    return locked


def add_contact_role(
    *, actor: User | None, contact: Contact, party: Party, role: str, ownership_pct: Decimal | None = None
) -> ContactRole:
    """Give a contact a(nother) role, at this or another party."""
    _require_writer(actor)
    pct = validation.clean_role(role, ownership_pct)
    with transaction.atomic():
        locked_contact = _lock_contact(actor, contact.pk)
        locked = _lock_party(actor, party.pk)
        if ContactRole.objects.filter(contact=locked_contact, party=locked, role=role).exists():
            raise errors.field_error(
                "role", _("The contact already has this role at this party."), code="duplicate"
            )
        _check_ubo_total(locked, pct)
        contact_role = ContactRole.objects.create(
            contact=locked_contact, party=locked, role=role, ownership_pct=pct
        )
        _bump(locked_contact)
        _refresh_search_text(locked)
        audit.record(
            actor=actor,
            action="contact.role_added",
            object_type="contact",
            object_id=locked_contact.pk,
            party_id=locked.pk,
            changes={"after": {"role": role, "ownership_pct": pct}},
        )
    return contact_role


def add_contact_point(
    *,
    actor: User | None,
    contact: Contact,
    kind: str,
    value: str,
    label: str = "",
    is_preferred: bool = False,
) -> ContactPoint:
    """Add an email, phone or address; marking it preferred unmarks the previous preferred one of its kind."""
    _require_writer(actor)
    point = validation.clean_point(NewContactPoint(kind, value, label, is_preferred))
    with transaction.atomic():
        locked = _lock_contact(actor, contact.pk)
        (created,) = _insert_points(locked, [point])
        _bump(locked)
        if created.kind == ContactPointKind.EMAIL:
            for party in Party.objects.filter(pk__in=_party_ids_of(locked)):
                _refresh_search_text(party)
        _audit_contact(actor, "contact.point_added", locked, {"after": _point_state(created)})
    return created


# --- relationships ----------------------------------------------------------------------------------
def _would_cycle(kind: str, from_id: int, to_id: int) -> bool:
    """Whether the new edge closes a loop in the ownership graph or in the group hierarchy."""
    if kind in OWNERSHIP_KINDS and graph.reaches(to_id, from_id, forward=OWNERSHIP_KINDS):
        return True
    if kind == RelationshipKind.PARENT_OF:
        forward, backward = graph.GROUP_DOWN
        return graph.reaches(to_id, from_id, forward=forward, backward=backward)
    if kind == RelationshipKind.MEMBER_OF_GROUP:  # the head (to) is above the member (from)
        forward, backward = graph.GROUP_DOWN
        return graph.reaches(from_id, to_id, forward=forward, backward=backward)
    return False


def _relationship_state(rel: Relationship) -> dict[str, Any]:
    return {
        "from_party_id": rel.from_party_id,
        "to_party_id": rel.to_party_id,
        "kind": rel.kind,
        "ownership_pct": rel.ownership_pct,
        "note": rel.note,
    }


def _audit_relationship(actor: User | None, action: str, rel: Relationship, changes: dict[str, Any]) -> None:
    """One event for each end, so the link shows in both parties' timelines."""
    for party_id in (rel.from_party_id, rel.to_party_id):
        audit.record(
            actor=actor,
            action=action,
            object_type="relationship",
            object_id=rel.pk,
            party_id=party_id,
            changes=changes,
        )


def create_relationship(
    *,
    actor: User | None,
    from_party: Party,
    to_party: Party,
    kind: str,
    ownership_pct: Decimal | None = None,
    note: str = "",
) -> Relationship:
    """Link two parties; ownership stays acyclic and at most 100 % into any party."""
    _require_writer(actor)
    validation.field("kind", validation.check_choice, kind, RelationshipKind, blank=False)
    note = validation.field("note", validation.check_text, note, limit=300)
    if from_party.pk == to_party.pk:
        raise errors.field_error("to_party", _("A party cannot be related to itself."))
    pct: Decimal | None = None
    if kind in OWNERSHIP_KINDS:
        if ownership_pct is None:
            raise errors.field_error(
                "ownership_pct", _("A %(kind)s link needs an ownership %%.") % {"kind": kind}
            )
        pct = validation.field("ownership_pct", validation.check_pct, ownership_pct)
    elif ownership_pct is not None:
        raise errors.field_error(
            "ownership_pct", _("Only parent_of and shareholder_of links carry an ownership %.")
        )
    with transaction.atomic():
        graph.lock_graph()
        source = _lock_party(actor, from_party.pk)
        target = _lock_party(actor, to_party.pk)
        if Relationship.objects.filter(from_party=source, to_party=target, kind=kind).exists():
            raise errors.field_error(
                "kind", _("These parties are already linked this way."), code="duplicate"
            )
        if pct is not None:
            held = Relationship.objects.filter(to_party=target, kind__in=OWNERSHIP_KINDS).aggregate(
                total=Sum("ownership_pct")
            )["total"] or Decimal(0)
            if held + pct > validation.PCT_MAX:
                raise errors.field_error(
                    "ownership_pct",
                    _("%(name)s is already %(held)s %% owned; another %(pct)s %% would exceed 100 %%.")
                    % {"name": target.legal_name, "held": _pct_text(held), "pct": _pct_text(pct)},
                    code="ownership_over_100",
                )
        if _would_cycle(kind, source.pk, target.pk):
            raise errors.field_error(
                "to_party",
                _("%(to)s already owns or controls %(from)s (directly or indirectly): a cycle.")
                % {"to": target.legal_name, "from": source.legal_name},
                code="relationship_cycle",
            )
        rel = Relationship.objects.create(
            from_party=source, to_party=target, kind=kind, ownership_pct=pct, note=note
        )
        _audit_relationship(actor, "relationship.created", rel, {"after": _relationship_state(rel)})
    return rel


def delete_relationship(*, actor: User | None, relationship: Relationship) -> None:
    """Remove a link between two parties."""
    _require_writer(actor)
    with transaction.atomic():
        graph.lock_graph()
        _lock_party(actor, relationship.from_party_id)
        _lock_party(actor, relationship.to_party_id)
        deleted, _n = Relationship.objects.filter(pk=relationship.pk).delete()
        if not deleted:
            raise errors.NotFound()
        _audit_relationship(
            actor, "relationship.deleted", relationship, {"before": _relationship_state(relationship)}
        )
