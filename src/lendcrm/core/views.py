"""Health check: no authentication, no data."""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # the database is down: say so, do not crash
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})
