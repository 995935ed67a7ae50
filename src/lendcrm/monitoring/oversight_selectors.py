"""Every read of reviews, early-warning signals and the watchlist, scoped to the viewer through the party;
and what the home page and the customer 360 page show of them."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from lendcrm.core import errors
from lendcrm.core.access import party_scope
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.roles import MONITORING_ROLES
from lendcrm.core.selectors import given
from lendcrm.monitoring.oversight_models import (
    Review,
    ReviewStatus,
    Signal,
    SignalStatus,
    WatchlistEntry,
    WatchStatus,
)
from lendcrm.parties.models import Coverage

PANEL_ROWS = 10
WATCH_REVIEW_SOON_DAYS = 14
LIVE_WATCH = (WatchStatus.ACTIVE, WatchStatus.EXIT_REQUESTED)


def _scoped(qs: QuerySet[Any], viewer: User) -> QuerySet[Any]:
    scope = party_scope(viewer, via="party")
    return qs if scope is None else qs.filter(scope)


# --- reviews ------------------------------------------------------------------------------------------
def visible_reviews(*, viewer: User) -> QuerySet[Review]:
    return _scoped(Review.objects.all(), viewer)


def review_list(
    *,
    viewer: User,
    party_id: int | None = None,
    status: str | None = None,
    kind: str | None = None,
    assigned_to_id: int | None = None,
    overdue_on: date | None = None,
) -> QuerySet[Review]:
    """Reviews the viewer may see, soonest due first; `overdue_on` keeps scheduled ones due before it."""
    qs = given(
        visible_reviews(viewer=viewer),
        party_id=party_id,
        status=status,
        kind=kind,
        assigned_to_id=assigned_to_id,
    )
    if overdue_on is not None:
        qs = qs.filter(status=ReviewStatus.SCHEDULED, due_date__lt=overdue_on)
    return qs.select_related("party", "facility", "assigned_to").order_by("due_date", "id")


def get_review(*, viewer: User, review_id: object) -> Review:
    found = (
        visible_reviews(viewer=viewer)
        .select_related("party", "facility", "assigned_to", "completed_by")
        .filter(pk=row_id(review_id))
        .first()
    )
    if found is None:
        raise errors.NotFound()
    return found


# --- signals ------------------------------------------------------------------------------------------
def visible_signals(*, viewer: User) -> QuerySet[Signal]:
    return _scoped(Signal.objects.all(), viewer)


def signal_list(
    *,
    viewer: User,
    party_id: int | None = None,
    facility_id: int | None = None,
    status: str | None = None,
    rule: str | None = None,
    min_severity: int | None = None,
) -> QuerySet[Signal]:
    """Signals the viewer may see, worst and newest first."""
    qs = given(
        visible_signals(viewer=viewer), party_id=party_id, facility_id=facility_id, status=status, rule=rule
    )
    if min_severity is not None:
        qs = qs.filter(severity__gte=min_severity)
    return qs.select_related("party", "facility").order_by("-severity", "-raised_on", "-id")


def get_signal(*, viewer: User, signal_id: object) -> Signal:
    found = (
        visible_signals(viewer=viewer)
        .select_related("party", "facility", "closed_by")
        .filter(pk=row_id(signal_id))
        .first()
    )
    if found is None:
        raise errors.NotFound()
    return found


# --- watchlist ----------------------------------------------------------------------------------------
def visible_watchlist(*, viewer: User) -> QuerySet[WatchlistEntry]:
    return _scoped(WatchlistEntry.objects.all(), viewer)


def watchlist(
    *,
    viewer: User,
    party_id: int | None = None,
    status: str | None = None,
    source: str | None = None,
    owner_id: int | None = None,
    live_only: bool = False,
    review_by: date | None = None,
) -> QuerySet[WatchlistEntry]:
    """Watchlist entries the viewer may see, soonest review first; `live_only` drops those that left,
    `review_by` keeps live ones whose review date is on or before it."""
    qs = given(
        visible_watchlist(viewer=viewer), party_id=party_id, status=status, source=source, owner_id=owner_id
    )
    if live_only or review_by is not None:
        qs = qs.filter(status__in=LIVE_WATCH)
    if review_by is not None:
        qs = qs.filter(review_date__lte=review_by)
    return qs.select_related("party", "owner", "signal").order_by("review_date", "id")


def get_watch_entry(*, viewer: User, entry_id: object) -> WatchlistEntry:
    found = (
        visible_watchlist(viewer=viewer)
        .select_related("party", "owner", "signal", "added_by", "exit_requested_by", "exit_approved_by")
        .filter(pk=row_id(entry_id))
        .first()
    )
    if found is None:
        raise errors.NotFound()
    return found


# --- the home page and the 360 panel -----------------------------------------------------------------
def _covered_by(viewer: User, via: str = "party") -> Q:
    return Q(Exists(Coverage.objects.filter(user_id=viewer.pk, party_id=OuterRef(f"{via}_id"))))


def my_parties_signals(*, viewer: User) -> QuerySet[Signal]:
    """Open signals of the parties the viewer covers (the RM's home)."""
    return signal_list(viewer=viewer, status=SignalStatus.OPEN).filter(_covered_by(viewer))


def my_parties_watchlist(*, viewer: User) -> QuerySet[WatchlistEntry]:
    """Live watchlist entries of the parties the viewer covers or owns."""
    return watchlist(viewer=viewer, live_only=True).filter(_covered_by(viewer) | Q(owner_id=viewer.pk))


def my_reviews(*, viewer: User) -> QuerySet[Review]:
    """Scheduled reviews and visits assigned to the viewer, soonest first."""
    return review_list(viewer=viewer, status=ReviewStatus.SCHEDULED, assigned_to_id=viewer.pk)


@dataclass(frozen=True)
class OversightDay:
    """The oversight sections of someone's home page; empty lists where the role has nothing to see."""

    signals: list[Signal]
    signal_count: int
    watch: list[WatchlistEntry]
    watch_count: int
    reviews: list[Review]
    review_count: int
    reviews_overdue: int
    watch_due: list[WatchlistEntry]
    watch_due_count: int
    exits_to_decide: list[WatchlistEntry]


def oversight_day(*, viewer: User, today: date, rows: int = PANEL_ROWS) -> OversightDay:
    """RMs: their parties' open signals and watchlist entries; everyone: the reviews assigned to them
    (overdue counted); monitoring officers: watchlist entries due for review within two weeks and exit
    requests awaiting someone other than the requester."""
    signals = my_parties_signals(viewer=viewer)
    watch = my_parties_watchlist(viewer=viewer)
    reviews = my_reviews(viewer=viewer)
    monitor = bool(viewer.role_slugs & MONITORING_ROLES)
    due = watchlist(viewer=viewer, review_by=today + timedelta(days=WATCH_REVIEW_SOON_DAYS))
    exits = watchlist(viewer=viewer, status=WatchStatus.EXIT_REQUESTED).exclude(
        exit_requested_by_id=viewer.pk
    )
    return OversightDay(
        signals=list(signals[:rows]),
        signal_count=signals.count(),
        watch=list(watch[:rows]),
        watch_count=watch.count(),
        reviews=list(reviews[:rows]),
        review_count=reviews.count(),
        reviews_overdue=reviews.filter(due_date__lt=today).count(),
        watch_due=list(due[:rows]) if monitor else [],
        watch_due_count=due.count() if monitor else 0,
        exits_to_decide=list(exits[:rows]) if monitor else [],
    )


@dataclass(frozen=True)
class PartyMonitoring:
    signals: list[Signal]
    more_signals: bool
    watch: WatchlistEntry | None
    reviews: list[Review]


def party_monitoring(*, viewer: User, party_id: int) -> PartyMonitoring:
    """The 360 panel: the party's open signals (worst first), its live watchlist entry and its scheduled
    reviews, in three queries."""
    signals = list(signal_list(viewer=viewer, party_id=party_id, status=SignalStatus.OPEN)[: PANEL_ROWS + 1])
    watch = watchlist(viewer=viewer, party_id=party_id, live_only=True).first()
    reviews = list(review_list(viewer=viewer, party_id=party_id, status=ReviewStatus.SCHEDULED))
    return PartyMonitoring(
        signals=signals[:PANEL_ROWS], more_signals=len(signals) > PANEL_ROWS, watch=watch, reviews=reviews
    )
