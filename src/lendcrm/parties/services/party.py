"""Writes to parties, their identifiers and their coverage."""

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.access import require_customer_writer
from lendcrm.core.concurrency import check_version
from lendcrm.core.models import Branch, User
from lendcrm.core.money import Money
from lendcrm.core.roles import Role
from lendcrm.parties import validation
from lendcrm.parties.identifiers import SCHEMES
from lendcrm.parties.models import (
    Coverage,
    CoverageRole,
    Identifier,
    KycStatus,
    Lifecycle,
    Party,
)
from lendcrm.parties.selectors import visible_parties
from lendcrm.parties.services.common import (
    LIFECYCLE_TRANSITIONS,
    NAME_FIELDS,
    PARTY_AUDIT_FIELDS,
    PROFILE_FIELDS,
    bump,
    ensure_visible,
    lock_party,
    refresh_search_text,
)


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
    require_customer_writer(actor)
    pairs = validation.clean_identifiers([(scheme, value)], "")
    with transaction.atomic():
        locked = lock_party(actor, party.pk)
        _refuse_taken(actor, pairs, "")
        (identifier,) = _insert_identifiers(locked, pairs)
        bump(locked)
        refresh_search_text(locked)
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
    require_customer_writer(actor)
    with transaction.atomic():
        locked = lock_party(actor, identifier.party_id)
        deleted, _n = Identifier.objects.filter(pk=identifier.pk, party=locked).delete()
        if not deleted:
            raise errors.NotFound()
        bump(locked)
        refresh_search_text(locked)
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
    require_customer_writer(actor)
    members = _clean_coverage(lead, team, "lead")
    with transaction.atomic():
        locked = lock_party(actor, party.pk)
        check_version(locked, expected_version)
        before = _coverage_state(locked)
        _write_coverage(locked, lead, members)
        after = _coverage_state(locked)
        if after != before:
            bump(locked)
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
    require_customer_writer(actor)
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
        refresh_search_text(party)
        ensure_visible(actor, party)
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
    require_customer_writer(actor)
    unknown = sorted(set(changes) - set(PROFILE_FIELDS))
    if unknown:
        raise errors.ValidationFailed(field_errors={name: [_("Unknown field.")] for name in unknown})
    attrs = validation.clean_profile(changes)
    with transaction.atomic():
        locked = lock_party(actor, party.pk)
        check_version(locked, expected_version)
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
            refresh_search_text(locked)
        if before["branch_id"] != after["branch_id"]:
            ensure_visible(actor, locked)
        audit.record(
            actor=actor,
            action="party.updated",
            object_type="party",
            object_id=locked.pk,
            party_id=locked.pk,
            changes=audit.diff(before, after),
        )
    return locked
