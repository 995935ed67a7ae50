"""Inline interaction and task forms (HTMX), the task list, and the compliance audit page."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lendcrm.core.models import AuditEvent, User
from lendcrm.interactions import services as interaction_services
from lendcrm.interactions.models import Interaction, Task
from lendcrm.parties import services as party_services
from lendcrm.parties.models import Party, Relationship
from tests.web.conftest import html

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def _interaction(**extra: str) -> dict[str, str]:
    when = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    return {
        "channel": "phone",
        "direction": "outbound",
        "occurred_at": when,
        "subject": "Called the CFO",
        **extra,
    }


def test_inline_interaction_returns_a_fresh_form_and_the_new_timeline_entry(
    rm_a: User, web: Any, party_a: Party
) -> None:
    response = web(rm_a).post(f"/parties/{party_a.pk}/interactions/", _interaction(), **HX)
    assert response.status_code == 200
    body = html(response)
    assert 'hx-swap-oob="afterbegin:#timeline-list"' in body
    assert "Called the CFO" in body
    assert 'id="interaction-form"' in body
    assert Interaction.objects.filter(party=party_a, subject="Called the CFO", staff=rm_a).count() == 1


def test_inline_interaction_errors_come_back_as_422_and_save_nothing(
    rm_a: User, web: Any, party_a: Party
) -> None:
    future = (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = web(rm_a).post(
        f"/parties/{party_a.pk}/interactions/", _interaction(subject="", occurred_at=future), **HX
    )
    assert response.status_code == 422
    body = html(response)
    assert 'id="id_subject-errors"' in body
    assert not Interaction.objects.filter(party=party_a).exists()


def test_without_htmx_the_forms_fall_back_to_a_full_page(rm_a: User, web: Any, party_a: Party) -> None:
    ok = web(rm_a).post(f"/parties/{party_a.pk}/interactions/", _interaction())
    assert ok.status_code == 302
    bad = web(rm_a).post(f"/parties/{party_a.pk}/tasks/", {"title": "", "kind": "call", "due_date": "x"})
    assert bad.status_code == 422
    assert 'id="id_due_date-errors"' in html(bad)


def test_inline_task_updates_open_tasks_and_timeline(rm_a: User, web: Any, party_a: Party) -> None:
    due = (timezone.localdate() + timedelta(days=2)).isoformat()
    response = web(rm_a).post(
        f"/parties/{party_a.pk}/tasks/",
        {"title": "Collect FY statements", "kind": "document", "due_date": due, "assignee": rm_a.pk},
        **HX,
    )
    assert response.status_code == 200
    body = html(response)
    assert 'id="open-tasks"' in body
    assert 'hx-swap-oob="true"' in body
    assert Task.objects.get(party=party_a).title == "Collect FY statements"


def test_a_task_cannot_go_to_someone_who_cannot_see_the_party(
    rm_a: User, rm_b: User, web: Any, party_a: Party
) -> None:
    due = (timezone.localdate() + timedelta(days=2)).isoformat()
    response = web(rm_a).post(
        f"/parties/{party_a.pk}/tasks/",
        {"title": "X", "kind": "call", "due_date": due, "assignee": rm_b.pk},
        **HX,
    )
    assert response.status_code == 422
    assert not Task.objects.exists()


def _task(rm: User, party: Party, days: int, title: str) -> Task:
    return interaction_services.create_task(
        actor=rm, party=party, title=title, due_date=timezone.localdate() + timedelta(days=days)
    )


def test_task_views_complete_and_reassign(rm_a: User, make_user: Any, web: Any, party_a: Party) -> None:
    colleague = make_user("rm_a2", "relationship_manager")
    mine = _task(rm_a, party_a, 3, "Mine soon")
    late = _task(rm_a, party_a, -2, "Mine late")
    theirs = interaction_services.create_task(
        actor=rm_a, party=party_a, title="Theirs", due_date=timezone.localdate(), assignee=colleague
    )
    client = web(rm_a)
    assert "Mine soon" in html(client.get("/tasks/?view=mine"))
    overdue = html(client.get("/tasks/?view=overdue"))
    assert "Mine late" in overdue
    assert "Mine soon" not in overdue
    team = html(client.get("/tasks/?view=team"))
    assert "Theirs" in team
    assert "Mine soon" not in team
    assert (
        client.post(f"/tasks/{mine.pk}/complete/", {"version": mine.version, "next": "/tasks/"}).status_code
        == 302
    )
    mine.refresh_from_db()
    assert mine.status == "done"
    again = client.post(f"/tasks/{mine.pk}/complete/", {"version": mine.version}, follow=True)
    assert "not open" in html(again)
    assert (
        client.post(
            f"/tasks/{late.pk}/reassign/", {"assignee": colleague.pk, "version": late.version}
        ).status_code
        == 302
    )
    late.refresh_from_db()
    assert late.assignee_id == colleague.pk
    stale = client.post(
        f"/tasks/{theirs.pk}/reassign/", {"assignee": rm_a.pk, "version": theirs.version + 5}, follow=True
    )
    assert "Someone changed this task" in html(stale)
    theirs.refresh_from_db()
    assert theirs.assignee_id == colleague.pk


def test_next_after_a_task_action_stays_on_this_site(rm_a: User, web: Any, party_a: Party) -> None:
    task = _task(rm_a, party_a, 1, "T")
    response = web(rm_a).post(
        f"/tasks/{task.pk}/complete/", {"version": task.version, "next": "//evil.example/"}
    )
    assert response["Location"] == "/tasks/"


def test_a_stale_task_edit_is_refused(rm_a: User, web: Any, party_a: Party) -> None:
    task = _task(rm_a, party_a, 1, "Original")
    base = {"kind": "call", "due_date": task.due_date.isoformat(), "status": "open", "version": task.version}
    assert web(rm_a).post(f"/tasks/{task.pk}/edit/", {**base, "title": "First"}).status_code == 302
    response = web(rm_a).post(f"/tasks/{task.pk}/edit/", {**base, "title": "Second"})
    assert response.status_code == 409
    task.refresh_from_db()
    assert task.title == "First"


def test_audit_page_is_for_compliance_only(rm_a: User, make_user: Any, web: Any, party_a: Party) -> None:
    assert web(rm_a).get("/audit/").status_code == 404
    assert web(rm_a).post("/audit/verify/").status_code == 404
    officer = make_user("officer", "compliance_officer")
    page = html(web(officer).get(f"/audit/?party={party_a.pk}"))
    assert "Party created" in page
    assert "Contact added" in page
    by_user = html(web(officer).get(f"/audit/?actor={officer.pk}"))
    assert "Party created" not in by_user
    assert "The chain is intact" in html(web(officer).post("/audit/verify/"))


def test_audit_verify_reports_a_tampered_entry(make_user: Any, web: Any, party_a: Party) -> None:
    officer = make_user("officer", "compliance_officer")
    event = AuditEvent.objects.filter(action="party.created").get()
    AuditEvent.objects.filter(pk=event.pk).update(action="party.tampered")
    body = html(web(officer).post("/audit/verify/"))
    assert "The chain is broken at entry" in body
    assert str(event.pk) in body


def test_admin_is_for_administrators(admin_user: User, rm_a: User, web: Any) -> None:
    assert web(admin_user).get("/admin/").status_code == 200
    assert web(admin_user).get("/admin/core/user/").status_code == 200
    assert web(admin_user).get("/admin/core/branch/add/").status_code == 200
    assert web(rm_a).get("/admin/").status_code == 302
    created = web(admin_user).post(
        "/admin/core/user/add/",
        {
            "username": "new_rm",
            "first_name": "New",
            "last_name": "RM",
            "email": "",
            "branch": rm_a.branch_id,
            "roles": ["relationship_manager"],
            "password": "Another-Long-Pass-42",
        },
    )
    assert created.status_code == 302
    new = User.objects.get(username="new_rm")
    assert new.role_slugs == {"relationship_manager"}
    assert AuditEvent.objects.filter(action="user.created", actor=admin_user).exists()


def test_bad_filters_are_refused_and_list_nothing(
    rm_a: User, make_user: Any, web: Any, party_a: Party
) -> None:
    _task(rm_a, party_a, 1, "Visible task")
    response = web(rm_a).get("/tasks/?view=everything")
    assert response.status_code == 400
    assert "Visible task" not in html(response)
    officer = make_user("officer", "compliance_officer")
    refused = web(officer).get("/audit/?since=not-a-day")
    assert refused.status_code == 400
    assert "Party created" not in html(refused)


def test_a_bad_task_edit_is_refused_on_its_field(rm_a: User, web: Any, party_a: Party) -> None:
    task = _task(rm_a, party_a, 1, "Original")
    response = web(rm_a).post(
        f"/tasks/{task.pk}/edit/",
        {"title": "", "kind": "call", "due_date": "soon", "status": "done", "version": task.version},
    )
    assert response.status_code == 400
    body = html(response)
    for field in ("title", "due_date", "status"):
        assert f'id="id_{field}-errors"' in body
    task.refresh_from_db()
    assert (task.title, task.version) == ("Original", 1)


def test_a_role_that_may_not_write_cannot_log_or_unlink(
    make_user: Any, rm_a: User, web: Any, party_a: Party
) -> None:
    monitor = make_user("monitor", "portfolio_monitor")
    other = party_services.create_party(actor=rm_a, kind="sme", legal_name="Linked Co.", branch=rm_a.branch)
    rel = party_services.create_relationship(
        actor=rm_a, from_party=party_a, to_party=other, kind="supplier_of"
    )
    client = web(monitor)
    assert client.post(f"/parties/{party_a.pk}/interactions/", {"subject": "x"}).status_code == 403
    assert client.post(f"/parties/{party_a.pk}/links/{rel.pk}/delete/").status_code == 403
    assert Relationship.objects.filter(pk=rel.pk).exists()
    assert not Interaction.objects.exists()


def _count(client: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_home_tasks_and_audit_pages_do_not_grow_with_the_data(
    rm_a: User, make_user: Any, web: Any, party_a: Party
) -> None:
    officer = make_user("officer", "compliance_officer")

    def grow(n: int) -> None:
        for i in range(n):
            _task(rm_a, party_a, i - 2, f"Task {i}")
            interaction_services.log_interaction(
                actor=rm_a,
                party=party_a,
                channel="phone",
                direction="outbound",
                occurred_at=timezone.now() - timedelta(hours=i + 1),
                subject=f"Call {i}",
            )

    grow(2)
    paths = [(rm_a, "/"), (rm_a, "/tasks/?view=mine"), (rm_a, "/tasks/?view=overdue"), (officer, "/audit/")]
    small = [_count(web(user), path) for user, path in paths]
    grow(15)
    assert [_count(web(user), path) for user, path in paths] == small
