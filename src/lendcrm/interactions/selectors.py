"""Every read of interactions and tasks, scoped to the viewer; and a party's merged timeline."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.access import party_scope
from lendcrm.core.fields import row_id
from lendcrm.core.models import AuditEvent, User
from lendcrm.core.selectors import given
from lendcrm.interactions.models import Interaction, Task, TaskStatus
from lendcrm.parties.models import Contact, ContactRole, Party
from lendcrm.parties.selectors import get_party


def recent_interactions(*, viewer: User, party: Party, limit: int = 10) -> list[Interaction]:
    """The party's latest interactions; the caller has already resolved `party` through a selector."""
    return list(
        Interaction.objects.filter(party=party)
        .select_related("staff", "contact")
        .order_by("-occurred_at", "-id")[:limit]
    )


def open_tasks_for_party(*, viewer: User, party: Party, limit: int = 50) -> list[Task]:
    """The party's open tasks, soonest first; the caller has already resolved `party` through a selector."""
    return list(
        Task.objects.filter(party=party, status=TaskStatus.OPEN)
        .select_related("assignee")
        .order_by("due_date", "id")[:limit]
    )


def recent_interaction_values(*, viewer: User, party_id: int, limit: int = 10) -> list[Any]:
    """`recent_interactions` as plain values of the fields the 360 shows (no model instances)."""
    return list(
        Interaction.objects.filter(party_id=party_id)
        .order_by("-occurred_at", "-id")
        .values("id", "channel", "direction", "occurred_at", "subject", "staff_id", "contact_id")[:limit]
    )


def open_task_values(*, viewer: User, party_id: int, limit: int = 50) -> list[Any]:
    """`open_tasks_for_party` as plain values of the fields the 360 shows (no model instances)."""
    return list(
        Task.objects.filter(party_id=party_id, status=TaskStatus.OPEN)
        .order_by("due_date", "id")
        .values("id", "kind", "title", "due_date", "status", "assignee_id")[:limit]
    )


# --- scoped lists and single objects -------------------------------------------------------------
def visible_interactions(*, viewer: User) -> QuerySet[Interaction]:
    """Interactions on parties the viewer may read."""
    scope = party_scope(viewer, via="party")
    qs = Interaction.objects.all()
    return qs if scope is None else qs.filter(scope)


def visible_tasks(*, viewer: User) -> QuerySet[Task]:
    """Tasks on parties the viewer may read."""
    scope = party_scope(viewer, via="party")
    qs = Task.objects.all()
    return qs if scope is None else qs.filter(scope)


def get_interaction(*, viewer: User, interaction_id: object) -> Interaction:
    """One interaction the viewer may read, or NotFound."""
    found = visible_interactions(viewer=viewer).filter(pk=row_id(interaction_id)).first()
    if found is None:
        raise errors.NotFound()
    return found


def get_task(*, viewer: User, task_id: object) -> Task:
    """One task the viewer may read, or NotFound."""
    found = visible_tasks(viewer=viewer).filter(pk=row_id(task_id)).first()
    if found is None:
        raise errors.NotFound()
    return found


def timeline_party(*, viewer: User, party_id: object) -> Party:
    """The party whose timeline is asked for, if the viewer may read it."""
    return get_party(viewer=viewer, party_id=party_id)


def contact_at_party(*, party: Party, contact_id: int) -> Contact:
    """The contact with a role at `party`; any other id is a field error (it says nothing about others)."""
    contact = Contact.objects.filter(
        pk=contact_id, pk__in=ContactRole.objects.filter(party_id=party.pk).values("contact_id")
    ).first()
    if contact is None:
        raise errors.field_error("contact", _("This contact has no role at this party."))
    return contact


def my_open_tasks(*, viewer: User) -> QuerySet[Task]:
    """The viewer's own open tasks, soonest due first."""
    return (
        visible_tasks(viewer=viewer)
        .filter(assignee=viewer, status=TaskStatus.OPEN)
        .order_by("due_date", "id")
    )


def overdue_tasks(*, viewer: User, today: date | None = None, all: bool = False) -> QuerySet[Task]:
    """Open tasks past their due date: the viewer's own, or with all=True everyone's within the viewer's
    scope (the whole book for credit, monitoring and compliance)."""
    today = today or timezone.localdate()
    qs = visible_tasks(viewer=viewer).filter(status=TaskStatus.OPEN, due_date__lt=today)
    if not all:
        qs = qs.filter(assignee=viewer)
    return qs.order_by("due_date", "id")


def my_recent_interactions(*, viewer: User, limit: int = 10) -> list[Interaction]:
    """The interactions the viewer logged most recently, on parties they may still read."""
    return list(
        visible_interactions(viewer=viewer)
        .filter(staff=viewer)
        .select_related("party")
        .order_by("-occurred_at", "-id")[:limit]
    )


def team_tasks(*, viewer: User) -> QuerySet[Task]:
    """Open tasks of the viewer's colleagues at the same branch, on parties the viewer may read."""
    if viewer.branch_id is None:
        return Task.objects.none()
    return (
        visible_tasks(viewer=viewer)
        .filter(status=TaskStatus.OPEN, assignee__branch_id=viewer.branch_id)
        .exclude(assignee=viewer)
        .order_by("due_date", "id")
    )


def interaction_list(
    *,
    viewer: User,
    party_id: int | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Interaction]:
    """Interactions the viewer may see, filtered, newest first."""
    return given(
        visible_interactions(viewer=viewer),
        party_id=party_id,
        channel=channel,
        occurred_at__gte=since,
        occurred_at__lt=until,
    ).order_by("-occurred_at", "-id")


def task_list(
    *,
    viewer: User,
    mine: bool = False,
    overdue: bool = False,
    status: str | None = None,
    party_id: int | None = None,
) -> QuerySet[Task]:
    """Tasks the viewer may see, filtered, soonest due first; `overdue` means open and past due."""
    qs = overdue_tasks(viewer=viewer, all=not mine) if overdue else visible_tasks(viewer=viewer)
    return given(qs, assignee=viewer if mine else None, status=status, party_id=party_id).order_by(
        "due_date", "id"
    )


# --- the timeline --------------------------------------------------------------------------------
# Order of kinds that share a timestamp (higher first in the descending timeline).
KIND_RANK = {"change": 0, "task_completed": 1, "task_created": 2, "interaction": 3}
# Audit events that repeat an entry the timeline already shows from its own table.
TIMELINE_HIDDEN_ACTIONS = ("interaction.logged", "task.created", "task.completed")
MAX_TIMELINE_LIMIT = 200

Cursor = tuple[datetime, str, int]


@dataclass(frozen=True)
class Change:
    """An audit event as the timeline shows it: what happened, never the personal values."""

    action: str
    object_type: str
    object_id: str
    fields: list[str]


@dataclass(frozen=True)
class TimelineEntry:
    kind: str
    occurred_at: datetime
    id: int
    actor: int | None
    title: str
    interaction: Interaction | None = None
    task: Task | None = None
    change: Change | None = None

    @property
    def key(self) -> tuple[datetime, int, int]:
        return (self.occurred_at, KIND_RANK[self.kind], self.id)


@dataclass(frozen=True)
class TimelinePage:
    entries: list[TimelineEntry]
    next: str | None


def encode_cursor(entry: TimelineEntry) -> str:
    """An opaque position: base64 of (timestamp, kind, id) of the last entry shown."""
    raw = json.dumps(
        [entry.occurred_at.astimezone(UTC).isoformat(), entry.kind, entry.id], separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Cursor:
    """The position inside a cursor this API gave out; anything else is a 400."""
    bad = errors.field_error("cursor", _("This is not a cursor from a previous page."), code="invalid_cursor")
    try:
        padded = cursor.encode("ascii") + b"=" * (-len(cursor) % 4)
        data = json.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
        stamp, kind, pk = data
        if not (isinstance(stamp, str) and kind in KIND_RANK and type(pk) is int):
            raise bad
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            raise bad
        return when.astimezone(UTC), kind, pk
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeError) as exc:
        raise bad from exc


def _before(ts_field: str, kind: str, cursor: Cursor | None) -> Q:
    """Rows of one source that sort strictly after the cursor in the descending timeline."""
    if cursor is None:
        return Q()
    stamp, cursor_kind, cursor_id = cursor
    rank, cursor_rank = KIND_RANK[kind], KIND_RANK[cursor_kind]
    if rank < cursor_rank:
        return Q(**{f"{ts_field}__lte": stamp})
    if rank > cursor_rank:
        return Q(**{f"{ts_field}__lt": stamp})
    return Q(**{f"{ts_field}__lt": stamp}) | Q(**{ts_field: stamp, "pk__lt": cursor_id})


def timeline(*, viewer: User, party: Party, cursor: str | None = None, limit: int = 50) -> TimelinePage:
    """Interactions, tasks (created and completed) and audited changes of a party, newest first.

    The caller has resolved `party` through a selector. Each page costs four queries whatever the
    data size: the next `limit + 1` rows of each source after the cursor, merged in memory."""
    if not 1 <= limit <= MAX_TIMELINE_LIMIT:
        raise errors.field_error("limit", _("limit must be between 1 and %(n)d.") % {"n": MAX_TIMELINE_LIMIT})
    position = decode_cursor(cursor) if cursor else None
    take = limit + 1
    entries: list[TimelineEntry] = []
    interactions = (
        Interaction.objects.filter(party=party)
        .filter(_before("occurred_at", "interaction", position))
        .order_by("-occurred_at", "-id")[:take]
    )
    entries += [
        TimelineEntry("interaction", i.occurred_at, i.pk, i.staff_id, i.subject, interaction=i)
        for i in interactions
    ]
    created = (
        Task.objects.filter(party=party)
        .filter(_before("created_at", "task_created", position))
        .order_by("-created_at", "-id")[:take]
    )
    entries += [
        TimelineEntry("task_created", t.created_at, t.pk, t.created_by_id, t.title, task=t) for t in created
    ]
    completed = (
        Task.objects.filter(party=party, completed_at__isnull=False)
        .filter(_before("completed_at", "task_completed", position))
        .order_by("-completed_at", "-id")[:take]
    )
    entries += [
        TimelineEntry("task_completed", t.completed_at, t.pk, t.completed_by_id, t.title, task=t)
        for t in completed
        if t.completed_at is not None
    ]
    events = (
        AuditEvent.objects.filter(party_id=party.pk)
        .exclude(action__in=TIMELINE_HIDDEN_ACTIONS)
        .exclude(action__contains=".viewed")  # reads (e.g. party.viewed_360) are not changes
        .filter(_before("occurred_at", "change", position))
        .order_by("-occurred_at", "-id")[:take]
    )
    entries += [
        TimelineEntry(
            "change",
            e.occurred_at,
            e.pk,
            e.actor_id,
            e.action,
            change=Change(e.action, e.object_type, e.object_id, audit.changed_field_names(e.changes)),
        )
        for e in events
    ]
    entries.sort(key=lambda e: e.key, reverse=True)
    page = entries[:limit]
    return TimelinePage(page, encode_cursor(page[-1]) if len(entries) > limit else None)
