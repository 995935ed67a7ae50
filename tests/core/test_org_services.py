"""Back-office writes: branches change name and city only, lockouts are lifted by an administrator,
and both are audited."""

from typing import Any

import pytest
from django.test import Client

from lendcrm.core import errors, services
from lendcrm.core.models import AuditEvent, Branch, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_an_administrator_renames_a_branch_and_it_is_audited(admin_user: User, branch_a: Branch) -> None:
    renamed = services.update_branch(
        actor=admin_user, branch=branch_a, expected_version=branch_a.version, name=" Pudong Main "
    )
    assert renamed.name == "Pudong Main"
    assert renamed.version == branch_a.version + 1
    event = AuditEvent.objects.get(action="branch.updated")
    assert event.changes == {"before": {"name": "Shanghai Pudong"}, "after": {"name": "Pudong Main"}}


def test_branch_updates_refuse_bad_input_and_change_nothing(
    admin_user: User, rm_a: User, branch_a: Branch
) -> None:
    with pytest.raises(errors.PermissionDenied):
        services.update_branch(actor=rm_a, branch=branch_a, name="X")
    with pytest.raises(errors.ValidationFailed):
        services.update_branch(actor=admin_user, branch=branch_a, code="NEW")
    with pytest.raises(errors.ValidationFailed):
        services.update_branch(actor=admin_user, branch=branch_a, name="  ")
    with pytest.raises(errors.PreconditionFailed):
        services.update_branch(actor=admin_user, branch=branch_a, expected_version=99, name="Y")
    branch_a.refresh_from_db()
    assert (branch_a.code, branch_a.name, branch_a.version) == ("SH01", "Shanghai Pudong", 1)
    assert not AuditEvent.objects.filter(action="branch.updated").exists()


def _lock(user: User, settings: Any) -> None:
    for _ in range(settings.LENDCRM_LOGIN_MAX_FAILURES):
        Client(HTTP_HOST="localhost").post("/login/", {"username": user.username, "password": "wrong-one"})
    user.refresh_from_db()
    assert user.locked_until is not None


def test_an_administrator_unlocks_an_account(admin_user: User, rm_a: User, settings: Any) -> None:
    _lock(rm_a, settings)
    with pytest.raises(errors.PermissionDenied):
        services.unlock_user(actor=rm_a, user=rm_a)
    services.unlock_user(actor=admin_user, user=rm_a)
    rm_a.refresh_from_db()
    assert rm_a.locked_until is None
    client = Client(HTTP_HOST="localhost")
    assert client.post("/login/", {"username": "rm_a", "password": PASSWORD}).status_code == 302
    services.unlock_user(actor=admin_user, user=rm_a)  # nothing to lift: no second audit event
    assert AuditEvent.objects.filter(action="user.unlocked").count() == 1


def test_the_admin_edits_branches_and_unlocks_through_the_services(
    admin_user: User, rm_a: User, branch_a: Branch, settings: Any
) -> None:
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin_user)
    response = client.post(
        f"/admin/core/branch/{branch_a.pk}/change/",
        {"name": "Pudong Main", "local_name": "浦东总部", "city": "Shanghai"},
    )
    assert response.status_code == 302
    branch_a.refresh_from_db()
    assert (branch_a.code, branch_a.name, branch_a.local_name) == ("SH01", "Pudong Main", "浦东总部")
    assert AuditEvent.objects.filter(action="branch.updated", actor=admin_user).exists()
    _lock(rm_a, settings)
    client.post("/admin/core/user/", {"action": "unlock", "_selected_action": [rm_a.pk]})
    rm_a.refresh_from_db()
    assert rm_a.locked_until is None


def test_an_admin_refusal_is_shown_and_writes_nothing(admin_user: User, branch_a: Branch) -> None:
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin_user)
    users = User.objects.count()
    response = client.post(
        "/admin/core/user/add/",
        {"username": "weak", "branch": branch_a.pk, "roles": ["relationship_manager"], "password": "short"},
        follow=True,
    )
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert User.objects.count() == users
    assert not AuditEvent.objects.filter(action="user.created", actor=admin_user).exists()
