"""The tamper-evident audit trail: every write and every 360 read, hash-chained."""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core.logging import request_id_var
from lendcrm.core.models import AuditChainHead, AuditEvent, User

GENESIS_HASH = "0" * 64


def to_jsonable(value: Any) -> Any:
    """Turn model values into JSON primitives that survive a database round trip unchanged."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Decimal | date | datetime):
        return value.isoformat() if not isinstance(value, Decimal) else str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(obj: models.Model, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The concrete field values of a model instance, for before/after diffs."""
    names = fields or tuple(f.attname for f in obj._meta.concrete_fields)
    return {name: to_jsonable(getattr(obj, name)) for name in names}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Only the fields that changed, as {"before": {...}, "after": {...}}."""
    keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return {"before": {k: before.get(k) for k in keys}, "after": {k: after.get(k) for k in keys}}


def _digest(event: AuditEvent) -> str:
    payload = {
        "occurred_at": event.occurred_at.isoformat(),
        "actor_id": event.actor_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "party_id": event.party_id,
        "changes": event.changes,
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One event for `record_many`: what changed, on which object, for which party."""

    action: str
    object_type: str
    object_id: object
    party_id: int | None = None
    changes: dict[str, Any] | None = None


def _locked_head() -> AuditChainHead:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the service's transaction")
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(
        pk=1, defaults={"last_hash": GENESIS_HASH}
    )
    return head


def _chained(actor: User | None, entry: Entry, prev_hash: str, at: datetime) -> AuditEvent:
    event = AuditEvent(
        occurred_at=at,
        actor=actor,
        action=entry.action,
        object_type=entry.object_type,
        object_id=str(entry.object_id),
        party_id=entry.party_id,
        changes=to_jsonable(entry.changes or {}),
        request_id=request_id_var.get(),
        prev_hash=prev_hash,
    )
    event.hash = _digest(event)
    return event


def record(
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: object,
    party_id: int | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain; must run inside the caller's transaction."""
    head = _locked_head()
    entry = Entry(action, object_type, object_id, party_id, changes)
    event = _chained(actor, entry, head.last_hash, timezone.now())
    event.save()
    head.last_hash = event.hash
    head.save(update_fields=["last_hash"])
    return event


def record_many(*, actor: User | None, entries: Iterable[Entry], batch_size: int = 1000) -> int:
    """Append many events under one lock of the chain head, inserted in batches: a job that changes
    thousands of objects audits each of them in a constant number of queries per batch."""
    pending = list(entries)
    if not pending:
        return 0
    head = _locked_head()
    at = timezone.now()
    events: list[AuditEvent] = []
    prev_hash = head.last_hash
    for entry in pending:
        event = _chained(actor, entry, prev_hash, at)
        prev_hash = event.hash
        events.append(event)
    AuditEvent.objects.bulk_create(events, batch_size=batch_size)
    head.last_hash = prev_hash
    head.save(update_fields=["last_hash"])
    return len(events)


def record_for_parties(
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: object,
    party_ids: Iterable[int],
    changes: dict[str, Any] | None = None,
) -> None:
    """One event per party an object belongs to (a contact at two parties, a link's two ends), so
    the change shows in each party's timeline."""
    for party_id in party_ids:
        record(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            party_id=party_id,
            changes=changes,
        )


def changed_field_names(changes: Any) -> list[str]:
    """The names of the fields an entry's `changes` touched (a before/after snapshot or a diff);
    never their values."""
    if not isinstance(changes, dict):
        return []
    parts = [changes[p] for p in ("before", "after") if isinstance(changes.get(p), dict)]
    if not parts:
        return sorted(str(k) for k in changes)
    return sorted({str(name) for part in parts for name in part})


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_bad_id: int | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def verify_chain(batch_size: int = 5000) -> ChainReport:
    """Walk the chain in order; report the first entry whose link or content was altered."""
    expected_prev = GENESIS_HASH
    checked = 0
    last_id = 0
    while True:
        batch = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not batch:
            break
        for event in batch:
            if event.prev_hash != expected_prev:
                return ChainReport(checked, event.id, _("link to the previous entry is broken"))
            if _digest(event) != event.hash:
                return ChainReport(checked, event.id, _("content does not match its hash"))
            expected_prev = event.hash
            checked += 1
            last_id = event.id
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and checked and head.last_hash != expected_prev:
        return ChainReport(checked, last_id, _("entries after this one were removed"))
    return ChainReport(checked, None)
