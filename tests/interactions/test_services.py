"""Interaction and task services: idempotent ingest, all-or-nothing batches, access and task life cycle."""

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, User
from lendcrm.core.roles import Role
from lendcrm.interactions import services
from lendcrm.interactions.models import Interaction, Task
from lendcrm.parties.models import Contact, Party
from tests.interactions.helpers import item

pytestmark = pytest.mark.django_db


def log(actor: User, party: Party, **overrides: Any) -> tuple[Interaction, bool]:
    values: dict[str, Any] = {
        "channel": "phone",
        "direction": "outbound",
        "occurred_at": datetime(2025, 2, 3, 10, 30, tzinfo=UTC),
        "subject": "Quarterly call",
        "notes": "Discussed the working-capital line.",
    }
    values.update(overrides)
    return services.log_interaction(actor=actor, party=party, **values)


def audit_count(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


# --- single interactions ---------------------------------------------------------------------------
def test_log_interaction_records_the_row_and_one_audit_event(rm_a: User, party_a: Party) -> None:
    interaction, created = log(rm_a, party_a, external_id="call-1", source_system="telephony")

    assert created is True
    assert interaction.staff_id == rm_a.pk
    event = AuditEvent.objects.get(action="interaction.logged")
    assert event.party_id == party_a.pk
    assert event.object_id == str(interaction.pk)
    assert event.changes["after"]["subject"] == "Quarterly call"


def test_resending_the_same_external_id_is_a_no_op(rm_a: User, party_a: Party) -> None:
    first, created_first = log(rm_a, party_a, external_id="call-1", source_system="telephony")
    again, created_again = log(
        rm_a, party_a, external_id="call-1", source_system="telephony", subject="Changed"
    )

    assert (created_first, created_again) == (True, False)
    assert again.pk == first.pk
    assert again.subject == "Quarterly call"
    assert Interaction.objects.count() == 1
    assert audit_count("interaction.logged") == 1


def test_same_external_id_from_another_source_is_another_interaction(rm_a: User, party_a: Party) -> None:
    log(rm_a, party_a, external_id="x-1", source_system="telephony")
    _, created = log(rm_a, party_a, external_id="x-1", source_system="email-gateway")

    assert created is True
    assert Interaction.objects.count() == 2


def test_without_external_id_every_call_creates(rm_a: User, party_a: Party) -> None:
    log(rm_a, party_a)
    log(rm_a, party_a)

    assert Interaction.objects.count() == 2


def test_a_resend_that_loses_the_race_returns_the_stored_row(rm_a: User, party_a: Party) -> None:
    """The other request committed between our look-up and our insert: the unique constraint decides."""
    stored, _ = log(rm_a, party_a, external_id="race-1", source_system="telephony")
    real = services._stored_interaction

    with mock.patch.object(services, "_stored_interaction", side_effect=[None, real("telephony", "race-1")]):
        again, created = log(rm_a, party_a, external_id="race-1", source_system="telephony")

    assert (again.pk, created) == (stored.pk, False)
    assert Interaction.objects.count() == 1
    assert audit_count("interaction.logged") == 1


def test_external_id_of_another_party_is_a_conflict(rm_a: User, party_a: Party, branch_a: Any) -> None:
    other = Party.objects.create(kind="sme", legal_name="Another", branch=branch_a)
    log(rm_a, party_a, external_id="dup", source_system="telephony")

    with pytest.raises(errors.Conflict):
        log(rm_a, other, external_id="dup", source_system="telephony")
    assert Interaction.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"occurred_at": datetime(2025, 2, 3, 10, 30)}, "occurred_at"),  # naive
        ({"occurred_at": timezone.now() + timedelta(days=2)}, "occurred_at"),
        ({"channel": "fax"}, "channel"),
        ({"direction": "sideways"}, "direction"),
        ({"subject": "  "}, "subject"),
        ({"subject": "x" * 301}, "subject"),
        ({"external_id": ""}, "external_id"),
        ({"source_system": ""}, "source_system"),
    ],
)
def test_invalid_interactions_are_refused_and_nothing_is_written(
    rm_a: User, party_a: Party, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(errors.ValidationFailed) as caught:
        log(rm_a, party_a, **overrides)

    assert field in caught.value.field_errors
    assert Interaction.objects.count() == 0
    assert audit_count("interaction.logged") == 0


def test_a_little_clock_skew_is_accepted(rm_a: User, party_a: Party) -> None:
    _, created = log(rm_a, party_a, occurred_at=timezone.now() + timedelta(hours=23))

    assert created is True


def test_contact_must_have_a_role_at_the_party(rm_a: User, party_a: Party, contact_a: Contact) -> None:
    stranger = Contact.objects.create(full_name="Somebody Else")

    with pytest.raises(errors.ValidationFailed) as caught:
        log(rm_a, party_a, contact=stranger)
    assert "contact" in caught.value.field_errors
    interaction, _ = log(rm_a, party_a, contact=contact_a)
    assert interaction.contact_id == contact_a.pk


def test_other_branch_cannot_log_on_a_party_it_cannot_see(rm_b: User, party_a: Party) -> None:
    with pytest.raises(errors.NotFound):
        log(rm_b, party_a)
    assert Interaction.objects.count() == 0


def test_administrator_without_business_role_gets_not_found(admin_user: User, party_a: Party) -> None:
    with pytest.raises(errors.NotFound):
        log(admin_user, party_a)


def test_compliance_sees_but_may_not_write(compliance: User, party_a: Party) -> None:
    with pytest.raises(errors.PermissionDenied):
        log(compliance, party_a)
    assert Interaction.objects.count() == 0


# --- batches -------------------------------------------------------------------------------------
def _insert_statements(queries: list[dict[str, str]]) -> int:
    return sum(1 for q in queries if q["sql"].startswith('INSERT INTO "interactions_interaction"'))


def _expected_inserts(n: int) -> int:
    """How many INSERT statements bulk_create needs for n rows on this backend (SQLite caps parameters)."""
    fields = [f for f in Interaction._meta.concrete_fields if not f.primary_key]
    per_statement = connection.ops.bulk_batch_size(fields, [Interaction()] * n) or n
    return math.ceil(n / per_statement)


def test_batch_of_a_thousand_costs_a_constant_number_of_queries(
    rm_a: User, party_a: Party, contact_a: Contact, branch_a: Any
) -> None:
    other = Party.objects.create(kind="sme", legal_name="Second", branch=branch_a)
    assert rm_a.role_slugs  # read once per request in real use; not part of what is measured
    small = [item(party_a if n % 2 else other, n, contact=contact_a.pk if n % 2 else None) for n in range(10)]
    with CaptureQueriesContext(connection) as ctx_small:
        services.ingest_batch(actor=rm_a, items=small)
    big = [
        item(party_a if n % 2 else other, n, contact=contact_a.pk if n % 2 else None) for n in range(10, 1010)
    ]
    with CaptureQueriesContext(connection) as ctx_big:
        result = services.ingest_batch(actor=rm_a, items=big)

    other_small = len(ctx_small.captured_queries) - _insert_statements(ctx_small.captured_queries)
    other_big = len(ctx_big.captured_queries) - _insert_statements(ctx_big.captured_queries)
    assert other_small == other_big <= 12
    assert _insert_statements(ctx_big.captured_queries) == _expected_inserts(1000)
    assert result.created == 1000
    assert Interaction.objects.count() == 1010


def test_batch_result_lists_ids_in_order_and_one_audit_event(rm_a: User, party_a: Party) -> None:
    result = services.ingest_batch(actor=rm_a, items=[item(party_a, n) for n in range(5)])

    assert (result.created, result.duplicates) == (5, 0)
    assert [r.index for r in result.items] == [0, 1, 2, 3, 4]
    stored = dict(Interaction.objects.values_list("external_id", "pk"))
    assert [r.id for r in result.items] == [stored[f"pp-{n}"] for n in range(5)]
    event = AuditEvent.objects.get(action="interaction.batch_logged")
    assert event.changes == {"count": 5, "ids": [r.id for r in result.items]}


def test_resending_a_batch_creates_nothing(rm_a: User, party_a: Party) -> None:
    first = services.ingest_batch(actor=rm_a, items=[item(party_a, n) for n in range(3)])
    again = services.ingest_batch(actor=rm_a, items=[item(party_a, n) for n in range(4)])

    assert (again.created, again.duplicates) == (1, 3)
    assert [r.id for r in again.items[:3]] == [r.id for r in first.items]
    assert [r.created for r in again.items] == [False, False, False, True]
    assert Interaction.objects.count() == 4
    assert audit_count("interaction.batch_logged") == 2
    services.ingest_batch(actor=rm_a, items=[item(party_a, n) for n in range(4)])
    assert audit_count("interaction.batch_logged") == 2  # nothing new, nothing audited


def test_a_key_repeated_inside_one_batch_is_stored_once(rm_a: User, party_a: Party) -> None:
    result = services.ingest_batch(actor=rm_a, items=[item(party_a, 1), item(party_a, 1), item(party_a, 2)])

    assert (result.created, result.duplicates) == (2, 1)
    assert result.items[0].id == result.items[1].id
    assert Interaction.objects.count() == 2


def test_one_bad_item_refuses_the_whole_batch(rm_a: User, party_a: Party, party_b: Party) -> None:
    items = [item(party_a, n) for n in range(6)]
    items[3] = item(party_b, 3)  # a party rm_a cannot see
    items[5] = item(party_a, 5, occurred_at=datetime(2025, 3, 1, 9, 0))  # naive

    with pytest.raises(errors.ValidationFailed) as caught:
        services.ingest_batch(actor=rm_a, items=items)

    assert set(caught.value.field_errors) == {"items.3.party", "items.5.occurred_at"}
    assert caught.value.extra["invalid_items"] == [3, 5]
    assert Interaction.objects.count() == 0
    assert audit_count("interaction.batch_logged") == 0


def test_batch_items_are_checked_field_by_field(rm_a: User, party_a: Party, contact_a: Contact) -> None:
    stranger = Contact.objects.create(full_name="Nobody")
    items: list[Any] = [
        item(party_a, 0, channel="pigeon"),
        item(party_a, 1, contact=stranger.pk),
        {"party": party_a.pk},
        item(party_a, 3, surprise=True),
        "not an object",
        item("12", 5),
        item(party_a, 6, occurred_at=timezone.now() + timedelta(days=3)),
    ]

    with pytest.raises(errors.ValidationFailed) as caught:
        services.ingest_batch(actor=rm_a, items=items)

    problems = caught.value.field_errors
    assert "items.0.channel" in problems
    assert "items.1.contact" in problems
    assert {"items.2.channel", "items.2.occurred_at", "items.2.subject"} <= set(problems)
    assert "items.3.surprise" in problems
    assert "items.4" in problems
    assert "items.5.party" in problems
    assert "items.6.occurred_at" in problems
    assert Interaction.objects.count() == 0


def test_batch_key_stored_for_another_party_is_an_item_error(
    rm_a: User, party_a: Party, branch_a: Any
) -> None:
    other = Party.objects.create(kind="sme", legal_name="Other", branch=branch_a)
    services.ingest_batch(actor=rm_a, items=[item(party_a, 1)])

    with pytest.raises(errors.ValidationFailed) as caught:
        services.ingest_batch(actor=rm_a, items=[item(party_a, 2), item(other, 1)])
    assert list(caught.value.field_errors) == ["items.1.external_id"]
    assert Interaction.objects.count() == 1


def test_batch_size_limits(rm_a: User, party_a: Party, settings: Any) -> None:
    with pytest.raises(errors.ValidationFailed):
        services.ingest_batch(actor=rm_a, items=[])
    with pytest.raises(errors.ValidationFailed) as caught:
        services.ingest_batch(
            actor=rm_a, items=[item(party_a, n) for n in range(settings.LENDCRM_MAX_BATCH + 1)]
        )
    assert "items" in caught.value.field_errors
    assert Interaction.objects.count() == 0


def test_batch_needs_write_rights(compliance: User, party_a: Party) -> None:
    with pytest.raises(errors.PermissionDenied):
        services.ingest_batch(actor=compliance, items=[item(party_a, 1)])


# --- tasks ---------------------------------------------------------------------------------------
def new_task(actor: User, party: Party, **overrides: Any) -> Task:
    values: dict[str, Any] = {"title": "Send the term sheet", "due_date": date(2025, 4, 1)}
    values.update(overrides)
    return services.create_task(actor=actor, party=party, **values)


def test_create_task_defaults_to_the_actor_and_is_audited(rm_a: User, party_a: Party) -> None:
    task = new_task(rm_a, party_a)

    assert (task.assignee_id, task.created_by_id, task.status, task.kind) == (
        rm_a.pk,
        rm_a.pk,
        "open",
        "follow_up",
    )
    event = AuditEvent.objects.get(action="task.created")
    assert (event.party_id, event.object_id) == (party_a.pk, str(task.pk))


def test_create_task_for_someone_who_cannot_see_the_party_is_refused(
    rm_a: User, rm_b: User, party_a: Party
) -> None:
    with pytest.raises(errors.ValidationFailed) as caught:
        new_task(rm_a, party_a, assignee=rm_b)
    assert "assignee" in caught.value.field_errors
    assert Task.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": ""}, "title"),
        ({"kind": "party"}, "kind"),
        ({"due_date": datetime(2025, 4, 1, tzinfo=UTC)}, "due_date"),
        ({"due_date": "2025-04-01"}, "due_date"),
    ],
)
def test_invalid_tasks_are_refused(rm_a: User, party_a: Party, overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(errors.ValidationFailed) as caught:
        new_task(rm_a, party_a, **overrides)
    assert field in caught.value.field_errors
    assert Task.objects.count() == 0


def test_other_branch_cannot_touch_a_task(rm_a: User, rm_b: User, party_a: Party) -> None:
    task = new_task(rm_a, party_a)

    with pytest.raises(errors.NotFound):
        new_task(rm_b, party_a)
    with pytest.raises(errors.NotFound):
        services.complete_task(actor=rm_b, task=task)
    with pytest.raises(errors.NotFound):
        services.update_task(actor=rm_b, task=task, expected_version=1, title="Mine now")
    with pytest.raises(errors.NotFound):
        services.reassign_task(actor=rm_b, task=task, assignee=rm_b, expected_version=1)
    task.refresh_from_db()
    assert (task.status, task.title, task.assignee_id, task.version) == (
        "open",
        "Send the term sheet",
        rm_a.pk,
        1,
    )


def test_complete_task_then_again_is_a_conflict(rm_a: User, party_a: Party) -> None:
    task = new_task(rm_a, party_a)

    done = services.complete_task(actor=rm_a, task=task, expected_version=1)
    assert (done.status, done.completed_by_id, done.version) == ("done", rm_a.pk, 2)
    assert done.completed_at is not None
    with pytest.raises(errors.Conflict):
        services.complete_task(actor=rm_a, task=task)
    assert audit_count("task.completed") == 1


def test_complete_with_a_stale_version_is_refused(rm_a: User, party_a: Party) -> None:
    task = new_task(rm_a, party_a)
    services.update_task(actor=rm_a, task=task, expected_version=1, title="Renamed")

    with pytest.raises(errors.PreconditionFailed):
        services.complete_task(actor=rm_a, task=task, expected_version=1)
    task.refresh_from_db()
    assert task.status == "open"


def test_update_task_records_the_diff_and_bumps_the_version(rm_a: User, party_a: Party) -> None:
    task = new_task(rm_a, party_a)

    updated = services.update_task(
        actor=rm_a, task=task, expected_version=1, title="Call the CFO", kind="call"
    )
    assert (updated.title, updated.kind, updated.version) == ("Call the CFO", "call", 2)
    event = AuditEvent.objects.get(action="task.updated")
    assert event.changes["before"] == {"kind": "follow_up", "title": "Send the term sheet"}
    assert event.changes["after"] == {"kind": "call", "title": "Call the CFO"}
    unchanged = services.update_task(actor=rm_a, task=task, expected_version=2, title="Call the CFO")
    assert unchanged.version == 2
    assert audit_count("task.updated") == 1


def test_update_task_refuses_stale_versions_and_bad_fields(rm_a: User, party_a: Party) -> None:
    task = new_task(rm_a, party_a)

    with pytest.raises(errors.PreconditionFailed):
        services.update_task(actor=rm_a, task=task, expected_version=7, title="x")
    with pytest.raises(errors.ValidationFailed):
        services.update_task(actor=rm_a, task=task, expected_version=1, assignee_id=99)
    with pytest.raises(errors.ValidationFailed):
        services.update_task(actor=rm_a, task=task, expected_version=1, status="done")
    task.refresh_from_db()
    assert (task.title, task.version) == ("Send the term sheet", 1)


def test_cancel_reopen_and_done_cannot_be_cancelled(rm_a: User, party_a: Party) -> None:
    task = new_task(rm_a, party_a)
    services.complete_task(actor=rm_a, task=task)

    with pytest.raises(errors.Conflict):
        services.update_task(actor=rm_a, task=task, expected_version=None, status="cancelled")
    reopened = services.update_task(actor=rm_a, task=task, expected_version=None, status="open")
    assert (reopened.status, reopened.completed_at, reopened.completed_by_id) == ("open", None, None)
    cancelled = services.update_task(actor=rm_a, task=task, expected_version=None, status="cancelled")
    assert cancelled.status == "cancelled"
    with pytest.raises(errors.Conflict):
        services.complete_task(actor=rm_a, task=task)


def test_reassign_to_someone_who_can_see_the_party(
    rm_a: User, rm_b: User, analyst: User, party_a: Party, make_user: Callable[..., User]
) -> None:
    colleague = make_user("rm_a2", Role.RELATIONSHIP_MANAGER)
    task = new_task(rm_a, party_a)

    moved = services.reassign_task(actor=rm_a, task=task, assignee=colleague, expected_version=1)
    assert (moved.assignee_id, moved.version) == (colleague.pk, 2)
    with pytest.raises(errors.ValidationFailed) as caught:
        services.reassign_task(actor=rm_a, task=task, assignee=rm_b, expected_version=2)
    assert "assignee" in caught.value.field_errors
    moved = services.reassign_task(actor=rm_a, task=task, assignee=analyst, expected_version=2)
    assert moved.assignee_id == analyst.pk
    assert audit_count("task.reassigned") == 2


def test_reassign_to_an_administrator_without_business_role_is_refused(
    rm_a: User, admin_user: User, party_a: Party
) -> None:
    task = new_task(rm_a, party_a)

    with pytest.raises(errors.ValidationFailed):
        services.reassign_task(actor=rm_a, task=task, assignee=admin_user, expected_version=None)
    task.refresh_from_db()
    assert task.assignee_id == rm_a.pk
