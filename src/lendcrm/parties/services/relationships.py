"""Writes to relationships between parties: ownership stays acyclic and at most 100 %."""

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.access import require_customer_writer
from lendcrm.core.models import User
from lendcrm.parties import graph, validation
from lendcrm.parties.models import (
    OWNERSHIP_KINDS,
    Party,
    Relationship,
    RelationshipKind,
)
from lendcrm.parties.services.common import (
    lock_party,
    pct_text,
)


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
    audit.record_for_parties(
        actor=actor,
        action=action,
        object_type="relationship",
        object_id=rel.pk,
        party_ids=(rel.from_party_id, rel.to_party_id),
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
    require_customer_writer(actor)
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
        source = lock_party(actor, from_party.pk)
        target = lock_party(actor, to_party.pk)
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
                    % {"name": target.legal_name, "held": pct_text(held), "pct": pct_text(pct)},
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
    require_customer_writer(actor)
    with transaction.atomic():
        graph.lock_graph()
        lock_party(actor, relationship.from_party_id)
        lock_party(actor, relationship.to_party_id)
        deleted, _n = Relationship.objects.filter(pk=relationship.pk).delete()
        if not deleted:
            raise errors.NotFound()
        _audit_relationship(
            actor, "relationship.deleted", relationship, {"before": _relationship_state(relationship)}
        )
