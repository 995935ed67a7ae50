"""Workspace pages of the pipeline: leads, the opportunity board and list, moves between stages, the
funnel. Reads go through the pipeline selectors and writes through its services, as in the API; the
proposal and term-sheet pages are in `proposal_views`."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lendcrm.core import errors
from lendcrm.core.access import may_write_customers, require_customer_writer, sees_whole_book
from lendcrm.core.models import User
from lendcrm.core.selectors import front_office
from lendcrm.parties import selectors as party_selectors
from lendcrm.pipeline import selectors, services
from lendcrm.pipeline.forms import (
    DisqualifyForm,
    EditLeadForm,
    EditOpportunityForm,
    FunnelFilterForm,
    LeadFilterForm,
    LeadForm,
    MoveForm,
    NewOpportunityForm,
    OpportunityFilterForm,
    OpportunityForm,
    QualifyForm,
)
from lendcrm.pipeline.metrics import FUNNEL_STAGES, TIMED_STAGES
from lendcrm.pipeline.models import CLOSED_STAGES, Lead, LostReason, Opportunity, Stage
from lendcrm.web.forms import show_refusal
from lendcrm.web.pages import Edit, acting_user, entered_values, form_status, page_of, workspace_view

PICKER_HITS = 8
# The list's sort orders: the name in the URL and the columns it sorts by.
OPPORTUNITY_ORDERINGS = {
    "-updated_at": ("-updated_at", "-id"),
    "expected_close": ("expected_close", "id"),
    "-expected_close": ("-expected_close", "-id"),
    "amount": ("amount", "id"),
    "-amount": ("-amount", "-id"),
    "title": ("title", "id"),
    "-title": ("-title", "-id"),
}
STALE = 409


def refusal_status(exc: errors.DomainError) -> int:
    """Stale edits and moves the state forbids are 409 on pages; bad input is 400."""
    if isinstance(exc, errors.PreconditionFailed | errors.Conflict):
        return STALE
    return 400


def stale_message() -> str:
    return _("Someone changed this since you opened the page; nothing was saved. Look again and retry.")


def colleagues(user: User) -> QuerySet[User]:
    """The owners a viewer may filter by or hand work to: their branch, or everyone for the whole book."""
    return front_office(branch_id=None if sees_whole_book(user) else user.branch_id)


def local_next(request: HttpRequest, fallback: str) -> str:
    """Where to go back to after an action: a local path only, never another site."""
    target = request.POST.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else fallback


# --- leads ------------------------------------------------------------------------------------------
@require_GET
@workspace_view
def lead_list(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    form = LeadFilterForm(request.GET or None, owners=colleagues(user))
    invalid = form.is_bound and not form.is_valid()
    data = form.cleaned_data if form.is_bound and not invalid else {}
    owner = data.get("owner")
    leads = selectors.lead_list(
        viewer=user,
        status=data.get("status", ""),
        source=data.get("source", ""),
        owner=owner.pk if owner else None,
    )
    page = page_of(request, leads.none() if invalid else leads)
    context = {"section": "pipeline", "tab": "leads", "form": form, "page": page}
    return render(request, "pipeline/lead_list.html", context, status=400 if invalid else 200)


@require_http_methods(["GET", "POST"])
@workspace_view
def lead_create(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    require_customer_writer(user)
    form = LeadForm(request.POST or None, owners=colleagues(user), initial={"owner": user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.create_lead(actor=user, data=form.data_for_service())
        except errors.DomainError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("The lead was recorded."))
            return redirect("ui:lead-detail", pk=lead.pk)
    context = {"section": "pipeline", "tab": "leads", "form": form, "lead": None}
    return render(request, "pipeline/lead_form.html", context, status=form_status(form))


def _lead_values(lead: Lead) -> dict[str, Any]:
    values = {name: getattr(lead, name) for name in LeadForm.base_fields if name not in ("product", "owner")}
    values |= {"product": lead.product_id, "owner": lead.owner_id, "version": lead.version}
    return values


def save_versioned(
    form: Any,
    save: Callable[[], object],
    current: Callable[[], dict[str, Any]],
    fresh: Callable[[dict[str, Any]], Any],
    aliases: dict[str, str] | None = None,
) -> tuple[Edit, int]:
    """`web.pages.save_edit` for forms that need more than `initial` to build: a stale version shows a
    fresh form with the current values and what was typed (409); a refusal goes onto the fields (400,
    or 409 when the object's state forbids the change)."""
    try:
        save()
    except errors.PreconditionFailed:
        now = current()
        edit = Edit(fresh(now), stale=entered_values(form, now))
        return edit, edit.status
    except errors.DomainError as exc:
        show_refusal(form, exc, aliases)
        return Edit(form), refusal_status(exc)
    return Edit(form, saved=True), 200


@require_http_methods(["GET", "POST"])
@workspace_view
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    require_customer_writer(user)
    lead = selectors.get_lead(viewer=user, lead_id=pk)
    owners = colleagues(user)
    form = EditLeadForm(request.POST or None, owners=owners, initial=_lead_values(lead))
    edit, status = Edit(form), form_status(form)
    if request.method == "POST" and form.is_valid():
        edit, status = save_versioned(
            form,
            lambda: services.update_lead(
                actor=user,
                lead_id=lead.pk,
                changes=form.data_for_service(),
                expected_version=form.cleaned_data["version"],
            ),
            lambda: _lead_values(selectors.get_lead(viewer=user, lead_id=pk)),
            lambda now: EditLeadForm(owners=owners, initial=now),
        )
        if edit.saved:
            messages.success(request, _("Your changes were saved."))
            return redirect("ui:lead-detail", pk=lead.pk)
    context = {"section": "pipeline", "tab": "leads", "form": edit.form, "lead": lead, "stale": edit.stale}
    return render(request, "pipeline/lead_form.html", context, status=status)


def render_lead(request: HttpRequest, lead: Lead, *, status: int = 200, **bound: Any) -> HttpResponse:
    """The lead page, with the qualify or disqualify form bound when it is shown again with errors."""
    user = acting_user(request)
    initial = {
        "title": lead.name,
        "products": [lead.product_id] if lead.product_id else [],
        "amount": lead.requested_amount,
        "currency": lead.currency,
        "version": lead.version,
    }
    opportunities: list[Opportunity] = []
    if lead.party_id and getattr(lead, "party_visible", False):
        opportunities = list(selectors.opportunity_list(viewer=user, party=lead.party_id).filter(lead=lead))
    context = {
        "section": "pipeline",
        "tab": "leads",
        "lead": lead,
        "opportunities": opportunities,
        "may_write": may_write_customers(user) and lead.status == "new",
        "qualify_form": bound.get("qualify_form") or QualifyForm(initial=initial),
        "disqualify_form": bound.get("disqualify_form") or DisqualifyForm(initial={"version": lead.version}),
        "error": bound.get("error"),
    }
    return render(request, "pipeline/lead_detail.html", context, status=status)


@require_GET
@workspace_view
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_lead(request, selectors.get_lead(viewer=acting_user(request), lead_id=pk))


@require_POST
@workspace_view
def lead_qualify(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    require_customer_writer(user)
    lead = selectors.get_lead(viewer=user, lead_id=pk)
    form = QualifyForm(request.POST)
    if not form.is_valid():
        return render_lead(request, lead, status=400, qualify_form=form)
    try:
        opportunity = services.qualify_lead(
            actor=user,
            lead_id=lead.pk,
            opportunity=form.opportunity(),
            expected_version=form.cleaned_data["version"],
        )
    except errors.PreconditionFailed:
        lead = selectors.get_lead(viewer=user, lead_id=pk)
        return render_lead(request, lead, status=STALE, error=stale_message())
    except errors.DomainError as exc:
        show_refusal(form, exc, OpportunityForm.aliases)
        return render_lead(request, lead, status=refusal_status(exc), qualify_form=form)
    qualified = selectors.get_lead(viewer=user, lead_id=pk)
    if qualified.matched_by:
        messages.success(
            request, _("Qualified. The lead matched an existing customer, who now has this opportunity.")
        )
    else:
        messages.success(request, _("Qualified. A prospect and this opportunity were created."))
    return redirect("ui:opportunity-detail", pk=opportunity.pk)


@require_POST
@workspace_view
def lead_disqualify(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    require_customer_writer(user)
    lead = selectors.get_lead(viewer=user, lead_id=pk)
    form = DisqualifyForm(request.POST)
    if not form.is_valid():
        return render_lead(request, lead, status=400, disqualify_form=form)
    data = form.cleaned_data
    try:
        services.disqualify_lead(
            actor=user,
            lead_id=lead.pk,
            reason=data["reason"],
            note=data["note"],
            expected_version=data["version"],
        )
    except errors.PreconditionFailed:
        lead = selectors.get_lead(viewer=user, lead_id=pk)
        return render_lead(request, lead, status=STALE, error=stale_message())
    except errors.DomainError as exc:
        show_refusal(form, exc)
        return render_lead(request, lead, status=refusal_status(exc), disqualify_form=form)
    messages.success(request, _("The lead was disqualified."))
    return redirect("ui:lead-detail", pk=lead.pk)


# --- the board and moves ----------------------------------------------------------------------------
def card_context(opportunity: Opportunity, now: Any) -> dict[str, Any]:
    """What one board card shows and may do: the moves the stage allows."""
    targets = [(s, Stage(s).label) for s in Stage.values if s in services.MOVES[opportunity.stage]]
    return {"o": opportunity, "targets": targets, "days": (now - opportunity.stage_entered_at).days}


@require_GET
@workspace_view
def opportunity_board(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    mine = request.GET.get("owner") == "me"
    board = selectors.opportunity_board(viewer=user, owner=user.pk if mine else None)
    now = timezone.now()
    columns = [
        {
            "stage": stage,
            "label": Stage(stage).label,
            "closed": stage in CLOSED_STAGES,
            "cards": [card_context(o, now) for o in cards],
        }
        for stage, cards in board.items()
    ]
    context = {
        "section": "pipeline",
        "tab": "board",
        "columns": columns,
        "mine": mine,
        "may_write": may_write_customers(user),
        "lost_reasons": LostReason.choices,
    }
    return render(request, "pipeline/board.html", context)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _problem_text(exc: errors.DomainError) -> str:
    if isinstance(exc, errors.PreconditionFailed):
        return _(
            "Someone changed this opportunity since you loaded the board; reload to see where it is now."
        )
    details = [m for messages_ in exc.field_errors.values() for m in messages_]
    return " ".join(details) if details else exc.detail


@require_http_methods(["GET", "POST"])
@workspace_view
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move to another stage: the board's drag and drop (JSON), its per-card form and the detail page's
    form (a page, redirecting back on success). GET shows the form on its own, e.g. to say why a deal
    was lost without scripts."""
    user = acting_user(request)
    require_customer_writer(user)
    opportunity = selectors.get_opportunity(viewer=user, opportunity_id=pk)
    initial = {"stage": request.GET.get("stage") or opportunity.stage, "version": opportunity.version}
    form = MoveForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                moved = services.move_opportunity(
                    actor=user,
                    opportunity_id=opportunity.pk,
                    stage=data["stage"],
                    lost_reason=data["lost_reason"],
                    lost_note=data["lost_note"],
                    expected_version=data["version"],
                )
            except errors.DomainError as exc:
                status = refusal_status(exc)
                if _wants_json(request):
                    return JsonResponse({"message": _problem_text(exc)}, status=status)
                if isinstance(exc, errors.PreconditionFailed):
                    form.add_error(None, stale_message())
                else:
                    show_refusal(form, exc)
            else:
                done = _("%(title)s moved to %(stage)s.") % {
                    "title": moved.title,
                    "stage": moved.get_stage_display(),
                }
                if _wants_json(request):
                    fresh = selectors.get_opportunity(viewer=user, opportunity_id=pk)
                    card = render_to_string(
                        "pipeline/_card.html",
                        {**card_context(fresh, timezone.now()), "may_write": True},
                        request,
                    )
                    return JsonResponse({"card": card, "message": done})
                messages.success(request, done)
                return redirect(local_next(request, f"/pipeline/opportunities/{pk}/"))
        else:
            status = 400
            if _wants_json(request):
                return JsonResponse({"message": _("Choose a stage to move to.")}, status=400)
    context = {
        "section": "pipeline",
        "tab": "board",
        "o": opportunity,
        "form": form,
        "next": local_next(request, ""),
    }
    return render(request, "pipeline/move.html", context, status=status)


# --- opportunities ----------------------------------------------------------------------------------
@require_GET
@workspace_view
def opportunity_list(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    form = OpportunityFilterForm(
        request.GET or None, owners=colleagues(user), orderings=OPPORTUNITY_ORDERINGS
    )
    invalid = form.is_bound and not form.is_valid()
    data = form.cleaned_data if form.is_bound and not invalid else {}
    owner, product = data.get("owner"), data.get("product")
    rows = selectors.opportunity_list(
        viewer=user, stage=data.get("stage", ""), owner=owner.pk if owner else None
    )
    if product is not None:
        rows = rows.filter(products=product)
    ordering = data.get("ordering") or "-updated_at"
    rows = rows.order_by(*OPPORTUNITY_ORDERINGS[ordering])
    page = page_of(request, rows.none() if invalid else rows)
    context = {"section": "pipeline", "tab": "list", "form": form, "page": page, "ordering": ordering}
    return render(request, "pipeline/opportunity_list.html", context, status=400 if invalid else 200)


@require_POST
@workspace_view
def party_picker(request: HttpRequest) -> HttpResponse:
    """Parties to choose from (POST: names stay out of URLs); `field` names the input they fill."""
    user = acting_user(request)
    term = request.POST.get("q", "").strip()[:100]
    many = request.POST.get("field") == "guarantors"
    hits = list(party_selectors.party_list(viewer=user, search=term)[:PICKER_HITS]) if term else []
    context = {"hits": hits, "term": term, "name": "guarantors" if many else "party", "many": many}
    return render(request, "pipeline/_party_picker.html", context)


@require_http_methods(["GET", "POST"])
@workspace_view
def opportunity_create(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    require_customer_writer(user)
    initial: dict[str, Any] = {"owner": user.pk, "currency": "CNY"}
    picked = None
    raw_party = request.POST.get("party") or request.GET.get("party")
    if raw_party:
        try:
            picked = party_selectors.get_party(viewer=user, party_id=raw_party)
            initial["party"] = picked.pk
        except errors.NotFound:
            picked = None
    form = NewOpportunityForm(request.POST or None, owners=colleagues(user), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if picked is None:
                raise errors.NotFound()
            opportunity = services.create_opportunity(
                actor=user, party_id=picked.pk, data=form.data_for_service()
            )
        except errors.NotFound:
            form.add_error("party", _("Choose a party from the search results."))
        except errors.DomainError as exc:
            show_refusal(form, exc, OpportunityForm.aliases)
        else:
            messages.success(request, _("The opportunity was opened."))
            return redirect("ui:opportunity-detail", pk=opportunity.pk)
    context = {"section": "pipeline", "tab": "list", "form": form, "o": None, "picked": picked}
    return render(request, "pipeline/opportunity_form.html", context, status=form_status(form))


def _opportunity_values(o: Opportunity) -> dict[str, Any]:
    return {
        "title": o.title,
        "products": [p.pk for p in o.products.all()],
        "amount": o.amount,
        "currency": o.currency,
        "expected_close": o.expected_close,
        "probability": o.probability,
        "owner": o.owner_id,
        "version": o.version,
    }


@require_http_methods(["GET", "POST"])
@workspace_view
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    require_customer_writer(user)
    opportunity = selectors.get_opportunity(viewer=user, opportunity_id=pk)
    owners = colleagues(user)
    form = EditOpportunityForm(request.POST or None, owners=owners, initial=_opportunity_values(opportunity))
    edit, status = Edit(form), form_status(form)
    if request.method == "POST" and form.is_valid():
        edit, status = save_versioned(
            form,
            lambda: services.update_opportunity(
                actor=user,
                opportunity_id=opportunity.pk,
                changes=form.data_for_service(),
                expected_version=form.cleaned_data["version"],
            ),
            lambda: _opportunity_values(selectors.get_opportunity(viewer=user, opportunity_id=pk)),
            lambda now: EditOpportunityForm(owners=owners, initial=now),
            OpportunityForm.aliases,
        )
        if edit.saved:
            messages.success(request, _("Your changes were saved."))
            return redirect("ui:opportunity-detail", pk=pk)
    context = {"section": "pipeline", "tab": "list", "form": edit.form, "o": opportunity, "stale": edit.stale}
    return render(request, "pipeline/opportunity_form.html", context, status=status)


@require_GET
@workspace_view
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    opportunity = selectors.get_opportunity(viewer=user, opportunity_id=pk)
    history = selectors.stage_history(opportunity=opportunity)
    now = timezone.now()
    context = {
        "section": "pipeline",
        "tab": "list",
        "o": opportunity,
        "proposals": list(selectors.proposal_list(viewer=user, opportunity=opportunity.pk)),
        "history": list(history),
        "days": (now - opportunity.stage_entered_at).days,
        "may_write": may_write_customers(user) and opportunity.stage not in CLOSED_STAGES,
        "move_form": MoveForm(initial={"stage": opportunity.stage, "version": opportunity.version}),
        "targets": card_context(opportunity, now)["targets"],
    }
    return render(request, "pipeline/opportunity_detail.html", context)


# --- funnel and time in stage -----------------------------------------------------------------------
@require_GET
@workspace_view
def funnel(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    form = FunnelFilterForm(request.GET or None, owners=colleagues(user))
    invalid = form.is_bound and not form.is_valid()
    data = form.cleaned_data if form.is_bound and not invalid else {}
    owner = data.get("owner")
    days = data.get("period") or ""
    since = timezone.now() - timedelta(days=int(days)) if days else None
    report = selectors.funnel(viewer=user, owner=owner.pk if owner else None, since=since)
    times = selectors.time_in_stage(viewer=user, owner=owner.pk if owner else None)
    top = max((row.entered for row in report.overall.stages), default=0)
    context = {
        "section": "pipeline",
        "tab": "funnel",
        "form": form,
        "report": report,
        "times": times,
        "top": top,
        "labels": dict(Stage.choices),
        "timed_stages": [Stage(s).label for s in TIMED_STAGES],
        "funnel_stages": [Stage(s).label for s in FUNNEL_STAGES],
    }
    return render(request, "pipeline/funnel.html", context, status=400 if invalid else 200)
