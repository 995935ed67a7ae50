"""The audit trail is written with every service write, chained, append-only and verifiable."""

import itertools
import threading
from typing import Any

import pytest
from django.db import connection, transaction

from lendcrm.core import audit, services
from lendcrm.core.models import AuditEvent, User

pytestmark = pytest.mark.django_db


def test_service_writes_record_before_and_after(admin_user: User, rm_a: User) -> None:
    services.update_user(
        actor=admin_user, user=rm_a, first_name="Li", roles=["relationship_manager", "service_agent"]
    )
    event = AuditEvent.objects.filter(action="user.updated").latest("id")
    assert event.actor_id == admin_user.pk
    assert event.object_id == str(rm_a.pk)
    assert event.changes["before"]["first_name"] == ""
    assert event.changes["after"]["first_name"] == "Li"
    assert event.changes["after"]["roles"] == ["relationship_manager", "service_agent"]


def test_failed_write_leaves_no_audit_event(admin_user: User) -> None:
    from lendcrm.core.errors import ValidationFailed

    count = AuditEvent.objects.count()
    with pytest.raises(ValidationFailed):
        services.create_user(actor=admin_user, username="x1", roles=["no_such_role"])
    assert AuditEvent.objects.count() == count


@pytest.mark.django_db(transaction=True)
def test_record_outside_a_transaction_is_refused() -> None:
    with pytest.raises(RuntimeError):
        audit.record(actor=None, action="x", object_type="y", object_id=1)


def test_chain_verifies_and_each_entry_links_to_the_previous(admin_user: User, rm_a: User) -> None:
    services.update_user(actor=admin_user, user=rm_a, last_name="Wang")
    events = list(AuditEvent.objects.order_by("id"))
    assert len(events) >= 3
    assert events[0].prev_hash == audit.GENESIS_HASH
    for earlier, later in itertools.pairwise(events):
        assert later.prev_hash == earlier.hash
    report = audit.verify_chain()
    assert report.ok
    assert report.checked == len(events)


def test_events_cannot_be_updated_through_the_model(admin_user: User) -> None:
    event = AuditEvent.objects.first()
    assert event is not None
    event.action = "changed"
    with pytest.raises(ValueError, match="append-only"):
        event.save()


def _tamper(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_tampered_content_is_found(admin_user: User, rm_a: User) -> None:
    services.update_user(actor=admin_user, user=rm_a, last_name="Wang")
    target = AuditEvent.objects.order_by("id")[1]
    _tamper("UPDATE core_auditevent SET action = %s WHERE id = %s", ["user.deleted", target.id])
    report = audit.verify_chain()
    assert not report.ok
    assert report.first_bad_id == target.id


def test_deleted_entry_is_found(admin_user: User, rm_a: User) -> None:
    services.update_user(actor=admin_user, user=rm_a, last_name="Wang")
    services.update_user(actor=admin_user, user=rm_a, last_name="Zhang")
    events = list(AuditEvent.objects.order_by("id"))
    _tamper("DELETE FROM core_auditevent WHERE id = %s", [events[1].id])
    report = audit.verify_chain()
    assert report.first_bad_id == events[2].id


def test_truncated_tail_is_found(admin_user: User, rm_a: User) -> None:
    services.update_user(actor=admin_user, user=rm_a, last_name="Wang")
    last = AuditEvent.objects.order_by("-id").first()
    assert last is not None
    _tamper("DELETE FROM core_auditevent WHERE id = %s", [last.id])
    assert not audit.verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_the_chain_linear(branch_a: Any) -> None:
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            for step in range(5):
                with transaction.atomic():
                    audit.record(
                        actor=None, action="test.concurrent", object_type="t", object_id=f"{index}-{step}"
                    )
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert AuditEvent.objects.filter(action="test.concurrent").count() == 20
    assert audit.verify_chain().ok


def test_record_many_appends_a_verifiable_chain_in_order(admin_user: User, rm_a: User) -> None:
    audit_before = AuditEvent.objects.count()
    with transaction.atomic():
        audit.record(actor=admin_user, action="one.before", object_type="thing", object_id=0)
        written = audit.record_many(
            actor=None,
            entries=[
                audit.Entry("thing.changed", "thing", n, party_id=n, changes={"after": {"n": n}})
                for n in range(1, 6)
            ],
            batch_size=2,
        )
        audit.record(actor=admin_user, action="one.after", object_type="thing", object_id=6)
    assert written == 5
    events = list(AuditEvent.objects.order_by("id")[audit_before:])
    assert [e.action for e in events] == ["one.before", *["thing.changed"] * 5, "one.after"]
    assert [e.object_id for e in events] == [str(n) for n in range(7)]
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(events))
    assert events[3].party_id == 3
    assert events[3].changes == {"after": {"n": 3}}
    assert events[3].actor_id is None
    assert audit.verify_chain().ok


def test_record_many_with_nothing_writes_nothing(admin_user: User) -> None:
    count = AuditEvent.objects.count()
    with transaction.atomic():
        assert audit.record_many(actor=None, entries=[]) == 0
    assert AuditEvent.objects.count() == count


@pytest.mark.django_db(transaction=True)
def test_record_many_outside_a_transaction_is_refused() -> None:
    with pytest.raises(RuntimeError):
        audit.record_many(actor=None, entries=[audit.Entry("x", "thing", 1)])
