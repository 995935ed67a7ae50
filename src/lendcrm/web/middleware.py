"""Sessions for the workspace: sign-in required on every page, and an idle session ends."""

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase

# The API authenticates tokens and sessions itself (401 problem+json, never a redirect); the admin has
# its own login page; static files, the health check and the language switch carry no data.
SELF_GUARDED_PREFIXES = ("/api/", "/admin/", "/static/", "/healthz", "/i18n/")


class WorkspaceLoginRequiredMiddleware(LoginRequiredMiddleware):
    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponseBase],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        if request.path.startswith(SELF_GUARDED_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

    def handle_no_permission(  # type: ignore[override]
        self, request: HttpRequest, view_func: Callable[..., HttpResponseBase]
    ) -> HttpResponse:
        """An HTMX fragment asked for after the session expired reloads the whole page to the login."""
        response = super().handle_no_permission(request, view_func)
        if request.headers.get("HX-Request"):
            hx = HttpResponse(status=204)
            hx["HX-Redirect"] = response["Location"]
            return hx
        return response


class SessionIdleTimeoutMiddleware:
    """End a signed-in session after LENDCRM_SESSION_IDLE_SECONDS without a request (the cookie's own
    age caps the whole session); the last-seen time is written at most once a minute."""

    KEY = "lendcrm_last_seen"
    EXPIRED = "lendcrm_session_expired"
    WRITE_EVERY = 60

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            last = request.session.get(self.KEY)
            if isinstance(last, int) and now - last > settings.LENDCRM_SESSION_IDLE_SECONDS:
                logout(request)
                request.session[self.EXPIRED] = True  # the sign-in page says why
            elif not isinstance(last, int) or now - last >= self.WRITE_EVERY:
                request.session[self.KEY] = now
        return self.get_response(request)
