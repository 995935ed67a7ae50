"""Writes to contacts: natural persons at parties, their roles and contact points."""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.access import require_customer_writer
from lendcrm.core.concurrency import check_version
from lendcrm.core.models import User
from lendcrm.parties import validation
from lendcrm.parties.models import (
    Contact,
    ContactPoint,
    ContactPointKind,
    ContactRole,
    ContactRoleKind,
    Party,
)
from lendcrm.parties.services.common import (
    CONTACT_FIELDS,
    bump,
    lock_contact,
    lock_party,
    pct_text,
    refresh_search_text,
)
from lendcrm.parties.validation import NewContactPoint


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
            % {"total": pct_text(total)},
            code="ownership_over_100",
        )


def _party_ids_of(contact: Contact) -> list[int]:
    return sorted(set(ContactRole.objects.filter(contact=contact).values_list("party_id", flat=True)))


def _audit_contact(actor: User | None, action: str, contact: Contact, changes: dict[str, Any]) -> None:
    """One event per party the contact belongs to, so it shows in each party's timeline."""
    audit.record_for_parties(
        actor=actor,
        action=action,
        object_type="contact",
        object_id=contact.pk,
        party_ids=_party_ids_of(contact),
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
    require_customer_writer(actor)
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
        locked = lock_party(actor, party.pk)
        _check_ubo_total(locked, pct)
        contact = Contact.objects.create(**attrs)
        ContactRole.objects.create(contact=contact, party=locked, role=role, ownership_pct=pct)
        _insert_points(contact, cleaned)
        refresh_search_text(locked)
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
    require_customer_writer(actor)
    attrs = validation.clean_contact_fields(changes)
    with transaction.atomic():
        locked = lock_contact(actor, contact.pk)
        check_version(locked, expected_version)
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
    require_customer_writer(actor)
    pct = validation.clean_role(role, ownership_pct)
    with transaction.atomic():
        locked_contact = lock_contact(actor, contact.pk)
        locked = lock_party(actor, party.pk)
        if ContactRole.objects.filter(contact=locked_contact, party=locked, role=role).exists():
            raise errors.field_error(
                "role", _("The contact already has this role at this party."), code="duplicate"
            )
        _check_ubo_total(locked, pct)
        contact_role = ContactRole.objects.create(
            contact=locked_contact, party=locked, role=role, ownership_pct=pct
        )
        bump(locked_contact)
        refresh_search_text(locked)
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
    require_customer_writer(actor)
    point = validation.clean_point(NewContactPoint(kind, value, label, is_preferred))
    with transaction.atomic():
        locked = lock_contact(actor, contact.pk)
        (created,) = _insert_points(locked, [point])
        bump(locked)
        if created.kind == ContactPointKind.EMAIL:
            for party in Party.objects.filter(pk__in=_party_ids_of(locked)):
                refresh_search_text(party)
        _audit_contact(actor, "contact.point_added", locked, {"after": _point_state(created)})
    return created
