"""Workspace pages for repayments: the list with filters, posting one against a facility, importing a
core-banking file, and the repayments panel the facility page includes (`servicing/_repayments.html`)."""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from lendcrm.core import errors
from lendcrm.core.models import User
from lendcrm.servicing import repayment_import
from lendcrm.servicing.models import Facility, RepaymentSource
from lendcrm.servicing.selectors import get_facility
from lendcrm.servicing.services import prepayments
from lendcrm.servicing.services.repayments import MAX_REFERENCE, may_post, post_repayment, repayment_list
from lendcrm.web.forms import DateInput, show_refusal
from lendcrm.web.pages import acting_user, form_status, page_of, workspace_view

PANEL_ROWS = 10


class RepaymentFilterForm(forms.Form):
    facility = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    source = forms.ChoiceField(
        label=gettext_lazy("Source"), required=False, choices=[("", "—"), *RepaymentSource.choices]
    )
    prepayment = forms.BooleanField(label=gettext_lazy("Early repayments only"), required=False)
    value_from = forms.DateField(label=gettext_lazy("Value date from"), required=False, widget=DateInput())
    value_to = forms.DateField(label=gettext_lazy("to"), required=False, widget=DateInput())


class RepaymentForm(forms.Form):
    reference = forms.CharField(label=gettext_lazy("Reference"), max_length=MAX_REFERENCE)
    value_date = forms.DateField(label=gettext_lazy("Value date"), widget=DateInput())
    amount = forms.DecimalField(label=gettext_lazy("Amount"), max_digits=20, decimal_places=2, min_value=0)
    is_prepayment = forms.BooleanField(
        label=gettext_lazy("Early repayment"),
        required=False,
        help_text=gettext_lazy(
            "What is left after the arrears pays the interest accrued so far, the prepayment fee and "
            "principal; the remaining instalments become smaller, the maturity stays."
        ),
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Core-banking file (CSV)"),
        help_text=gettext_lazy(
            "UTF-8 with a header: facility, reference, value_date, amount, currency "
            "(optionally is_prepayment)."
        ),
    )


def repayment_panel(viewer: User, facility: Facility) -> dict[str, Any]:
    """The context `servicing/_repayments.html` needs on the facility page (one query)."""
    rows = list(repayment_list(viewer=viewer, facility_id=facility.pk).select_related(None)[: PANEL_ROWS + 1])
    return {
        "repayments": rows[:PANEL_ROWS],
        "more_repayments": len(rows) > PANEL_ROWS,
        "may_post_repayment": may_post(viewer) and facility.status == "active",
    }


@workspace_view
def repayment_list_page(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    form = RepaymentFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    rows = repayment_list(
        viewer=user,
        facility_id=data.get("facility"),
        source=data.get("source") or None,
        is_prepayment=True if data.get("prepayment") else None,
        value_from=data.get("value_from"),
        value_to=data.get("value_to"),
    )
    if form.is_bound and form.errors:
        rows = rows.none()
    context = {
        "section": "repayments",
        "form": form,
        "page": page_of(request, rows),
        "may_import": may_post(user),
    }
    return render(request, "servicing/repayment_list.html", context, status=form_status(form))


@workspace_view
def repayment_create(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    facility = get_facility(viewer=user, facility_id=pk)
    if not may_post(user):
        raise errors.PermissionDenied(_("Only loan operations posts repayments."))
    posted = request.method == "POST"
    form = (
        RepaymentForm(request.POST) if posted else RepaymentForm(initial={"value_date": timezone.localdate()})
    )
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            repayment = post_repayment(
                actor=user,
                facility_id=facility.pk,
                amount=data["amount"],
                value_date=data["value_date"],
                reference=data["reference"],
                is_prepayment=data["is_prepayment"],
            )
        except errors.ValidationFailed as exc:
            show_refusal(form, exc)
        except errors.Conflict as exc:
            form.add_error(None, exc.detail)
            return render(
                request, "servicing/repayment_form.html", _form_context(user, facility, form), status=409
            )
        else:
            messages.success(
                request,
                _("Repayment %(reference)s posted: %(principal)s to principal, %(interest)s to interest.")
                % {
                    "reference": repayment.reference,
                    "principal": repayment.to_principal + repayment.prepaid_principal,
                    "interest": repayment.to_interest,
                },
            )
            return redirect("ui:facility-detail", pk=facility.pk)
    return render(
        request,
        "servicing/repayment_form.html",
        _form_context(user, facility, form),
        status=form_status(form),
    )


def _form_context(user: User, facility: Facility, form: RepaymentForm) -> dict[str, Any]:
    """The form with what repays the facility in full today (two queries)."""
    quote = prepayments.payoff_quote(viewer=user, facility_id=facility.pk, value_date=timezone.localdate())
    return {"section": "repayments", "facility": facility, "form": form, "payoff": quote}


@workspace_view
def repayment_import_page(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    if not may_post(user):
        raise errors.PermissionDenied(_("Only loan operations posts repayments."))
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    rows: list[repayment_import.ImportedRow] = []
    refusals: list[tuple[str, str, list[str]]] = []
    status = form_status(form)
    if request.method == "POST" and form.is_valid():
        try:
            rows = repayment_import.import_repayments(actor=user, content=form.cleaned_data["file"].read())
        except errors.ValidationFailed as exc:
            status = 400
            if "file" in exc.field_errors:
                show_refusal(form, exc)
            else:
                form.add_error(None, exc.detail)
                refusals = [_refusal(key, messages_) for key, messages_ in exc.field_errors.items()]
    context = {"section": "repayments", "form": form, "rows": rows, "refusals": refusals}
    return render(request, "servicing/repayment_import.html", context, status=status)


def _refusal(key: str, found: list[str]) -> tuple[str, str, list[str]]:
    """`rows.5.amount` as (line, column, messages)."""
    parts = key.split(".")
    return parts[1], parts[2] if len(parts) > 2 else "", found


urlpatterns: list[URLPattern] = [
    path("repayments/", repayment_list_page, name="repayment-list"),
    path("repayments/import/", repayment_import_page, name="repayment-import"),
    path("facilities/<int:pk>/repayments/new/", repayment_create, name="repayment-create"),
]
