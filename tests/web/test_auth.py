"""Signing in and out of the workspace: CSRF, lockout, one message for every failure, expiry."""

import time
from typing import Any

import pytest
from django.test import Client

from lendcrm.core.models import User
from tests.conftest import PASSWORD
from tests.web.conftest import html

pytestmark = pytest.mark.django_db


def _client() -> Client:
    return Client(HTTP_HOST="localhost")


def test_every_page_needs_a_signed_in_user() -> None:
    for path in ("/", "/parties/", "/tasks/", "/audit/", "/parties/1/"):
        response = _client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_the_api_still_answers_401_not_a_login_redirect() -> None:
    response = _client().get("/api/v1/parties/")
    assert response.status_code == 401


def test_sign_in_and_out(rm_a: User) -> None:
    client = _client()
    response = client.post("/login/", {"username": "rm_a", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/logout/").status_code == 405  # a link cannot sign anyone out
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(rm_a: User) -> None:
    wrong = _client().post("/login/", {"username": "rm_a", "password": "not-the-password"})
    unknown = _client().post("/login/", {"username": "nobody", "password": "not-the-password"})
    assert wrong.status_code == unknown.status_code == 200
    message = "Wrong username or password, or the account is locked"
    assert message in html(wrong)
    assert message in html(unknown)
    assert html(wrong).replace("rm_a", "X").count(message) == html(unknown).replace("nobody", "X").count(
        message
    )


def test_repeated_failures_lock_the_account_even_for_the_right_password(rm_a: User, settings: Any) -> None:
    for _ in range(settings.LENDCRM_LOGIN_MAX_FAILURES):
        _client().post("/login/", {"username": "rm_a", "password": "guess"})
    client = _client()
    response = client.post("/login/", {"username": "rm_a", "password": PASSWORD})
    assert response.status_code == 200
    assert "Wrong username or password" in html(response)
    assert client.get("/").status_code == 302
    rm_a.refresh_from_db()
    assert rm_a.locked_until is not None


def test_sign_in_needs_the_csrf_token(rm_a: User) -> None:
    client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "rm_a", "password": PASSWORD})
    assert response.status_code == 403
    assert "This form has expired" in html(response)
    page = client.get("/login/")
    token = page.cookies["csrftoken"].value
    signed_in = client.post(
        "/login/", {"username": "rm_a", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert signed_in.status_code == 302


def test_an_idle_session_expires(rm_a: User, web: Any, settings: Any) -> None:
    client = web(rm_a)
    assert client.get("/").status_code == 200
    session = client.session
    session["lendcrm_last_seen"] = int(time.time()) - settings.LENDCRM_SESSION_IDLE_SECONDS - 5
    session.save()
    response = client.get("/", follow=True)
    assert response.redirect_chain[0][0].startswith("/login/")
    assert "Your session ended after a period without activity" in html(response)
    assert "Your session ended" not in html(client.get("/login/"))  # said once


def test_an_htmx_request_after_expiry_sends_the_page_to_sign_in(rm_a: User, party_a: Any) -> None:
    response = _client().post(f"/parties/{party_a.pk}/interactions/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/login/")


def test_the_session_cookie_has_an_age_limit(settings: Any) -> None:
    assert 0 < settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.SESSION_COOKIE_HTTPONLY
