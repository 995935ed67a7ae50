"""Health check (no authentication, no data) and error pages that speak problem+json to API clients."""

from typing import Any

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error

from lendcrm.core.middleware import problem


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # the database is down: say so, do not crash
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


def _wants_problem(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_problem(request):
        return problem(404, "Not found.", "Not found.", "not_found")
    return page_not_found(request, exception or Http404())


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    if _wants_problem(request):
        return problem(500, "Server error.", "Something went wrong on our side.", "server_error")
    return default_server_error(request)
