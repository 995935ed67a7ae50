"""Scoped reads of interactions and tasks, and the cursor-paginated party timeline."""

import base64
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lendcrm.core import audit, errors
from lendcrm.core.models import AuditEvent, User
from lendcrm.core.roles import Role
from lendcrm.interactions import selectors, services
from lendcrm.interactions.models import Interaction, Task
from lendcrm.parties.models import Party
from tests.interactions.helpers import item

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def interaction(party: Party, actor: User, minutes: int, subject: str = "Visit") -> Interaction:
    row, _ = services.log_interaction(
        actor=actor,
        party=party,
        channel="site_visit",
        direction="outbound",
        occurred_at=at(minutes),
        subject=subject,
    )
    return row


def task(party: Party, actor: User, created_minutes: int, completed_minutes: int | None = None) -> Task:
    row = services.create_task(
        actor=actor, party=party, title=f"Task {created_minutes}", due_date=date(2025, 2, 1)
    )
    Task.objects.filter(pk=row.pk).update(created_at=at(created_minutes))
    if completed_minutes is not None:
        services.complete_task(actor=actor, task=row)
        Task.objects.filter(pk=row.pk).update(completed_at=at(completed_minutes))
    return Task.objects.get(pk=row.pk)


def change(party: Party, actor: User, minutes: int, action: str = "party.updated") -> AuditEvent:
    """An audited change of the party, as the party services record it."""
    with transaction.atomic():
        event = audit.record(
            actor=actor,
            action=action,
            object_type="party",
            object_id=party.pk,
            party_id=party.pk,
            changes={
                "before": {"legal_name": "Old name", "employees": 10},
                "after": {"legal_name": "New name", "employees": 12},
            },
        )
    AuditEvent.objects.filter(pk=event.pk).update(occurred_at=at(minutes))
    return event


def walk(viewer: User, party: Party, limit: int) -> list[selectors.TimelineEntry]:
    entries: list[selectors.TimelineEntry] = []
    cursor = None
    for _ in range(1000):
        page = selectors.timeline(viewer=viewer, party=party, cursor=cursor, limit=limit)
        entries += page.entries
        if page.next is None:
            return entries
        assert len(page.entries) == limit
        cursor = page.next
    raise AssertionError("the timeline never ended")


# --- scoping -------------------------------------------------------------------------------------
def test_interactions_are_visible_only_within_scope(
    rm_a: User, rm_b: User, analyst: User, admin_user: User, party_a: Party, party_b: Party
) -> None:
    mine = interaction(party_a, rm_a, 1)
    theirs = interaction(party_b, rm_b, 2)

    assert set(selectors.visible_interactions(viewer=rm_a)) == {mine}
    assert set(selectors.visible_interactions(viewer=rm_b)) == {theirs}
    assert set(selectors.visible_interactions(viewer=analyst)) == {mine, theirs}
    assert list(selectors.visible_interactions(viewer=admin_user)) == []
    with pytest.raises(errors.NotFound):
        selectors.get_interaction(viewer=rm_b, interaction_id=mine.pk)
    with pytest.raises(errors.NotFound):
        selectors.get_interaction(viewer=admin_user, interaction_id=mine.pk)
    with pytest.raises(errors.NotFound):
        selectors.get_interaction(viewer=rm_a, interaction_id="not-a-number")
    assert selectors.get_interaction(viewer=analyst, interaction_id=str(mine.pk)) == mine


def test_coverage_outside_the_branch_makes_a_party_visible(rm_b: User, party_a: Party, rm_a: User) -> None:
    from lendcrm.parties.models import Coverage

    row = interaction(party_a, rm_a, 1)
    Coverage.objects.create(party=party_a, user=rm_b, role="team")
    rm_b = User.objects.get(pk=rm_b.pk)

    assert selectors.get_interaction(viewer=rm_b, interaction_id=row.pk) == row


def test_tasks_are_visible_only_within_scope(
    rm_a: User, rm_b: User, admin_user: User, party_a: Party, party_b: Party
) -> None:
    mine = task(party_a, rm_a, 1)
    task(party_b, rm_b, 2)

    assert list(selectors.visible_tasks(viewer=rm_a)) == [mine]
    assert list(selectors.visible_tasks(viewer=admin_user)) == []
    with pytest.raises(errors.NotFound):
        selectors.get_task(viewer=rm_b, task_id=mine.pk)


def test_my_open_and_overdue_tasks(
    rm_a: User, analyst: User, party_a: Party, party_b: Party, rm_b: User, make_user: Callable[..., User]
) -> None:
    colleague = make_user("rm_a2", Role.RELATIONSHIP_MANAGER)
    late = services.create_task(actor=rm_a, party=party_a, title="Late", due_date=date(2025, 1, 1))
    soon = services.create_task(actor=rm_a, party=party_a, title="Soon", due_date=date(2025, 3, 1))
    done = services.create_task(actor=rm_a, party=party_a, title="Done", due_date=date(2024, 12, 1))
    services.complete_task(actor=rm_a, task=done)
    theirs = services.create_task(
        actor=rm_a, party=party_a, title="Colleague's", assignee=colleague, due_date=date(2024, 11, 1)
    )
    other_branch = services.create_task(actor=rm_b, party=party_b, title="B", due_date=date(2024, 10, 1))
    today = date(2025, 2, 1)

    assert list(selectors.my_open_tasks(viewer=rm_a)) == [late, soon]
    assert list(selectors.overdue_tasks(viewer=rm_a, today=today)) == [late]
    assert list(selectors.overdue_tasks(viewer=colleague, today=today)) == [theirs]
    assert list(selectors.overdue_tasks(viewer=rm_a, today=today, all=True)) == [theirs, late]
    assert list(selectors.overdue_tasks(viewer=analyst, today=today, all=True)) == [
        other_branch,
        theirs,
        late,
    ]
    assert list(selectors.overdue_tasks(viewer=analyst, today=today)) == []


# --- the timeline --------------------------------------------------------------------------------
def test_timeline_merges_the_three_sources_newest_first(
    rm_a: User, rm_b: User, party_a: Party, party_b: Party
) -> None:
    first = interaction(party_a, rm_a, 10)
    opened = task(party_a, rm_a, 20, completed_minutes=50)
    later = interaction(party_a, rm_a, 30)
    renamed = change(party_a, rm_a, 40)
    change(party_a, rm_a, 45, action="party.viewed_360")  # reads are not changes
    interaction(party_b, rm_b, 35)  # another party's
    change(party_b, rm_b, 36)

    page = selectors.timeline(viewer=rm_a, party=party_a)

    assert [(e.kind, e.id) for e in page.entries] == [
        ("task_completed", opened.pk),
        ("change", renamed.pk),
        ("interaction", later.pk),
        ("task_created", opened.pk),
        ("interaction", first.pk),
    ]
    assert page.next is None
    shown = page.entries[1]
    assert (shown.actor, shown.title) == (rm_a.pk, "party.updated")
    assert shown.change == selectors.Change(
        "party.updated", "party", str(party_a.pk), ["employees", "legal_name"]
    )
    assert "New name" not in repr(shown)  # the timeline names changed fields, never their values


def test_timeline_pages_with_an_opaque_cursor(rm_a: User, party_a: Party) -> None:
    rows = [interaction(party_a, rm_a, m) for m in range(5)]

    page1 = selectors.timeline(viewer=rm_a, party=party_a, limit=2)
    page2 = selectors.timeline(viewer=rm_a, party=party_a, limit=2, cursor=page1.next)
    page3 = selectors.timeline(viewer=rm_a, party=party_a, limit=2, cursor=page2.next)

    ids = [e.id for p in (page1, page2, page3) for e in p.entries]
    assert ids == [r.pk for r in reversed(rows)]
    assert page1.next is not None
    assert page3.next is None


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "abc",
        "!!!!",
        "é",
        base64.urlsafe_b64encode(b"not json").decode(),
        _cursor([1, 2, 3]),
        _cursor({"ts": "2025-01-01T00:00:00+00:00"}),
        _cursor(["2025-01-01T00:00:00", "interaction", 1]),  # naive
        _cursor(["2025-01-01T00:00:00+00:00", "meeting", 1]),
        _cursor(["2025-01-01T00:00:00+00:00", "interaction", True]),
        _cursor(["2025-01-01T00:00:00+00:00", "interaction", "1"]),
        _cursor(["yesterday", "interaction", 1]),
        _cursor(["0001-01-01T00:00:00+05:00", "interaction", 1]),
    ],
)
def test_a_malformed_cursor_is_a_field_error(rm_a: User, party_a: Party, cursor: str) -> None:
    with pytest.raises(errors.ValidationFailed) as caught:
        selectors.timeline(viewer=rm_a, party=party_a, cursor=cursor)
    assert "cursor" in caught.value.field_errors


@pytest.mark.parametrize("limit", [0, -1, 201])
def test_limit_is_bounded(rm_a: User, party_a: Party, limit: int) -> None:
    with pytest.raises(errors.ValidationFailed):
        selectors.timeline(viewer=rm_a, party=party_a, limit=limit)


def _fill(party: Party, actor: User, n: int) -> None:
    services.ingest_batch(actor=actor, items=[item(party, 10_000 + k) for k in range(n)])
    for k in range(n):
        task(party, actor, k, completed_minutes=k + 1 if k % 2 else None)
        change(party, actor, k)


@pytest.mark.parametrize("size", [3, 40])
def test_timeline_costs_four_queries_whatever_the_size(
    rm_a: User, party_a: Party, size: int, django_assert_num_queries: Any
) -> None:
    _fill(party_a, rm_a, size)

    with django_assert_num_queries(4):
        first = selectors.timeline(viewer=rm_a, party=party_a, limit=5)
    with django_assert_num_queries(4):
        selectors.timeline(viewer=rm_a, party=party_a, limit=5, cursor=first.next)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    interactions=st.lists(st.integers(0, 6), max_size=8),
    tasks=st.lists(st.tuples(st.integers(0, 6), st.none() | st.integers(0, 6)), max_size=6),
    changes=st.lists(st.integers(0, 6), max_size=6),
    limit=st.integers(1, 7),
)
def test_walking_the_timeline_shows_every_entry_exactly_once_in_order(
    rm_a: User,
    party_a: Party,
    interactions: list[int],
    tasks: list[tuple[int, int | None]],
    changes: list[int],
    limit: int,
) -> None:
    """Many entries share a timestamp on purpose: ties are where cursors go wrong."""
    with transaction.atomic():
        expected = {("interaction", interaction(party_a, rm_a, m).pk) for m in interactions}
        for created, completed in tasks:
            row = task(party_a, rm_a, created, completed)
            expected.add(("task_created", row.pk))
            if completed is not None:
                expected.add(("task_completed", row.pk))
        expected |= {("change", change(party_a, rm_a, m).pk) for m in changes}

        entries = walk(rm_a, party_a, limit)

        seen = [(e.kind, e.id) for e in entries]
        assert len(seen) == len(set(seen))
        assert set(seen) == expected
        keys = [e.key for e in entries]
        assert keys == sorted(keys, reverse=True)
        transaction.set_rollback(True)
