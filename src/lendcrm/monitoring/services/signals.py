"""Early-warning signals: the daily evaluation of the rules (set-based, idempotent) and dismissal by a
monitoring officer."""

from collections.abc import Iterable
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
REFRESHED = ("severity", "detail", "facility_id", "last_seen_on")


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


def _evaluate_chunk(
    party_ids: list[int], watched: set[int], as_of: date, group_hits: dict[int, list[signal_rules.Hit]]
) -> tuple[list[Signal], list[Signal], list[Signal]]:
    """Raise, refresh and clear the chunk's signals: (raised, refreshed, cleared)."""
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
    raised: list[Signal] = []
    refreshed: list[Signal] = []
    seen: list[Signal] = []
    cleared: list[Signal] = []
    for key, hit in hits.items():
        signal = open_now.pop(key) if key in open_now else None
        if signal is None:
            # A dismissal holds while the condition stays the same or gets no worse.
            if key in dismissed and hit.severity <= dismissed[key]:
                continue
            raised.append(
                Signal(
                    party_id=hit.party_id,
                    facility_id=hit.facility_id,
                    rule=hit.rule,
                    subject=hit.subject,
                    severity=hit.severity,
                    detail=hit.detail[:500],
                    raised_on=as_of,
                    last_seen_on=as_of,
                )
            )
            continue
        before = tuple(getattr(signal, name) for name in REFRESHED)
        signal.severity, signal.detail, signal.facility_id = hit.severity, hit.detail[:500], hit.facility_id
        signal.last_seen_on = max(signal.last_seen_on, as_of)
        after = tuple(getattr(signal, name) for name in REFRESHED)
        if after[:-1] != before[:-1]:
            refreshed.append(signal)
        elif after != before:
            seen.append(signal)
    for signal in open_now.values():
        signal.status, signal.closed_on = SignalStatus.CLEARED, as_of
        cleared.append(signal)
    Signal.objects.bulk_create(raised)
    Signal.objects.bulk_update(refreshed, ["severity", "detail", "facility", "last_seen_on"])
    # Most open signals are only seen again: one plain UPDATE, not a CASE per row.
    Signal.objects.filter(pk__in=[s.pk for s in seen]).update(last_seen_on=as_of)
    Signal.objects.bulk_update(cleared, ["status", "closed_on"])
    return raised, refreshed + seen, cleared


def evaluate_signals(*, as_of: date, party_ids: Iterable[int] | None = None) -> int:
    """Run every rule over the parties (in chunks, a fixed number of queries each): raise a signal for a
    new condition, refresh the open one of the same rule and subject (severity, detail, last seen), clear
    those whose condition has gone. Idempotent: a re-run on the same data changes nothing. Returns the
    number of signals raised, changed or cleared."""
    changed = 0
    everyone, watched = _universe(party_ids)
    group_hits = signal_rules.group_npl(as_of, None if party_ids is None else everyone)
    for chunk in chunks(everyone):
        with transaction.atomic():
            raised, refreshed, cleared = _evaluate_chunk(chunk, watched, as_of, group_hits)
            if raised or cleared:
                audit.record(
                    actor=None,
                    action="signal.evaluated",
                    object_type="signal",
                    object_id="batch",
                    changes={
                        "as_of": as_of,
                        "raised": [[s.pk, s.party_id, s.rule] for s in raised],
                        "cleared": [s.pk for s in cleared],
                    },
                )
        changed += len(raised) + len(refreshed) + len(cleared)
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
