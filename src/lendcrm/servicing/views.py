"""Workspace pages of the loan book: the list, a facility with its terms, schedule, drawdowns (and the
repayments and classification panels of those areas), booking an application and paying out a drawdown.
Reads go through the selectors and writes through the services, exactly as in the API."""

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lendcrm.core import errors
from lendcrm.core.models import User
from lendcrm.core.roles import BOOKING_ROLES
from lendcrm.origination import selectors as origination_selectors
from lendcrm.origination.models import Application, Status
from lendcrm.servicing import selectors
from lendcrm.servicing.classification_pages import classification_panel
from lendcrm.servicing.forms import (
    BookFacilityForm,
    BookStartForm,
    DrawdownForm,
    FacilityFilterForm,
    monitors,
)
from lendcrm.servicing.models import Facility, FacilityKind, FacilityStatus, Instalment
from lendcrm.servicing.repayment_pages import repayment_panel
from lendcrm.servicing.services import book_application, draw
from lendcrm.servicing.services.booking import require_booking_role
from lendcrm.servicing.services.drawdowns import available
from lendcrm.web.forms import show_refusal
from lendcrm.web.pages import acting_user, form_status, page_of, workspace_view

ZERO = Decimal(0)


def books(user: User) -> bool:
    """Loan operations: books facilities and pays out drawdowns."""
    return user.is_active and bool(user.role_slugs & BOOKING_ROLES)


# --- the loan book ------------------------------------------------------------------------------------
@require_GET
@workspace_view
def facility_list(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    form = FacilityFilterForm(request.GET or None)
    invalid = form.is_bound and not form.is_valid()
    data = form.cleaned_data if form.is_bound and not invalid else {}
    branch = data.get("branch")
    qs = selectors.facility_list(
        viewer=user,
        status=data.get("status") or None,
        kind=data.get("kind") or None,
        category=data.get("category") or None,
        branch_id=branch.pk if branch else None,
        application_id=data.get("application"),
        borrower_id=data.get("borrower"),
    )
    page = page_of(request, qs.none() if invalid else qs)
    context = {"section": "loan_book", "form": form, "page": page}
    return render(request, "servicing/facility_list.html", context, status=400 if invalid else 200)


# --- a facility ---------------------------------------------------------------------------------------
def _schedule_totals(lines: list[Instalment]) -> dict[str, Decimal]:
    return {
        name: sum((getattr(line, name) for line in lines), ZERO)
        for name in ("principal", "interest", "fees", "principal_paid", "interest_paid", "fees_paid")
    }


def _detail(
    request: HttpRequest,
    pk: object,
    *,
    draw_form: DrawdownForm | None = None,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    user = acting_user(request)
    facility = selectors.get_facility(viewer=user, facility_id=pk)
    raw_version = request.GET.get("version", "")
    version = int(raw_version) if raw_version.isdigit() else None
    lines = selectors.schedule_lines(facility, version)
    may_draw = (
        books(user) and facility.status == FacilityStatus.ACTIVE and facility.kind != FacilityKind.GUARANTEE
    )
    context: dict[str, Any] = {
        "section": "loan_book",
        "facility": facility,
        "borrower": facility.borrower,
        "lines": lines,
        "totals": _schedule_totals(lines),
        "shown_version": version or facility.schedule_version,
        "earlier_versions": range(facility.schedule_version - 1, 0, -1),
        "available": available(facility),
        "may_draw": may_draw,
        "draw_form": draw_form or (DrawdownForm() if may_draw else None),
        "refusal": refusal,
        **repayment_panel(user, facility),
        **classification_panel(user, facility),
    }
    return render(request, "servicing/facility_detail.html", context, status=status)


@require_GET
@workspace_view
def facility_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, pk)


@require_POST
@workspace_view
def facility_draw(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    facility: Facility = selectors.get_facility(viewer=user, facility_id=pk)
    require_booking_role(user)
    form = DrawdownForm(request.POST)
    if not form.is_valid():
        return _detail(request, facility.pk, draw_form=form, status=form_status(form))
    try:
        drawdown = draw(
            actor=user,
            facility_id=facility.pk,
            amount=form.cleaned_data["amount"],
            value_date=form.cleaned_data["value_date"],
            reference=form.cleaned_data["reference"],
        )
    except errors.PermissionDenied:
        raise
    except errors.DomainError as exc:
        show_refusal(form, exc)
        return _detail(request, facility.pk, draw_form=form, status=exc.status)
    messages.success(
        request,
        _("Drawdown %(reference)s is paid out; the schedule is rebuilt.") % {"reference": drawdown.reference},
    )
    return redirect("ui:facility-detail", pk=facility.pk)


# --- booking ------------------------------------------------------------------------------------------
def _book_forms(application: Application, data: Any = None) -> tuple[BookStartForm, list[BookFacilityForm]]:
    people = monitors()
    approved = list(application.facilities.select_related("product").order_by("position", "id"))
    start = BookStartForm(data)
    forms = [BookFacilityForm(data, approved=f, monitors=people, prefix=f"f{f.pk}") for f in approved]
    return start, forms


def _render_book(
    request: HttpRequest,
    application: Application,
    start: BookStartForm,
    forms: list[BookFacilityForm],
    status: int,
) -> HttpResponse:
    context = {
        "section": "applications",
        "application": application,
        "start_form": start,
        "facility_forms": forms,
        "ready": application.status == Status.READY_TO_DISBURSE,
    }
    return render(request, "servicing/book_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@workspace_view
def application_book(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    application = origination_selectors.get_application(viewer=user, application_id=pk)
    require_booking_role(user)
    if application.status == Status.BOOKED:
        return redirect(reverse("ui:facility-list") + f"?application={application.pk}")
    if request.method == "GET":
        start, forms = _book_forms(application)
        return _render_book(
            request, application, start, forms, 200 if application.status == Status.READY_TO_DISBURSE else 409
        )
    start, forms = _book_forms(application, request.POST)
    if not (start.is_valid() and all(f.is_valid() for f in forms)):
        return _render_book(request, application, start, forms, 400)
    try:
        booked = book_application(
            actor=user,
            application_id=application.pk,
            start_date=start.cleaned_data["start_date"],
            facilities=[f.entry() for f in forms],
        )
    except errors.PermissionDenied:
        raise
    except errors.DomainError as exc:
        _place_refusal(exc, start, forms)
        return _render_book(request, application, start, forms, exc.status)
    messages.success(
        request,
        _("Booked %(references)s.") % {"references": ", ".join(f.reference for f in booked)},
    )
    if len(booked) == 1:
        return redirect("ui:facility-detail", pk=booked[0].pk)
    return redirect(reverse("ui:facility-list") + f"?application={application.pk}")


def _place_refusal(exc: errors.DomainError, start: BookStartForm, forms: list[BookFacilityForm]) -> None:
    """The service names fields `facilities.<i>.<name>` (i in the approved order) and `start_date`."""
    placed = False
    for key, texts in exc.field_errors.items():
        parts = key.split(".")
        if key == "start_date":
            for text in texts:
                start.add_error("start_date", text)
            placed = True
        elif (
            len(parts) == 3 and parts[0] == "facilities" and parts[1].isdigit() and int(parts[1]) < len(forms)
        ):
            form = forms[int(parts[1])]
            for text in texts:
                form.add_error(parts[2] if parts[2] in form.fields else None, text)
            placed = True
    if not placed:
        start.add_error(None, exc.detail)
