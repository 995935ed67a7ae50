"""The watchlist (关注名单): parties put on watch by hand (a monitoring officer) or by rule (a high
signal), with a reason, an action plan, an owner and a review date; leaving needs a second person."""

from collections.abc import Iterable
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.concurrency import check_version, locked_row
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.roles import MONITORING_ROLES, OVERSIGHT_APPROVER_ROLES
from lendcrm.monitoring.oversight_models import (
    Signal,
    SignalStatus,
    WatchlistEntry,
    WatchSource,
    WatchStatus,
)
from lendcrm.monitoring.oversight_selectors import LIVE_WATCH, visible_watchlist
from lendcrm.monitoring.services.reviews import chunks, responsible
from lendcrm.parties.selectors import get_party

MAX_REVIEW_DAYS = 366


def _require_monitor(actor: User) -> None:
    if not actor.is_active or not actor.role_slugs & MONITORING_ROLES:
        raise errors.PermissionDenied(_("Only a monitoring officer manages the watchlist."))


def _owner(owner_id: object) -> User:
    owner = User.objects.filter(pk=row_id(owner_id), is_active=True).first()
    if owner is None:
        raise errors.field_error("owner", _("Choose an active member of staff."))
    return owner


def _check_plan(reason: str, review_date: object, today: date) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not (reason or "").strip():
        problems["reason"] = [_("Say why the party is put on watch.")]
    if not isinstance(review_date, date) or not today <= review_date <= today + timedelta(
        days=MAX_REVIEW_DAYS
    ):
        problems["review_date"] = [_("Give a review date from today to a year ahead.")]
    return problems


def add_to_watchlist(
    *,
    actor: User,
    party_id: object,
    reason: str,
    owner_id: object,
    review_date: date,
    action_plan: str = "",
    today: date | None = None,
) -> WatchlistEntry:
    """Put a party on watch by hand; 409 when it is already on the watchlist."""
    _require_monitor(actor)
    today = today or timezone.localdate()
    problems = _check_plan(reason, review_date, today)
    if problems:
        raise errors.ValidationFailed(field_errors=problems)
    owner = _owner(owner_id)
    with transaction.atomic():
        party = get_party(viewer=actor, party_id=party_id)
        already = errors.Conflict(_("This party is already on the watchlist."), code="already_on_watch")
        if WatchlistEntry.objects.filter(party=party, status__in=LIVE_WATCH).exists():
            raise already
        try:
            with transaction.atomic():  # two people at once: the constraint lets one in
                entry = WatchlistEntry.objects.create(
                    party=party,
                    source=WatchSource.MANUAL,
                    reason=reason.strip(),
                    action_plan=(action_plan or "").strip(),
                    owner=owner,
                    review_date=review_date,
                    added_at=timezone.now(),
                    added_by=actor,
                )
        except IntegrityError as exc:
            raise already from exc
        _audit(
            actor,
            entry,
            "watchlist.added",
            {"source": entry.source, "owner": owner.pk, "review_date": review_date},
        )
    return entry


def update_watch_plan(
    *,
    actor: User,
    entry_id: object,
    action_plan: str,
    owner_id: object,
    review_date: date,
    expected_version: int | None = None,
    today: date | None = None,
) -> WatchlistEntry:
    """Change the action plan, owner or review date of a live entry (its owner or a monitoring officer)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        entry = locked_row(visible_watchlist(viewer=actor), row_id(entry_id))
        _require_owner_or_monitor(actor, entry)
        check_version(entry, expected_version)
        _require_live(entry)
        problems = _check_plan(entry.reason, review_date, today)
        if problems:
            raise errors.ValidationFailed(field_errors=problems)
        owner = _owner(owner_id)
        before = audit.snapshot(entry, ("action_plan", "owner_id", "review_date"))
        entry.action_plan, entry.owner, entry.review_date = (action_plan or "").strip(), owner, review_date
        entry.version += 1
        entry.save()
        _audit(actor, entry, "watchlist.updated", audit.diff(before, audit.snapshot(entry, tuple(before))))
    return entry


def _require_owner_or_monitor(actor: User, entry: WatchlistEntry) -> None:
    if not actor.is_active or (entry.owner_id != actor.pk and not actor.role_slugs & MONITORING_ROLES):
        raise errors.PermissionDenied(_("Only the owner or a monitoring officer may do this."))


def _require_live(entry: WatchlistEntry) -> None:
    if entry.status == WatchStatus.EXITED:
        raise errors.Conflict(_("This party has left the watchlist."), code="watch_exited")


def request_exit(
    *, actor: User, entry_id: object, reason: str, expected_version: int | None = None
) -> WatchlistEntry:
    """The owner or a monitoring officer asks for the party to leave the watchlist, with the reason."""
    with transaction.atomic():
        entry = locked_row(visible_watchlist(viewer=actor), row_id(entry_id))
        _require_owner_or_monitor(actor, entry)
        check_version(entry, expected_version)
        if entry.status != WatchStatus.ACTIVE:
            raise errors.Conflict(
                _("This entry is %(status)s.") % {"status": entry.get_status_display()},
                code="watch_not_active",
            )
        if not (reason or "").strip():
            raise errors.field_error("reason", _("Say why the party may leave the watchlist."))
        entry.status = WatchStatus.EXIT_REQUESTED
        entry.exit_reason = reason.strip()
        entry.exit_requested_by = actor
        entry.version += 1
        entry.save()
        _audit(actor, entry, "watchlist.exit_requested", {"reason": entry.exit_reason})
    return entry


def decide_exit(
    *, actor: User, entry_id: object, approve: bool, note: str = "", expected_version: int | None = None
) -> WatchlistEntry:
    """An oversight approver other than the requester lets the party leave, or keeps it on watch."""
    if not actor.is_active or not actor.role_slugs & OVERSIGHT_APPROVER_ROLES:
        raise errors.PermissionDenied(_("Only a monitoring officer or a credit approver decides this."))
    with transaction.atomic():
        entry = locked_row(visible_watchlist(viewer=actor), row_id(entry_id))
        check_version(entry, expected_version)
        if entry.status != WatchStatus.EXIT_REQUESTED:
            raise errors.Conflict(_("No request to leave the watchlist is waiting."), code="no_exit_request")
        if entry.exit_requested_by_id == actor.pk:
            raise errors.PermissionDenied(
                _("Someone other than the requester must decide (four-eyes)."), code="four_eyes"
            )
        if approve:
            entry.status = WatchStatus.EXITED
            entry.exit_approved_by = actor
            entry.exited_at = timezone.now()
        else:
            entry.status = WatchStatus.ACTIVE
            entry.exit_requested_by = None
            entry.exit_reason = ""
        entry.version += 1
        entry.save()
        _audit(
            actor, entry, "watchlist.exit_approved" if approve else "watchlist.exit_refused", {"note": note}
        )
    return entry


def apply_watch_rules(*, as_of: date, party_ids: Iterable[int] | None = None) -> int:
    """Put on watch every party with an open signal of at least `LENDCRM_WATCH_MIN_SEVERITY` that is not
    on the watchlist — unless it left the watchlist after that signal was raised (the approvers already
    weighed it). Owner: the facility's monitor, else the party's lead RM. The reason is the signal's
    message (said in each reader's language) and its sentence in the site's language. One audit event per
    entry added, with its party. Idempotent; returns the number of parties added."""
    signals = Signal.objects.filter(
        status=SignalStatus.OPEN, severity__gte=int(settings.LENDCRM_WATCH_MIN_SEVERITY)
    ).order_by("party_id", "-severity", "raised_on", "id")
    if party_ids is not None:
        signals = signals.filter(party_id__in=list(party_ids))
    parties = sorted(set(signals.values_list("party_id", flat=True)))
    review_date = as_of + timedelta(days=int(settings.LENDCRM_WATCH_REVIEW_DAYS))
    added = 0
    for chunk in chunks(parties):
        with transaction.atomic():
            entries = _watch_chunk(chunk, list(signals.filter(party_id__in=chunk)), review_date)
            audit.record_many(
                actor=None,
                entries=(
                    audit.Entry(
                        "watchlist.added_by_rule",
                        "watchlist_entry",
                        entry.pk,
                        entry.party_id,
                        {
                            "as_of": as_of,
                            "source": entry.source,
                            "signal": entry.signal_id,
                            "owner": entry.owner_id,
                            "review_date": entry.review_date,
                        },
                    )
                    for entry in entries
                ),
            )
        added += len(entries)
    return added


def _watch_chunk(chunk: list[int], signals: list[Signal], review_date: date) -> list[WatchlistEntry]:
    live = set(
        WatchlistEntry.objects.filter(party_id__in=chunk, status__in=LIVE_WATCH).values_list(
            "party_id", flat=True
        )
    )
    left: dict[int, date] = {}
    for party_id, exited_at in WatchlistEntry.objects.filter(
        party_id__in=chunk, status=WatchStatus.EXITED, exited_at__isnull=False
    ).values_list("party_id", "exited_at"):
        if exited_at is not None:
            left[party_id] = max(left.get(party_id, exited_at.date()), exited_at.date())
    who = responsible(chunk)
    now = timezone.now()
    entries = []
    for signal in signals:
        party = signal.party_id
        if party in live or (party in left and signal.raised_on <= left[party]):
            continue
        person = who.get(party)
        if person is None or person.user_id is None:
            continue
        live.add(party)
        entries.append(
            WatchlistEntry(
                party_id=party,
                source=WatchSource.RULE,
                reason=signal.detail,
                reason_key=signal.detail_key,
                reason_params=signal.detail_params,
                owner_id=person.user_id,
                review_date=review_date,
                signal=signal,
                added_at=now,
            )
        )
    WatchlistEntry.objects.bulk_create(entries)
    return entries


def _audit(actor: User | None, entry: WatchlistEntry, action: str, changes: dict[str, object]) -> None:
    audit.record(
        actor=actor,
        action=action,
        object_type="watchlist_entry",
        object_id=entry.pk,
        party_id=entry.party_id,
        changes=changes,
    )
