"""Workspace pages of origination: the application list, a new application, the application page with its
checklist, moves, decisions, conditions and offers, the offer letter and the approver's queue. Reads go
through the selectors and writes through the services, exactly as in the API."""

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lendcrm.core import errors
from lendcrm.core.access import may_write_customers, require_customer_writer
from lendcrm.core.fields import MAX_ID
from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.origination import authority, figures, selectors, services, turnaround, workflow
from lendcrm.origination.forms import (
    OTHER_ROLES,
    ApplicationFacilityForm,
    ApplicationFilterForm,
    ApplicationForm,
    ChecklistItemForm,
    DecisionForm,
    OfferForm,
    TransitionForm,
    VoteForm,
    facility_formset,
    other_parties,
    refuse,
)
from lendcrm.origination.models import (
    Application,
    CommitteeVote,
    Condition,
    Status,
)
from lendcrm.origination.services.applications import (
    ANALYST_MOVES,
    DECISION_MOVES,
    OFFER_MOVES,
    checklist_statuses,
)
from lendcrm.origination.services.decisions import CONDITION_STATUSES
from lendcrm.parties import selectors as party_selectors
from lendcrm.pipeline.forms import product_label
from lendcrm.pipeline.models import Product
from lendcrm.web.pages import acting_user, form_status, page_of, workspace_view

INVALID = 422  # inline forms come back with their errors; htmx swaps 422 responses (see base.html)
STALE = 409
PICKER_HITS = 8
FACILITIES = "facilities"
# A facility form counts when one of these is filled in; otherwise it is a blank row and skipped.
SIGNIFICANT = ("product", "amount", "tenor_months")
OFFER_DAYS = 30
# What a move's button says (the status it leads to names the action).
MOVE_LABELS: dict[str, Any] = {
    Status.SUBMITTED: gettext_lazy("Submit"),
    Status.IN_REVIEW: gettext_lazy("Start review"),
    Status.CREDIT_ANALYSIS: gettext_lazy("Start credit analysis"),
    Status.DRAFT: gettext_lazy("Send back to the RM"),
    Status.PENDING_DECISION: gettext_lazy("Send for decision"),
    Status.CONDITIONS_MET: gettext_lazy("Conditions precedent met"),
    Status.READY_TO_DISBURSE: gettext_lazy("Ready to disburse"),
    Status.WITHDRAWN: gettext_lazy("Withdraw"),
    Status.EXPIRED: gettext_lazy("Expire"),
}
CLOSING_MOVES = frozenset({Status.WITHDRAWN, Status.EXPIRED})


def refusal_status(exc: errors.DomainError) -> int:
    """A stale version is 409 on pages (the page shows the current state); others keep their status."""
    return STALE if isinstance(exc, errors.PreconditionFailed) else exc.status


def refusal_text(exc: errors.DomainError) -> str:
    if isinstance(exc, errors.PreconditionFailed):
        return _("Someone changed this application since you opened the page; nothing was saved. Look again.")
    return exc.detail


def posted_version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


# --- the list -----------------------------------------------------------------------------------------
def timed_rows(applications: list[Application], now: Any) -> list[dict[str, Any]]:
    """Each application with how long it has been in its status against the target; one query."""
    targets = turnaround.load_targets()
    rows = []
    for app in applications:
        product_id = getattr(app, "main_product_id", None)
        target = turnaround.target_for(targets, app.status, product_id)
        rows.append(
            {
                "app": app,
                "hours": turnaround.hours_between(app.status_entered_at, now),
                "target": target,
                "overdue": app.status in workflow.OPEN
                and turnaround.is_overdue(targets, app.status, app.status_entered_at, product_id, now),
            }
        )
    return rows


def product_names() -> dict[int, str]:
    """Product names by id in the reader's language (the catalogue is a few dozen rows)."""
    return {p.pk: product_label(p) for p in Product.objects.all()}


@require_GET
@workspace_view
def application_list(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    form = ApplicationFilterForm(request.GET or None)
    invalid = form.is_bound and not form.is_valid()
    data = form.cleaned_data if form.is_bound and not invalid else {}
    qs = selectors.application_list(
        viewer=user,
        status=data.get("status") or None,
        mine=bool(data.get("mine")),
        overdue=bool(data.get("overdue")),
    )
    qs = qs.select_related("borrower", "owner", "branch")
    page = page_of(request, qs.none() if invalid else qs)
    context = {
        "section": "applications",
        "form": form,
        "page": page,
        "rows": timed_rows(list(page.object_list), timezone.now()),
        "products": product_names(),
        "may_create": may_write_customers(user),
    }
    return render(request, "origination/application_list.html", context, status=form_status(form))


# --- a new application ----------------------------------------------------------------------------
def _formset(request: HttpRequest) -> Any:
    """The facilities formset; "Add another facility" posts the form back with one more row."""
    if request.method != "POST":
        return facility_formset(prefix=FACILITIES)
    data: QueryDict = request.POST
    if "add_facility" in data:
        data = data.copy()
        total = data.get(f"{FACILITIES}-TOTAL_FORMS", "1")
        data[f"{FACILITIES}-TOTAL_FORMS"] = str(min(int(total) + 1 if total.isdigit() else 1, 10))
    return facility_formset(data, prefix=FACILITIES)


def _kept(formset: Any) -> list[ApplicationFacilityForm]:
    """The facility forms that say something and were not removed."""
    return [
        form
        for form in formset.forms
        if form.is_valid()
        and not form.cleaned_data.get("DELETE")
        and any(form.cleaned_data.get(name) not in (None, "") for name in SIGNIFICANT)
    ]


def _place(exc: errors.DomainError, form: forms.Form, kept: list[Any], parties: list[str]) -> None:
    """The service's field errors onto the page: `facilities.N.amount` beside the Nth facility's amount,
    `parties.N.*` above the other parties, the rest on the form."""
    placed = False
    for name, problems in exc.field_errors.items():
        parts = name.split(".")
        head = {"borrower_id": "borrower"}.get(parts[0], parts[0])
        if head == FACILITIES and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(kept):
            target = kept[int(parts[1])]
            field = parts[2] if len(parts) > 2 and parts[2] in target.fields else None
            field = "lgd_pct" if field is None and len(parts) > 2 and parts[2] == "lgd" else field
            for message in problems:
                target.add_error(field, message)
        elif head == "parties":
            parties.extend(problems)
        else:
            for message in problems:
                form.add_error(head if head in form.fields else None, message)
        placed = True
    if not placed:
        form.add_error(None, exc.detail)


@require_http_methods(["GET", "POST"])
@workspace_view
def application_create(request: HttpRequest) -> HttpResponse:
    """A draft application: the borrower from the picker, its facilities and the other parties."""
    user = acting_user(request)
    require_customer_writer(user)
    form = ApplicationForm(request.POST or None)
    formset = _formset(request)
    chosen, party_problems = other_parties(request.POST) if request.method == "POST" else ([], [])
    if request.method == "POST" and "add_facility" not in request.POST:
        ok = form.is_valid() & all(f.is_valid() for f in formset.forms)
        ok = ok and formset.management_form.is_valid() and not party_problems
        if ok:
            kept = _kept(formset)
            try:
                application = services.create_application(
                    actor=user,
                    borrower_id=form.cleaned_data["borrower"],
                    purpose=form.cleaned_data["purpose"],
                    facilities=[f.terms() for f in kept],
                    parties=[{"party": pk, "role": role} for pk, role in chosen],
                )
            except errors.NotFound:
                form.add_error("borrower", _("Choose the borrower from the search results."))
            except errors.DomainError as exc:
                _place(exc, form, kept, party_problems)
            else:
                messages.success(
                    request, _("Application %(ref)s was created as a draft.") % {"ref": application.reference}
                )
                return redirect("ui:application-detail", pk=application.pk)
    borrower = _visible(user, [form.data.get("borrower")]) if form.is_bound else {}
    known = _visible(user, [pk for pk, _role in chosen])
    context = {
        "section": "applications",
        "form": form,
        "formset": formset,
        "borrower": next(iter(borrower.values()), None),
        "others": [(known[pk], role) for pk, role in chosen if pk in known],
        "roles": OTHER_ROLES,
        "party_problems": party_problems,
    }
    status = 200 if request.method == "GET" or "add_facility" in request.POST else 400
    return render(request, "origination/application_form.html", context, status=status)


@require_POST
@workspace_view
def application_party_picker(request: HttpRequest) -> HttpResponse:
    """Parties to choose the borrower (`field=borrower`) or the other parties from; POST, so names stay
    out of URLs. What is already chosen on the form stays chosen above the new hits."""
    user = acting_user(request)
    many = request.POST.get("field") != "borrower"
    term = request.POST.get("q_party" if many else "q_borrower", "").strip()[:100]
    chosen, _problems = other_parties(request.POST) if many else ([], [])
    known = _visible(user, [pk for pk, _role in chosen] if many else [request.POST.get("borrower")])
    kept = [(known[pk], role) for pk, role in chosen if pk in known]
    hits = party_selectors.party_list(viewer=user, search=term)[:PICKER_HITS] if term else []
    context = {
        "hits": [hit for hit in hits if hit.pk not in known],
        "term": term,
        "many": many,
        "roles": OTHER_ROLES,
        "kept": kept,
        "kept_borrower": None if many else next(iter(known.values()), None),
    }
    return render(request, "origination/_party_picker.html", context)


def _visible(user: User, raw_ids: list[Any]) -> dict[int, Any]:
    """The parties named on a form (ids as typed) that the user may see, by id; one query."""
    ids = [int(str(x)) for x in raw_ids if x is not None and str(x).isdigit() and 0 < int(str(x)) <= MAX_ID]
    if not ids:
        return {}
    return {p.pk: p for p in party_selectors.visible_parties(viewer=user).filter(pk__in=ids)}


# --- the application page -------------------------------------------------------------------------
def moves_for(user: User, application: Application) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """The moves the graph permits from here that this user's role could make, as (status, label), the
    forward ones apart from the closing ones (withdraw, expire); decisions and offers have their own
    forms, booking its page in servicing. The service still decides."""
    analyst = user.has_role(Role.CREDIT_ANALYST) and user.pk != application.owner_id
    maker = user.pk == application.owner_id or may_write_customers(user)
    forward: list[tuple[str, Any]] = []
    closing: list[tuple[str, Any]] = []
    for to_status in sorted(workflow.TRANSITIONS[application.status]):
        if to_status in DECISION_MOVES or to_status in OFFER_MOVES or to_status == Status.BOOKED:
            continue
        back = application.status == Status.IN_REVIEW and to_status == Status.DRAFT
        if to_status in ANALYST_MOVES or back:
            allowed = analyst
        elif to_status == Status.EXPIRED:
            allowed = user.pk == application.owner_id or user.has_role(Role.CREDIT_ANALYST)
        else:
            allowed = maker
        if allowed:
            (closing if to_status in CLOSING_MOVES else forward).append(
                (to_status, MOVE_LABELS.get(to_status, to_status))
            )
    return forward, closing


def _decision_record(application: Application) -> dict[str, Any]:
    """Decisions, this round's votes and the conditions of an application the viewer may see (its scope
    was checked by `get_application`); three queries."""
    decisions = list(selectors.decision_list(application))
    votes = list(
        CommitteeVote.objects.filter(application=application, round=application.decision_round)
        .select_related("member")
        .order_by("cast_at", "id")
    )
    conditions = list(
        Condition.objects.filter(application=application).select_related("resolved_by").order_by("id")
    )
    by_decision: dict[int, list[Condition]] = {}
    for condition in conditions:
        by_decision.setdefault(condition.decision_id, []).append(condition)
    return {
        "decisions": [(d, by_decision.get(d.pk, [])) for d in decisions],
        "votes": votes,
        "conditions": conditions,
    }


def detail_context(request: HttpRequest, pk: object, **bound: Any) -> dict[str, Any]:
    """Everything the application page shows, with forms bound when they come back with errors."""
    user = acting_user(request)
    application = selectors.get_application(viewer=user, application_id=pk)
    memo = selectors.application_memo(application)
    facilities = list(application.facilities.all())
    grade = memo.risk_grade if memo is not None else None
    try:
        exposure = authority.group_exposure(application, viewer=user)
        exposure_problem = ""
    except errors.DomainError as exc:
        exposure, exposure_problem = None, exc.detail
    losses = figures.expected_losses(facilities, grade.pd if grade else None)
    record = _decision_record(application)
    awaiting = application.status in workflow.AWAITING_DECISION
    committee = bool(application.required_level and application.required_level.is_committee)
    maker_side = user.pk == application.owner_id or may_write_customers(user)
    checklist = bound.get("checklist_forms", {})
    statuses = checklist_statuses(user, application)
    forward, closing = moves_for(user, application)
    return {
        "section": "applications",
        "application": application,
        "borrower": application.borrower,
        "parties": list(application.parties.all()),
        "facilities": facilities,
        "memo": memo,
        "losses": losses,
        "facility_rows": list(zip(facilities, losses.facilities, strict=True)),
        "checklist_editable": checklist_editable(application, statuses),
        "turnaround": selectors.application_turnaround(viewer=user, application=application),
        "in_status_hours": turnaround.hours_between(application.status_entered_at, timezone.now()),
        "checklist": [
            (item, checklist.get(item.pk) or checklist_form(item, statuses))
            for item in application.checklist.all()
        ],
        "exposure": exposure,
        "exposure_problem": exposure_problem,
        "moves": forward,
        "closing_moves": closing,
        "offers": list(application.offers.all()),
        **record,
        "awaiting": awaiting,
        "committee": committee,
        "voted": any(v.member_id == user.pk for v in record["votes"]),
        "may_decide": awaiting
        and not committee
        and (user.has_role(Role.CREDIT_APPROVER) or _holds_delegation(user)),
        "may_vote": awaiting and committee and user.has_role(Role.COMMITTEE_MEMBER),
        "may_resolve": application.status in CONDITION_STATUSES
        and bool(user.role_slugs & {Role.RELATIONSHIP_MANAGER, Role.CREDIT_ANALYST, Role.CREDIT_APPROVER}),
        "may_issue": application.status in workflow.APPROVED and maker_side,
        "may_edit": application.status == Status.DRAFT and maker_side,
        "maker_side": maker_side,
        "decision_form": bound.get("decision_form") or DecisionForm(initial={"version": application.version}),
        "vote_form": bound.get("vote_form") or VoteForm(),
        "offer_form": bound.get("offer_form")
        or OfferForm(initial={"expires_on": timezone.localdate() + timedelta(days=OFFER_DAYS)}),
        "condition_form": bound.get("condition_form"),
        "transition_form": bound.get("transition_form"),
        "refusal": bound.get("refusal", ""),
    }


def _holds_delegation(user: User) -> bool:
    """Whether the user holds single-approver authority in force today (an RM may); the decision
    service still checks that it covers this application."""
    return (
        authority.delegations_in_force(user, timezone.localdate()).filter(level__is_committee=False).exists()
    )


def checklist_editable(application: Application, statuses: list[str]) -> bool:
    """Whether the checklist is offered for editing: open, and this user may set some status."""
    return application.status in workflow.OPEN and bool(statuses)


def checklist_form(item: Any, statuses: list[str], data: Any = None) -> ChecklistItemForm:
    """One checklist item's inline form offering the statuses this user may set; ids carry the item so
    many forms share one page."""
    return ChecklistItemForm(
        data,
        initial={"item": item.pk, "status": item.status, "waiver_reason": item.waiver_reason},
        auto_id=f"id_check{item.pk}_%s",
        statuses=statuses,
        current=item.status,
    )


def render_detail(request: HttpRequest, pk: object, *, status: int = 200, **bound: Any) -> HttpResponse:
    return render(
        request, "origination/application_detail.html", detail_context(request, pk, **bound), status=status
    )


@require_GET
@workspace_view
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_detail(request, pk)


def act(
    request: HttpRequest, pk: int, act: Any, done: str, *, form_key: str = "", form: Any = None
) -> HttpResponse:
    """Run a one-form action on the application page: after success back to the page (by redirect, so
    a reload does not post twice); a refusal shows the page again with the reason and its status."""
    try:
        act()
    except errors.DomainError as exc:
        bound = {form_key: form} if form_key and form is not None else {}
        if form is not None and exc.field_errors:
            refuse(form, exc)
        else:
            bound["refusal"] = refusal_text(exc)
        return render_detail(request, pk, status=refusal_status(exc), **bound)
    messages.success(request, done)
    return redirect("ui:application-detail", pk=pk)


@require_POST
@workspace_view
def application_transition(request: HttpRequest, pk: int) -> HttpResponse:
    """One of the move buttons; the service decides (409 when the state forbids it)."""
    user = acting_user(request)
    application = selectors.get_application(viewer=user, application_id=pk)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        return render_detail(request, pk, status=400, transition_form=form)
    data = form.cleaned_data
    return act(
        request,
        application.pk,
        lambda: services.transition(
            actor=user,
            application_id=application.pk,
            to_status=data["to_status"],
            note=data["note"],
            expected_version=data["version"],
        ),
        _("The application is now “%(status)s”.") % {"status": Status(data["to_status"]).label},
        form_key="transition_form",
        form=form,
    )


@require_POST
@workspace_view
def checklist_update(request: HttpRequest, pk: int) -> HttpResponse:
    """One document's status, inline: htmx gets the item's row (422 with the message when refused)."""
    user = acting_user(request)
    application = selectors.get_application(viewer=user, application_id=pk)
    items = {item.pk: item for item in application.checklist.all()}
    raw = request.POST.get("item", "")
    item = items.get(int(raw)) if raw.isdigit() else None
    if item is None:
        raise errors.NotFound()
    statuses = checklist_statuses(user, application)
    form = checklist_form(item, statuses, request.POST)
    saved = False
    if form.is_valid():
        try:
            item = services.update_checklist_item(
                actor=user,
                application_id=application.pk,
                item_id=item.pk,
                status=form.cleaned_data["status"],
                waiver_reason=form.cleaned_data["waiver_reason"],
            )
            saved = True
        except errors.DomainError as exc:
            refuse(form, exc)
    if request.headers.get("HX-Request"):
        fresh = checklist_form(item, statuses) if saved else form
        context = {
            "application": application,
            "item": item,
            "form": fresh,
            "saved": saved,
            "checklist_editable": checklist_editable(application, statuses),
        }
        return render(request, "origination/_checklist_item.html", context, status=200 if saved else INVALID)
    if saved:
        messages.success(request, _("The checklist was updated."))
        return redirect("ui:application-detail", pk=application.pk)
    return render_detail(request, pk, status=INVALID, checklist_forms={item.pk: form})
