"""Password login with lockout, and personal API tokens stored as digests."""

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from lendcrm.core.access import sees_whole_book
from lendcrm.core.models import ApiToken, User
from lendcrm.core.roles import Role

CUSTOMER_APPS = frozenset({"parties", "interactions"})

TOKEN_PREFIX_LEN = 8


def hash_token(key: str) -> str:
    """Tokens are long random strings, so a fast digest is enough (no dictionary to attack)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_token_key() -> tuple[str, str]:
    """A fresh token key and its lookup prefix."""
    prefix = secrets.token_hex(TOKEN_PREFIX_LEN // 2)
    return f"lc_{prefix}_{secrets.token_urlsafe(32)}", prefix


class LockoutModelBackend(ModelBackend):
    """Refuse a locked account and count failures; the same answer whether or not the user exists."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kw: Any
    ) -> User | None:
        if not username or password is None:
            return None
        user = User.objects.filter(username=username).first()
        if user is None:
            User().set_password(password)  # same work as a real check, so timing does not tell
            return None
        now = timezone.now()
        if user.locked_until and user.locked_until > now:
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            if user.failed_login_count or user.locked_until:
                User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
            return user
        User.objects.filter(pk=user.pk).update(failed_login_count=F("failed_login_count") + 1)
        user.refresh_from_db(fields=["failed_login_count"])
        if user.failed_login_count >= settings.LENDCRM_LOGIN_MAX_FAILURES:
            until = now + timedelta(seconds=settings.LENDCRM_LOGIN_LOCKOUT_SECONDS)
            User.objects.filter(pk=user.pk).update(locked_until=until, failed_login_count=0)
        return None

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        """Back-office rights come from roles, not from Django's permission tables: administrators
        configure the organisation (core); whole-book roles may look at customer data."""
        if not isinstance(user_obj, User) or not user_obj.is_active:
            return False
        app_label, _dot, codename = perm.partition(".")
        if app_label == "core":
            return user_obj.has_role(Role.ADMINISTRATOR)
        return app_label in CUSTOMER_APPS and codename.startswith("view_") and sees_whole_book(user_obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        if not isinstance(user_obj, User) or not user_obj.is_active:
            return False
        if app_label == "core":
            return user_obj.has_role(Role.ADMINISTRATOR)
        return app_label in CUSTOMER_APPS and sees_whole_book(user_obj)


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>`."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header.")
        try:
            key = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token header.") from exc
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != "lc":
            raise exceptions.AuthenticationFailed("Invalid token.")
        token = (
            ApiToken.objects.select_related("user").filter(prefix=parts[1], revoked_at__isnull=True).first()
        )
        if token is None or not hmac.compare_digest(token.digest, hash_token(key)):
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
