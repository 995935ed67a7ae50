"""Passwords are argon2, repeated failures lock the account, tokens are stored as digests."""

from typing import Any

import pytest
from django.contrib.auth import authenticate
from rest_framework.test import APIClient

from lendcrm.core import services
from lendcrm.core.models import ApiToken, User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_passwords_are_hashed_with_argon2(rm_a: User) -> None:
    assert rm_a.password.startswith("argon2$")
    assert PASSWORD not in rm_a.password


def test_lockout_after_repeated_failures(rm_a: User, settings: Any) -> None:
    settings.LENDCRM_LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        assert authenticate(username="rm_a", password="wrong-password") is None
    # Locked: even the right password is refused until the lockout ends.
    assert authenticate(username="rm_a", password=PASSWORD) is None
    rm_a.refresh_from_db()
    assert rm_a.locked_until is not None


def test_lockout_ends_and_success_resets_counter(rm_a: User, settings: Any) -> None:
    settings.LENDCRM_LOGIN_MAX_FAILURES = 3
    assert authenticate(username="rm_a", password="wrong-password") is None
    assert authenticate(username="rm_a", password=PASSWORD) == rm_a
    rm_a.refresh_from_db()
    assert rm_a.failed_login_count == 0
    settings.LENDCRM_LOGIN_LOCKOUT_SECONDS = 0
    for _ in range(3):
        authenticate(username="rm_a", password="wrong-password")
    assert authenticate(username="rm_a", password=PASSWORD) == rm_a


def test_unknown_user_is_refused_like_a_wrong_password(db: Any) -> None:
    assert authenticate(username="nobody", password="whatever-password") is None


def test_token_is_stored_as_digest_and_authenticates(rm_a: User) -> None:
    token, key = services.create_token(actor=None, user=rm_a, name="laptop")
    stored = ApiToken.objects.get(pk=token.pk)
    assert key not in (stored.digest, stored.prefix)
    assert len(stored.digest) == 64
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "rm_a"


@pytest.mark.parametrize(
    "header",
    ["Token", "Token lc_abc", "Token lc_deadbeef_wrongsecret", "Token a b", "Bearer something"],
)
def test_bad_tokens_get_401_problem(rm_a: User, header: str) -> None:
    services.create_token(actor=None, user=rm_a)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_revoked_token_no_longer_works(rm_a: User) -> None:
    token, key = services.create_token(actor=None, user=rm_a)
    services.revoke_token(actor=None, token=token)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/me/").status_code == 401


def test_inactive_users_token_is_refused(rm_a: User) -> None:
    _, key = services.create_token(actor=None, user=rm_a)
    User.objects.filter(pk=rm_a.pk).update(is_active=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/me/").status_code == 401


def test_session_authentication_works_and_needs_csrf_for_writes(rm_a: User, admin_user: User) -> None:
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="admin", password=PASSWORD)
    assert client.get("/api/v1/me/").status_code == 200
    response = client.post("/api/v1/branches/", {"code": "GZ01", "name": "Guangzhou"}, format="json")
    assert response.status_code == 403  # no CSRF token
    assert not services.Branch.objects.filter(code="GZ01").exists()


def test_password_policy_refuses_weak_password(branch_a: Any) -> None:
    from lendcrm.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        services.create_user(actor=None, username="weak", roles=["relationship_manager"], password="1234")
    assert "password" in caught.value.field_errors
    assert not User.objects.filter(username="weak").exists()
