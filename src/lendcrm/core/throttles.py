"""Rate limits per API client and per address (429 with Retry-After)."""

from typing import Any

from rest_framework import throttling
from rest_framework.request import Request


class ClientRateThrottle(throttling.SimpleRateThrottle):
    """Per token (or session user)."""

    scope = "client"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        token = request.auth
        ident = f"token:{token.pk}" if token is not None and hasattr(token, "pk") else f"user:{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AddressRateThrottle(throttling.SimpleRateThrottle):
    """Per client address, authenticated or not."""

    scope = "address"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
