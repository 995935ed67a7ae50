"""Writes to leads: capture (with duplicate detection), edit, qualify into a party and an opportunity,
disqualify with a reason."""

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.access import require_customer_writer
from lendcrm.core.concurrency import check_version, locked_row
from lendcrm.core.models import Branch, User
from lendcrm.core.roles import Role
from lendcrm.parties import identifiers
from lendcrm.parties import services as party_services
from lendcrm.parties.models import PartyKind
from lendcrm.parties.selectors import can_see_party
from lendcrm.pipeline.duplicates import find_existing_party
from lendcrm.pipeline.models import DisqualificationReason, Lead, LeadSource, LeadStatus, Opportunity
from lendcrm.pipeline.selectors import visible_leads
from lendcrm.pipeline.services.common import bump, check_staff
from lendcrm.pipeline.services.opportunities import clean_opportunity, insert_opportunity
from lendcrm.pipeline.validation import (
    Invalid,
    Problems,
    check_choice,
    check_long_text,
    check_text,
    collect,
    money_pair,
    refuse,
    resolve_products,
)

LEAD_AUDIT_FIELDS = (
    "source",
    "source_detail",
    "status",
    "party_kind",
    "name",
    "local_name",
    "country",
    "industry_code",
    "lei",
    "uscc",
    "contact_name",
    "contact_email",
    "contact_phone",
    "product_id",
    "requested_amount",
    "currency",
    "notes",
    "branch_id",
    "owner_id",
    "party_id",
    "matched_by",
    "disqualification_reason",
    "disqualification_note",
    "closed_at",
)
# What a lead's input may name; `branch` is a Branch, `owner` a User, `product` a code (or Product).
LEAD_INPUT = frozenset(
    {
        "source",
        "source_detail",
        "party_kind",
        "name",
        "local_name",
        "country",
        "industry_code",
        "lei",
        "uscc",
        "contact_name",
        "contact_email",
        "contact_phone",
        "product",
        "requested_amount",
        "currency",
        "notes",
        "branch",
        "owner",
    }
)
_IDENTITY = frozenset({"name", "local_name", "lei", "uscc"})
_TEXT_LIMITS = {
    "name": 300,
    "local_name": 300,
    "source_detail": 200,
    "contact_name": 200,
    "industry_code": 10,
}
_COUNTRY_RE = re.compile(r"[A-Z]{2}")
_PHONE_RE = re.compile(r"\+?[0-9][0-9 ().\-]{4,38}")


def _identifier(scheme: str, value: object) -> str:
    if not isinstance(value, str):
        raise Invalid(_("Must be text."))
    if not value.strip():
        return ""
    try:
        return identifiers.validate(scheme, value)
    except identifiers.InvalidIdentifier as exc:
        raise Invalid(exc.message) from exc


def _country(value: object) -> str:
    text = check_text(value, limit=2).upper()
    if text and not _COUNTRY_RE.fullmatch(text):
        raise Invalid(_("Use the two-letter ISO 3166 country code, e.g. CN."))
    return text


def _email(value: object) -> str:
    text = check_text(value, limit=254)
    if text:
        try:
            validate_email(text)
        except DjangoValidationError as exc:
            raise Invalid(_("Not a valid email address.")) from exc
    return text


def _phone(value: object) -> str:
    text = check_text(value, limit=40)
    if text and (not _PHONE_RE.fullmatch(text) or sum(c.isdigit() for c in text) < 5):
        raise Invalid(_("Not a valid phone number: digits, spaces, dashes and an optional leading +."))
    return text


def _branch(value: object) -> Branch:
    if not isinstance(value, Branch):
        raise Invalid(_("A branch is required."))
    return value


def _clean(data: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """Lead input as model attributes, every bad field reported together."""
    unknown = sorted(set(data) - LEAD_INPUT)
    problems: Problems = {name: [_("Unknown field.")] for name in unknown}
    attrs: dict[str, Any] = {}
    if creating and not data.get("name"):
        problems.setdefault("name", []).append(_("This field is required."))
    for name, value in data.items():
        if name in _TEXT_LIMITS:
            attrs[name] = collect(
                problems, name, check_text, value, limit=_TEXT_LIMITS[name], required=name == "name"
            )
            if name == "industry_code" and attrs[name]:
                attrs[name] = attrs[name].upper()
        elif name == "source":
            attrs[name] = collect(problems, name, check_choice, value, LeadSource)
        elif name == "party_kind":
            attrs[name] = collect(problems, name, check_choice, value, PartyKind)
        elif name in ("lei", "uscc"):
            attrs[name] = collect(problems, name, _identifier, name, value)
        elif name == "country":
            attrs[name] = collect(problems, name, _country, value)
        elif name == "contact_email":
            attrs[name] = collect(problems, name, _email, value)
        elif name == "contact_phone":
            attrs[name] = collect(problems, name, _phone, value)
        elif name == "notes":
            attrs[name] = collect(problems, name, check_long_text, value)
        elif name == "branch":
            attrs[name] = collect(problems, name, _branch, value)
    if "requested_amount" in data or "currency" in data:
        attrs["requested_amount"], attrs["currency"] = money_pair(problems, data, "requested_amount")
    refuse(problems)
    if data.get("product") not in (None, ""):
        (attrs["product"],) = resolve_products([data["product"]], lambda _i: "product")
    elif "product" in data:
        attrs["product"] = None
    if data.get("owner") is not None:
        attrs["owner"] = check_staff(data["owner"], "owner")
    return attrs


def _match(lead: Lead) -> None:
    """Link the lead to the party it duplicates (by LEI, USCC or name), or to none."""
    found = find_existing_party(lei=lead.lei, uscc=lead.uscc, name=lead.name, local_name=lead.local_name)
    lead.party_id = found.party_id if found else None
    lead.matched_by = found.matched_by if found else ""


def _ensure_visible(actor: User, lead: Lead) -> None:
    if not visible_leads(viewer=actor).filter(pk=lead.pk).exists():
        raise errors.field_error(
            "branch", _("You could no longer see this lead: book it at your branch or own it yourself.")
        )


def create_lead(*, actor: User, data: Mapping[str, Any]) -> Lead:
    """Capture a lead; one that duplicates an existing party (LEI, USCC or name, searched across the
    whole book) is linked to it, never a second party."""
    require_customer_writer(actor)
    attrs = _clean(data, creating=True)
    attrs.setdefault("source", LeadSource.RM)
    attrs.setdefault("branch", actor.branch)
    if attrs["branch"] is None:
        raise errors.field_error("branch", _("A branch is required."))
    if "owner" not in attrs:
        attrs["owner"] = check_staff(actor, "owner")
    lead = Lead(**attrs)
    with transaction.atomic():
        _match(lead)
        lead.save()
        _ensure_visible(actor, lead)
        audit.record(
            actor=actor,
            action="lead.created",
            object_type="lead",
            object_id=lead.pk,
            party_id=lead.party_id,
            changes={"after": audit.snapshot(lead, LEAD_AUDIT_FIELDS)},
        )
    return lead


def _lock_open(actor: User, lead_id: int, expected_version: int | None) -> Lead:
    lead: Lead = locked_row(visible_leads(viewer=actor), lead_id)
    check_version(lead, expected_version)
    if lead.status != LeadStatus.NEW:
        raise errors.Conflict(
            _("This lead is already %(status)s.") % {"status": lead.get_status_display()}, code="lead_closed"
        )
    return lead


def update_lead(
    *, actor: User, lead_id: int, changes: Mapping[str, Any], expected_version: int | None = None
) -> Lead:
    """Correct a new lead; a changed name or identifier re-runs duplicate detection."""
    require_customer_writer(actor)
    attrs = _clean(changes, creating=False)
    with transaction.atomic():
        lead = _lock_open(actor, lead_id, expected_version)
        before = audit.snapshot(lead, LEAD_AUDIT_FIELDS)
        for name, value in attrs.items():
            setattr(lead, name, value)
        if _IDENTITY & set(attrs):
            _match(lead)
        after = audit.snapshot(lead, LEAD_AUDIT_FIELDS)
        if after == before:
            return lead
        bump(lead)
        _ensure_visible(actor, lead)
        audit.record(
            actor=actor,
            action="lead.updated",
            object_type="lead",
            object_id=lead.pk,
            party_id=lead.party_id,
            changes=audit.diff(before, after),
        )
    return lead


def _prospect(actor: User, lead: Lead) -> int:
    """The party the lead becomes: the one it matches (now or at capture), else a new prospect."""
    if lead.party_id is None:
        _match(lead)
    if lead.party_id is not None:
        if not can_see_party(viewer=actor, party_id=lead.party_id):
            raise errors.Conflict(
                _(
                    "This lead matches an existing customer you cannot see; ask that customer's "
                    "relationship manager to take it on."
                ),
                code="matched_party_out_of_scope",
            )
        return lead.party_id
    owner = lead.owner
    lead_rm = (
        owner if owner is not None and owner.is_active and owner.has_role(Role.RELATIONSHIP_MANAGER) else None
    )
    party = party_services.create_party(
        actor=actor,
        kind=lead.party_kind,
        legal_name=lead.name,
        local_name=lead.local_name,
        country=lead.country,
        industry_code=lead.industry_code,
        branch=lead.branch,
        identifiers=[(s, v) for s, v in ((identifiers.LEI, lead.lei), (identifiers.USCC, lead.uscc)) if v],
        lead_rm=lead_rm,
    )
    return party.pk


def qualify_lead(
    *,
    actor: User,
    lead_id: int,
    opportunity: Mapping[str, Any],
    expected_version: int | None = None,
) -> Opportunity:
    """Turn a lead into a party (the matched one, or a new prospect) and an opportunity in stage qualify.
    Products, amount and currency default to the lead's, the owner to the lead's owner."""
    require_customer_writer(actor)
    with transaction.atomic():
        lead = _lock_open(actor, lead_id, expected_version)
        defaults: dict[str, Any] = {"title": lead.name}
        if lead.product_id is not None:
            defaults["products"] = [lead.product]
        if lead.requested_amount is not None:
            defaults |= {"amount": lead.requested_amount, "currency": lead.currency}
        if lead.owner_id is not None:
            defaults["owner"] = lead.owner
        attrs = clean_opportunity({**defaults, **opportunity}, creating=True)
        before = audit.snapshot(lead, LEAD_AUDIT_FIELDS)
        party_id = _prospect(actor, lead)
        lead.party_id = party_id
        lead.status = LeadStatus.QUALIFIED
        lead.closed_at = timezone.now()
        bump(lead)
        created = insert_opportunity(actor=actor, party_id=party_id, attrs=attrs, lead=lead)
        audit.record(
            actor=actor,
            action="lead.qualified",
            object_type="lead",
            object_id=lead.pk,
            party_id=party_id,
            changes={
                **audit.diff(before, audit.snapshot(lead, LEAD_AUDIT_FIELDS)),
                "opportunity": created.pk,
            },
        )
    return created


def disqualify_lead(
    *,
    actor: User,
    lead_id: int,
    reason: str,
    note: str = "",
    expected_version: int | None = None,
) -> Lead:
    """Close a lead as not worth pursuing; the reason is required, so the funnel can say why."""
    require_customer_writer(actor)
    problems: Problems = {}
    if not reason:
        problems["reason"] = [_("Say why the lead is disqualified.")]
    else:
        collect(problems, "reason", check_choice, reason, DisqualificationReason)
    clean_note = collect(problems, "note", check_text, note, limit=500)
    refuse(problems)
    with transaction.atomic():
        lead = _lock_open(actor, lead_id, expected_version)
        before = audit.snapshot(lead, LEAD_AUDIT_FIELDS)
        lead.status = LeadStatus.DISQUALIFIED
        lead.disqualification_reason = reason
        lead.disqualification_note = clean_note
        lead.closed_at = timezone.now()
        bump(lead)
        audit.record(
            actor=actor,
            action="lead.disqualified",
            object_type="lead",
            object_id=lead.pk,
            party_id=lead.party_id,
            changes=audit.diff(before, audit.snapshot(lead, LEAD_AUDIT_FIELDS)),
        )
    return lead
