"""Workspace pages of proposals: drafting a version with its facilities and guarantors, issuing it,
recording the customer's answer, and the term sheet as a page and a PDF in either language."""

from typing import Any, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lendcrm.core import errors
from lendcrm.core.access import may_write_customers, require_customer_writer
from lendcrm.core.models import User
from lendcrm.parties.selectors import visible_parties
from lendcrm.pipeline import selectors, services, termsheet
from lendcrm.pipeline.forms import (
    NEW_FACILITY,
    EditProposalForm,
    FacilityForm,
    FacilityFormSet,
    ProposalForm,
    facility_products,
)
from lendcrm.pipeline.models import Opportunity, Proposal, ProposalStatus
from lendcrm.pipeline.terms import MAX_FACILITIES, TERM_FIELDS
from lendcrm.pipeline.views import STALE, refusal_status, stale_message
from lendcrm.web.pages import acting_user, entered_values, workspace_view

PREFIX = "facilities"
# A facility form counts when one of these is filled in; otherwise it is a blank row and skipped.
SIGNIFICANT = ("product", "amount", "tenor_months")


# --- the form: proposal fields, guarantors and a formset of facilities -------------------------------
def _facility_values(proposal: Proposal) -> list[dict[str, Any]]:
    rows = []
    for facility in proposal.facilities.all():
        values = {name: getattr(facility, name) for name in TERM_FIELDS if name != "product"}
        rows.append({**values, "product": facility.product.code})
    return rows


def _first_facility(opportunity: Opportunity) -> dict[str, Any]:
    """A new scheme starts from what the opportunity asks for."""
    lending = [p for p in opportunity.products.all() if p.family == "lending"]
    start: dict[str, Any] = dict(NEW_FACILITY)
    if lending:
        start["product"] = lending[0].code
    if opportunity.amount is not None:
        start |= {"amount": opportunity.amount, "currency": opportunity.currency}
    return start


def _formset(request: HttpRequest, initial: list[dict[str, Any]]) -> Any:
    """The facilities formset; "Add another facility" posts the form back with one more row."""
    kwargs = {"products": facility_products()}
    if request.method != "POST":
        return FacilityFormSet(prefix=PREFIX, initial=initial, form_kwargs=kwargs)
    data: QueryDict = request.POST
    if "add_facility" in data:
        data = data.copy()
        total = data.get(f"{PREFIX}-TOTAL_FORMS", "1")
        data[f"{PREFIX}-TOTAL_FORMS"] = str(min(int(total) + 1 if total.isdigit() else 1, MAX_FACILITIES))
    return FacilityFormSet(data, prefix=PREFIX, form_kwargs=kwargs)


def _kept(formset: Any) -> list[FacilityForm]:
    """The facility forms that say something and were not removed."""
    return [
        form
        for form in formset.forms
        if form.is_valid()
        and not form.cleaned_data.get("DELETE")
        and any(form.cleaned_data.get(name) not in (None, "") for name in SIGNIFICANT)
    ]


def _place(exc: errors.DomainError, form: ProposalForm, kept: list[FacilityForm]) -> None:
    """The service's field errors onto the page: `facilities.N.amount` beside the Nth facility's amount,
    `guarantors.N` on the guarantors, the rest on top."""
    placed = False
    for name, problems in exc.field_errors.items():
        parts = name.split(".")
        target: Any = None
        field: str | None = None
        if parts[0] == PREFIX and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(kept):
            target = kept[int(parts[1])]
            field = parts[2] if len(parts) > 2 and parts[2] in target.fields else None
        elif parts[0] in form.fields:
            target, field = form, parts[0]
        elif parts[0] == PREFIX:
            target = form
        for message in problems:
            (target or form).add_error(field, message)
        placed = placed or target is not None
    if not placed:
        form.add_error(None, exc.detail)


def _proposal_data(form: ProposalForm, kept: list[FacilityForm]) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "summary": data["summary"],
        "conditions": data["conditions"],
        "valid_until": data["valid_until"],
        "guarantors": list(data["guarantors"]),
        "facilities": [f.terms() for f in kept],
    }


def _chosen_guarantors(user: User, form: ProposalForm) -> list[Any]:
    """The guarantors ticked on the form (the ones this user may see), to show them ticked again."""
    if form.is_bound:
        ids = [int(v) for v in cast(QueryDict, form.data).getlist("guarantors") if v.isdigit()]
    else:
        ids = list(form.initial.get("guarantors", []))
    return list(visible_parties(viewer=user).filter(pk__in=ids).order_by("legal_name"))


def _render_form(
    request: HttpRequest,
    *,
    opportunity: Opportunity,
    proposal: Proposal | None,
    form: ProposalForm,
    formset: Any,
    status: int,
    stale: list[tuple[str, str]] | None = None,
) -> HttpResponse:
    context = {
        "section": "pipeline",
        "tab": "list",
        "o": opportunity,
        "proposal": proposal,
        "form": form,
        "formset": formset,
        "guarantors": _chosen_guarantors(acting_user(request), form),
        "stale": stale,
    }
    return render(request, "pipeline/proposal_form.html", context, status=status)


def _submitted(form: ProposalForm, formset: Any) -> tuple[bool, list[FacilityForm]]:
    """Whether the forms parse (types only; the service checks the rules) and the facilities to send."""
    ok = form.is_valid() & all(f.is_valid() for f in formset.forms)
    return ok and formset.management_form.is_valid(), _kept(formset) if ok else []


@require_http_methods(["GET", "POST"])
@workspace_view
def proposal_create(request: HttpRequest, pk: int) -> HttpResponse:
    """A new version: it starts from the latest version's terms, or from what the opportunity asks for."""
    user = acting_user(request)
    require_customer_writer(user)
    opportunity = selectors.get_opportunity(viewer=user, opportunity_id=pk)
    latest = selectors.proposal_list(viewer=user, opportunity=opportunity.pk).first()
    if latest is not None:
        initial = {
            "summary": latest.summary,
            "conditions": latest.conditions,
            "valid_until": latest.valid_until,
            "guarantors": [g.pk for g in latest.guarantors.all()],
        }
        facilities = _facility_values(latest)
    else:
        initial, facilities = {}, [_first_facility(opportunity)]
    form = ProposalForm(request.POST or None, initial=initial)
    formset = _formset(request, facilities)
    status = 200
    if request.method == "POST" and "add_facility" not in request.POST:
        ok, kept = _submitted(form, formset)
        status = 400
        if ok:
            try:
                proposal = services.create_proposal(
                    actor=user, opportunity_id=opportunity.pk, data=_proposal_data(form, kept)
                )
            except errors.DomainError as exc:
                _place(exc, form, kept)
                status = refusal_status(exc)
            else:
                messages.success(request, _("Version %(n)s was saved as a draft.") % {"n": proposal.number})
                return redirect("ui:proposal-detail", pk=proposal.pk)
    return _render_form(
        request, opportunity=opportunity, proposal=None, form=form, formset=formset, status=status
    )


def _proposal_initial(proposal: Proposal) -> dict[str, Any]:
    return {
        "summary": proposal.summary,
        "conditions": proposal.conditions,
        "valid_until": proposal.valid_until,
        "guarantors": [g.pk for g in proposal.guarantors.all()],
        "version": proposal.version,
    }


@require_http_methods(["GET", "POST"])
@workspace_view
def proposal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    require_customer_writer(user)
    proposal = selectors.get_proposal(viewer=user, proposal_id=pk)
    form = EditProposalForm(request.POST or None, initial=_proposal_initial(proposal))
    formset = _formset(request, _facility_values(proposal))
    status = 200
    if request.method == "POST" and "add_facility" not in request.POST:
        ok, kept = _submitted(form, formset)
        status = 400
        if ok:
            try:
                services.update_proposal(
                    actor=user,
                    proposal_id=proposal.pk,
                    changes=_proposal_data(form, kept),
                    expected_version=form.cleaned_data["version"],
                )
            except errors.PreconditionFailed:
                current = selectors.get_proposal(viewer=user, proposal_id=pk)
                now = _proposal_initial(current)
                typed = entered_values(form, now)
                return _render_form(
                    request,
                    opportunity=current.opportunity,
                    proposal=current,
                    form=EditProposalForm(initial=now),
                    formset=FacilityFormSet(
                        prefix=PREFIX,
                        initial=_facility_values(current),
                        form_kwargs={"products": facility_products()},
                    ),
                    status=STALE,
                    stale=typed,
                )
            except errors.DomainError as exc:
                _place(exc, form, kept)
                status = refusal_status(exc)
            else:
                messages.success(request, _("Your changes were saved."))
                return redirect("ui:proposal-detail", pk=proposal.pk)
    return _render_form(
        request,
        opportunity=proposal.opportunity,
        proposal=proposal,
        form=form,
        formset=formset,
        status=status,
    )


# --- the proposal page and its actions ---------------------------------------------------------------
def application_url(application_id: int | None) -> str | None:
    """The page of the application an accepted proposal became, when the workspace has that page."""
    if application_id is None:
        return None
    try:
        return reverse("ui:application-detail", kwargs={"pk": application_id})
    except NoReverseMatch:
        return None


def render_proposal(
    request: HttpRequest, proposal: Proposal, *, status: int = 200, error: str = ""
) -> HttpResponse:
    user = acting_user(request)
    writer = may_write_customers(user)
    context = {
        "section": "pipeline",
        "tab": "list",
        "proposal": proposal,
        "o": proposal.opportunity,
        "facilities": list(proposal.facilities.all()),
        "guarantors": list(proposal.guarantors.all()),
        "versions": list(selectors.proposal_list(viewer=user, opportunity=proposal.opportunity_id)),
        # people know an application by its reference (APP-2026-000001), never by its row id
        "application_reference": getattr(getattr(proposal, "application", None), "reference", None),
        "application_url": application_url(selectors.application_id_of(proposal)),
        "may_edit": writer and proposal.status == ProposalStatus.DRAFT,
        "may_decide": writer and proposal.status == ProposalStatus.ISSUED,
        "error": error,
    }
    return render(request, "pipeline/proposal_detail.html", context, status=status)


@require_GET
@workspace_view
def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_proposal(request, selectors.get_proposal(viewer=acting_user(request), proposal_id=pk))


def _act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Issue, accept or reject: one click with the version the page showed."""
    user = acting_user(request)
    require_customer_writer(user)
    proposal = selectors.get_proposal(viewer=user, proposal_id=pk)
    raw = request.POST.get("version", "")
    version = int(raw) if raw.isdigit() else None
    act = {
        "issue": services.issue_proposal,
        "accept": services.accept_proposal,
        "reject": services.reject_proposal,
    }[action]
    try:
        act(actor=user, proposal_id=proposal.pk, expected_version=version)
    except errors.DomainError as exc:
        current = selectors.get_proposal(viewer=user, proposal_id=pk)
        if isinstance(exc, errors.PreconditionFailed):
            return render_proposal(request, current, status=STALE, error=stale_message())
        detail = " ".join(m for ms in exc.field_errors.values() for m in ms) or exc.detail
        return render_proposal(request, current, status=refusal_status(exc), error=detail)
    done = {
        "issue": _("Version %(n)s was issued to the customer."),
        "accept": _("Version %(n)s was accepted; the loan application was created from it."),
        "reject": _("Version %(n)s was recorded as rejected by the customer."),
    }[action]
    messages.success(request, done % {"n": proposal.number})
    return redirect("ui:proposal-detail", pk=proposal.pk)


@require_POST
@workspace_view
def proposal_issue(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, "issue")


@require_POST
@workspace_view
def proposal_accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, "accept")


@require_POST
@workspace_view
def proposal_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, "reject")


# --- the term sheet ----------------------------------------------------------------------------------
def _document_language(request: HttpRequest) -> str | None:
    """The language asked for with ?lang= (None when it is not one we write), else the reader's."""
    asked = request.GET.get("lang")
    if asked is not None and asked.lower() not in termsheet.LANGUAGES:
        return None
    return termsheet.document_language(asked, get_language() or "")


def _unknown_language() -> HttpResponse:
    return HttpResponse(
        _("Term sheets are written in English (en) or Simplified Chinese (zh-hans)."),
        status=400,
        content_type="text/plain; charset=utf-8",
    )


@require_GET
@workspace_view
def proposal_termsheet(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = selectors.get_proposal(viewer=acting_user(request), proposal_id=pk)
    language = _document_language(request)
    if language is None:
        return _unknown_language()
    context = {
        "section": "pipeline",
        "tab": "list",
        "proposal": proposal,
        "o": proposal.opportunity,
        "language": language,
        "document": termsheet.render_html(proposal, language=language),
    }
    return render(request, "pipeline/termsheet.html", context)


@require_GET
@workspace_view
def proposal_termsheet_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = selectors.get_proposal(viewer=acting_user(request), proposal_id=pk)
    language = _document_language(request)
    if language is None:
        return _unknown_language()
    response = HttpResponse(termsheet.render_pdf(proposal, language=language), content_type="application/pdf")
    name = f"term-sheet-{proposal.opportunity_id}-v{proposal.number}-{language}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response
