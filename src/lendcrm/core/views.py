"""Health check (no authentication, no data), error pages that speak problem+json to API clients, and
the audit trail page for compliance officers."""

from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error

from lendcrm.core import audit, selectors
from lendcrm.core.middleware import problem
from lendcrm.core.models import User
from lendcrm.web.forms import DateInput, StaffChoiceField
from lendcrm.web.pages import acting_user, form_status, page_of, workspace_view


@login_not_required
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


# --- the audit trail in the workspace (compliance officers) ------------------------------------------
class AuditFilterForm(forms.Form):
    actor = StaffChoiceField(label=_("User"), queryset=User.objects.order_by("username"), required=False)
    object_type = forms.ChoiceField(label=_("Object type"), required=False)
    object_id = forms.CharField(label=_("Object id"), max_length=64, required=False)
    party = forms.IntegerField(label=_("Party id"), min_value=1, required=False)
    since = forms.DateField(label=_("From"), required=False, widget=DateInput())
    until = forms.DateField(label=_("Until (inclusive)"), required=False, widget=DateInput())


def _object_types(form: AuditFilterForm, viewer: User) -> None:
    field = cast(forms.ChoiceField, form.fields["object_type"])
    field.choices = [("", "—")] + [(t, t) for t in selectors.audit_object_types(viewer=viewer)]


def _day_start(day: date | None) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _audit_page(
    request: HttpRequest, form: AuditFilterForm, events: Any, *, report: Any = None, status: int = 200
) -> HttpResponse:
    _object_types(form, acting_user(request))
    context = {"section": "audit", "form": form, "page": page_of(request, events), "report": report}
    return render(request, "core/audit.html", context, status=status)


@require_GET
@workspace_view
def audit_log(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    form = AuditFilterForm(request.GET or None)
    trail = selectors.audit_events(viewer=user)  # 404 for anyone but compliance, before anything else
    if form.is_bound and not form.is_valid():
        return _audit_page(request, form, trail.none(), status=form_status(form))
    data = form.cleaned_data if form.is_bound else {}
    until = data.get("until")
    events = selectors.audit_events(
        viewer=user,
        actor_id=data["actor"].pk if data.get("actor") else None,
        object_type=data.get("object_type", ""),
        object_id=data.get("object_id", ""),
        party_id=data.get("party"),
        since=_day_start(data.get("since")),
        until=_day_start(until + timedelta(days=1)) if until else None,
    )
    return _audit_page(request, form, events)


@require_POST
@workspace_view
def audit_verify(request: HttpRequest) -> HttpResponse:
    """Walk the whole hash chain and say whether it is intact, and if not, where it breaks."""
    trail = selectors.audit_events(viewer=acting_user(request))  # the same gate as reading the trail
    return _audit_page(request, AuditFilterForm(), trail, report=audit.verify_chain())
