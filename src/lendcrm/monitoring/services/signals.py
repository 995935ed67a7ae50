"""Early-warning signals: the daily evaluation of the rules (set-based, idempotent) and dismissal by a
monitoring officer.

The evaluation audits each signal it raises (`signal.raised`), changes (`signal.changed`: severity, message
or facility) or clears (`signal.cleared`), one event per signal with its party, written in bulk per chunk
(`audit.record_many`). Seeing an open signal again on a later day only moves `last_seen_on` and is not
audited; a same-day re-run writes nothing."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.concurrency import locked_row
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.roles import MONITORING_ROLES
from lendcrm.monitoring import signal_rules
from lendcrm.monitoring.oversight_models import Signal, SignalStatus
from lendcrm.monitoring.oversight_selectors import visible_signals
from lendcrm.monitoring.services.reviews import chunks
from lendcrm.parties.models import Lifecycle, Party
from lendcrm.servicing.models import Facility, FacilityStatus

Key = tuple[int, str, str]
# What a re-run may change on an open signal; last_seen_on last (on a new day usually all that moves).
REFRESHED = ("severity", "detail_key", "detail_params", "facility_id", "last_seen_on")


def _universe(party_ids: Iterable[int] | None) -> tuple[list[int], set[int]]:
    """The parties the rules look at — borrowers with an active facility and active customers (KYC) —
    and with them every party with an open signal, so one whose condition has gone is cleared:
    (all in order, those looked at)."""
    borrowers = Facility.objects.filter(status=FacilityStatus.ACTIVE).values_list("borrower_id", flat=True)
    customers = Party.objects.filter(lifecycle=Lifecycle.ACTIVE).values_list("id", flat=True)
    flagged = Signal.objects.filter(status=SignalStatus.OPEN).values_list("party_id", flat=True)
    if party_ids is not None:
        wanted = list(party_ids)
        borrowers = borrowers.filter(borrower_id__in=wanted)
        customers = customers.filter(id__in=wanted)
        flagged = flagged.filter(party_id__in=wanted)
    watched = {*borrowers, *customers}
    return sorted(watched | set(flagged)), watched


@dataclass
class _Outcome:
    """What one chunk's evaluation did: signals raised, changed (with their values before), only seen
    again (last_seen_on moved) and cleared."""

    raised: list[Signal] = field(default_factory=list)
    changed: list[tuple[Signal, dict[str, object]]] = field(default_factory=list)
    seen: list[Signal] = field(default_factory=list)
    cleared: list[Signal] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.raised) + len(self.changed) + len(self.seen) + len(self.cleared)


def _evaluate_chunk(
    party_ids: list[int], watched: set[int], as_of: date, group_hits: dict[int, list[signal_rules.Hit]]
) -> _Outcome:
    """Raise, refresh and clear the chunk's signals (a fixed number of queries)."""
    looked_at = [p for p in party_ids if p in watched]
    found = signal_rules.evaluate(looked_at, as_of) + [h for p in looked_at for h in group_hits.get(p, ())]
    hits = {(h.party_id, h.rule, h.subject): h for h in found}
    open_now: dict[Key, Signal] = {}
    dismissed: dict[Key, int] = {}
    for row in Signal.objects.filter(party_id__in=party_ids).exclude(status=SignalStatus.CLEARED):
        key = (row.party_id, row.rule, row.subject)
        if row.status == SignalStatus.OPEN:
            open_now[key] = row
        else:
            dismissed[key] = max(dismissed.get(key, 0), row.severity)
    out = _Outcome()
    for key, hit in hits.items():
        signal = open_now.pop(key) if key in open_now else None
        if signal is None:
            # A dismissal holds while the condition stays the same or gets no worse.
            if key in dismissed and hit.severity <= dismissed[key]:
                continue
            out.raised.append(
                Signal(
                    party_id=hit.party_id,
                    facility_id=hit.facility_id,
                    rule=hit.rule,
                    subject=hit.subject,
                    severity=hit.severity,
                    detail_key=hit.key,
                    detail_params=hit.params,
                    detail=signal_rules.in_default_language(hit.key, hit.params),
                    raised_on=as_of,
                    last_seen_on=as_of,
                )
            )
            continue
        before = {name: getattr(signal, name) for name in REFRESHED}
        signal.severity, signal.facility_id = hit.severity, hit.facility_id
        signal.detail_key, signal.detail_params = hit.key, hit.params
        signal.last_seen_on = max(signal.last_seen_on, as_of)
        if any(getattr(signal, name) != before[name] for name in REFRESHED[:-1]):
            # The stored sentence is said again only when what it says has changed.
            signal.detail = signal_rules.in_default_language(hit.key, hit.params)
            out.changed.append((signal, before))
        elif signal.last_seen_on != before["last_seen_on"]:
            out.seen.append(signal)
    for signal in open_now.values():
        signal.status, signal.closed_on = SignalStatus.CLEARED, as_of
        out.cleared.append(signal)
    Signal.objects.bulk_create(out.raised)
    Signal.objects.bulk_update(
        [s for s, _before in out.changed],
        ["severity", "detail_key", "detail_params", "detail", "facility", "last_seen_on"],
    )
    # Most open signals are only seen again: one plain UPDATE, not a CASE per row.
    Signal.objects.filter(pk__in=[s.pk for s in out.seen]).update(last_seen_on=as_of)
    Signal.objects.bulk_update(out.cleared, ["status", "closed_on"])
    return out


def _audit_entries(as_of: date, out: _Outcome) -> Iterator[audit.Entry]:
    """One event per signal raised, changed or cleared, with its party (those only seen again on a later
    day are not events)."""
    for signal in out.raised:
        changes = {
            "as_of": as_of,
            "rule": signal.rule,
            "subject": signal.subject,
            "severity": signal.severity,
            "facility": signal.facility_id,
            "message": {"key": signal.detail_key, "params": signal.detail_params},
        }
        yield audit.Entry("signal.raised", "signal", signal.pk, signal.party_id, changes)
    for signal, before in out.changed:
        after = {name: getattr(signal, name) for name in REFRESHED[:-1]}
        changes = audit.diff({name: before[name] for name in after}, after)
        changes.update({"as_of": as_of, "rule": signal.rule, "subject": signal.subject})
        yield audit.Entry("signal.changed", "signal", signal.pk, signal.party_id, changes)
    for signal in out.cleared:
        changes = {"as_of": as_of, "rule": signal.rule, "subject": signal.subject}
        yield audit.Entry("signal.cleared", "signal", signal.pk, signal.party_id, changes)


def evaluate_signals(*, as_of: date, party_ids: Iterable[int] | None = None) -> int:
    """Run every rule over the parties (in chunks, a fixed number of queries each): raise a signal for a
    new condition, refresh the open one of the same rule and subject (severity, message, last seen), clear
    those whose condition has gone; one audit event per signal raised, changed or cleared. Idempotent: a
    re-run on the same data changes nothing and audits nothing. Returns the number of signals raised,
    changed, seen again on a later day or cleared."""
    changed = 0
    everyone, watched = _universe(party_ids)
    group_hits = signal_rules.group_npl(as_of, None if party_ids is None else everyone)
    for chunk in chunks(everyone):
        with transaction.atomic():
            out = _evaluate_chunk(chunk, watched, as_of, group_hits)
            audit.record_many(actor=None, entries=_audit_entries(as_of, out))
        changed += out.count
    return changed


def dismiss_signal(*, actor: User, signal_id: object, reason: str, today: date | None = None) -> Signal:
    """A monitoring officer closes an open signal as not a concern, with the reason; the same condition
    does not come back unless it gets worse."""
    if not actor.is_active or not actor.role_slugs & MONITORING_ROLES:
        raise errors.PermissionDenied(_("Only a monitoring officer dismisses a signal."))
    reason = (reason or "").strip()
    with transaction.atomic():
        signal = locked_row(visible_signals(viewer=actor), row_id(signal_id))
        if signal.status != SignalStatus.OPEN:
            raise errors.Conflict(
                _("This signal is %(status)s.") % {"status": signal.get_status_display()},
                code="signal_not_open",
            )
        if not reason:
            raise errors.field_error("reason", _("Say why this signal is not a concern."))
        signal.status = SignalStatus.DISMISSED
        signal.closed_on = today or timezone.localdate()
        signal.closed_by = actor
        signal.dismissal_reason = reason
        signal.save(update_fields=["status", "closed_on", "closed_by", "dismissal_reason"])
        audit.record(
            actor=actor,
            action="signal.dismissed",
            object_type="signal",
            object_id=signal.pk,
            party_id=signal.party_id,
            changes={"rule": signal.rule, "subject": signal.subject, "reason": reason},
        )
    return signal
