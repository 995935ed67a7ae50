"""Rate limits per API client (token or session user) and per client address (429 with Retry-After)."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework import throttling
from rest_framework.request import Request

from lendcrm.core.middleware import problem

EXEMPT_PREFIXES = ("/static/", "/healthz")


class ClientRateThrottle(throttling.SimpleRateThrottle):
    """Per token, or per user for session requests; applied by DRF after authentication."""

    scope = "client"

    def get_rate(self) -> str:
        return str(settings.LENDCRM_RATE_PER_CLIENT)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        token = request.auth
        ident = f"token:{token.pk}" if hasattr(token, "pk") else f"user:{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AddressRateThrottle(throttling.SimpleRateThrottle):
    """Per client address, before authentication, so guessing tokens or passwords is slowed too."""

    scope = "address"

    def get_rate(self) -> str:
        return str(settings.LENDCRM_RATE_PER_ADDRESS)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AddressRateLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(EXEMPT_PREFIXES):
            throttle = AddressRateThrottle()
            if not throttle.allow_request(request, None):  # type: ignore[arg-type]
                response = problem(429, "Too many requests", "Slow down and retry later.", "throttled")
                response["Retry-After"] = str(int(throttle.wait() or 1) + 1)
                return response
        return self.get_response(request)
