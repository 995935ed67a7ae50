"""Workspace pages of oversight: the watchlist (add, plan, leave with approval), early-warning signals
(dismiss) and reviews and visits (the visit report). Reads go through the selectors and writes through
the services, exactly as in the API."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lendcrm.core import errors
from lendcrm.core.models import User
from lendcrm.core.roles import MONITORING_ROLES, OVERSIGHT_APPROVER_ROLES, Role
from lendcrm.monitoring import oversight_selectors as selectors
from lendcrm.monitoring.oversight_models import (
    Review,
    ReviewKind,
    ReviewStatus,
    Severity,
    SignalRule,
    SignalStatus,
    WatchlistEntry,
    WatchSource,
    WatchStatus,
)
from lendcrm.monitoring.services import reviews, signals, watchlist
from lendcrm.parties import selectors as party_selectors
from lendcrm.web.forms import DateInput, StaffChoiceField, show_refusal
from lendcrm.web.pages import acting_user, form_status, page_of, workspace_view

TEXT = {"rows": 3}


def _any(choices: Any) -> list[tuple[str, Any]]:
    return [("", gettext_lazy("Any")), *choices]


def _owners() -> Any:
    """Who may own a watchlist entry: monitoring officers and relationship managers."""
    roles = [Role.PORTFOLIO_MONITOR, Role.RELATIONSHIP_MANAGER]
    return (
        User.objects.filter(is_active=True, role_grants__role__in=roles)
        .distinct()
        .order_by("first_name", "username")
    )


def _is_monitor(user: User) -> bool:
    return bool(user.role_slugs & MONITORING_ROLES)


def _refused(form: forms.Form, exc: errors.DomainError) -> int:
    """Put a refusal on the form; a stale version reads as 409 on pages."""
    show_refusal(form, exc)
    return 409 if isinstance(exc, errors.PreconditionFailed) else exc.status


# --- forms --------------------------------------------------------------------------------------------
class WatchFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("On the watchlist")), ("all", gettext_lazy("All")), *WatchStatus.choices],
    )
    source = forms.ChoiceField(
        label=gettext_lazy("Source"), required=False, choices=_any(WatchSource.choices)
    )
    mine = forms.BooleanField(label=gettext_lazy("Owned by me"), required=False)


class WatchForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), widget=forms.Textarea(attrs=TEXT), max_length=10_000
    )
    action_plan = forms.CharField(
        label=gettext_lazy("Action plan"),
        widget=forms.Textarea(attrs=TEXT),
        required=False,
        max_length=10_000,
    )
    owner = StaffChoiceField(label=gettext_lazy("Owner"), queryset=User.objects.none())
    review_date = forms.DateField(label=gettext_lazy("Review date"), widget=DateInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _owners()  # type: ignore[attr-defined]


class WatchPlanForm(WatchForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["reason"]


class ExitRequestForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why may the party leave the watchlist?"),
        widget=forms.Textarea(attrs=TEXT),
        max_length=10_000,
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class ExitDecisionForm(forms.Form):
    approve = forms.TypedChoiceField(
        label=gettext_lazy("Decision"),
        choices=[("yes", gettext_lazy("Let the party leave")), ("no", gettext_lazy("Keep on watch"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), widget=forms.Textarea(attrs=TEXT), required=False, max_length=10_000
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class SignalFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Open")), ("all", gettext_lazy("All")), *SignalStatus.choices[1:]],
    )
    rule = forms.ChoiceField(label=gettext_lazy("Rule"), required=False, choices=_any(SignalRule.choices))
    min_severity = forms.TypedChoiceField(
        label=gettext_lazy("At least"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=_any(Severity.choices),
    )


class DismissForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why is this not a concern?"), widget=forms.Textarea(attrs=TEXT), max_length=10_000
    )


class ReviewFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Scheduled")), ("all", gettext_lazy("All")), *ReviewStatus.choices[1:]],
    )
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False, choices=_any(ReviewKind.choices))
    mine = forms.BooleanField(label=gettext_lazy("Assigned to me"), required=False)
    overdue = forms.BooleanField(label=gettext_lazy("Overdue"), required=False)


class VisitReportForm(forms.Form):
    visited_on = forms.DateField(label=gettext_lazy("Visited on"), widget=DateInput)
    people_met = forms.CharField(label=gettext_lazy("People met"), required=False, max_length=300)
    findings = forms.CharField(
        label=gettext_lazy("Findings"), widget=forms.Textarea(attrs=TEXT), max_length=10_000
    )
    site_condition = forms.CharField(
        label=gettext_lazy("Site and operations"),
        widget=forms.Textarea(attrs=TEXT),
        required=False,
        max_length=10_000,
    )
    recommendation = forms.CharField(
        label=gettext_lazy("Recommendation"),
        widget=forms.Textarea(attrs=TEXT),
        required=False,
        max_length=10_000,
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


def _filters(form: forms.Form) -> dict[str, Any]:
    return form.cleaned_data if form.is_bound and form.is_valid() else {}


# --- the watchlist ------------------------------------------------------------------------------------
@require_GET
@workspace_view
def watchlist_page(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    form = WatchFilterForm(request.GET or None)
    data = _filters(form)
    status = data.get("status") or ""
    qs = selectors.watchlist(
        viewer=user,
        status=status if status not in ("", "all") else None,
        live_only=status == "",
        source=data.get("source") or None,
        owner_id=user.pk if data.get("mine") else None,
    )
    page = page_of(request, qs.none() if form.is_bound and form.errors else qs)
    context = {"section": "watchlist", "form": form, "page": page, "may_add": _is_monitor(user)}
    return render(request, "monitoring/watchlist.html", context, status=form_status(form))


@require_http_methods(["GET", "POST"])
@workspace_view
def watch_add(request: HttpRequest) -> HttpResponse:
    """Put a party on watch by hand (`?party=<id>`, from the customer 360 page)."""
    user = acting_user(request)
    if not _is_monitor(user):
        raise errors.PermissionDenied(_("Only a monitoring officer manages the watchlist."))
    party = party_selectors.get_party(viewer=user, party_id=request.GET.get("party", ""))
    form = WatchForm(request.POST or None)
    code = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                entry = watchlist.add_to_watchlist(
                    actor=user,
                    party_id=party.pk,
                    reason=data["reason"],
                    action_plan=data["action_plan"],
                    owner_id=data["owner"].pk,
                    review_date=data["review_date"],
                )
            except errors.DomainError as exc:
                code = _refused(form, exc)
            else:
                messages.success(request, _("%(party)s is on the watchlist.") % {"party": party.legal_name})
                return redirect("ui:watch-detail", entry.pk)
        else:
            code = 400
    context = {"section": "watchlist", "form": form, "party": party}
    return render(request, "monitoring/watch_form.html", context, status=code)


def _watch_context(user: User, entry: WatchlistEntry, **forms_given: forms.Form) -> dict[str, Any]:
    may_manage = _is_monitor(user) or entry.owner_id == user.pk
    initial = {
        "action_plan": entry.action_plan,
        "owner": entry.owner_id,
        "review_date": entry.review_date,
        "version": entry.version,
    }
    live = entry.status != WatchStatus.EXITED
    decides = (
        entry.status == WatchStatus.EXIT_REQUESTED
        and bool(user.role_slugs & OVERSIGHT_APPROVER_ROLES)
        and entry.exit_requested_by_id != user.pk
    )
    return {
        "section": "watchlist",
        "entry": entry,
        "plan_form": forms_given.get("plan_form")
        or (WatchPlanForm(initial=initial) if may_manage and live else None),
        "exit_form": forms_given.get("exit_form")
        or (
            ExitRequestForm(initial={"version": entry.version})
            if may_manage and entry.status == WatchStatus.ACTIVE
            else None
        ),
        "decision_form": forms_given.get("decision_form")
        or (ExitDecisionForm(initial={"version": entry.version}) if decides else None),
    }


@require_GET
@workspace_view
def watch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    entry = selectors.get_watch_entry(viewer=user, entry_id=pk)
    return render(request, "monitoring/watch_detail.html", _watch_context(user, entry))


def _watch_action(
    request: HttpRequest,
    pk: int,
    form_class: type[forms.Form],
    name: str,
    act: Callable[[User, dict[str, Any]], Any],
) -> HttpResponse:
    """A form on the entry's page: the service decides; a refusal shows the page again with the form."""
    user = acting_user(request)
    entry = selectors.get_watch_entry(viewer=user, entry_id=pk)
    form = form_class(request.POST)
    code = 400
    if form.is_valid():
        try:
            act(user, {**form.cleaned_data, "entry_id": entry.pk})
        except errors.DomainError as exc:
            code = _refused(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("ui:watch-detail", entry.pk)
    entry = selectors.get_watch_entry(viewer=user, entry_id=pk)
    return render(
        request, "monitoring/watch_detail.html", _watch_context(user, entry, **{name: form}), status=code
    )


@require_POST
@workspace_view
def watch_plan(request: HttpRequest, pk: int) -> HttpResponse:
    return _watch_action(
        request,
        pk,
        WatchPlanForm,
        "plan_form",
        lambda user, d: watchlist.update_watch_plan(
            actor=user,
            entry_id=d["entry_id"],
            action_plan=d["action_plan"],
            owner_id=d["owner"].pk,
            review_date=d["review_date"],
            expected_version=d["version"],
        ),
    )


@require_POST
@workspace_view
def watch_exit(request: HttpRequest, pk: int) -> HttpResponse:
    return _watch_action(
        request,
        pk,
        ExitRequestForm,
        "exit_form",
        lambda user, d: watchlist.request_exit(
            actor=user, entry_id=d["entry_id"], reason=d["reason"], expected_version=d["version"]
        ),
    )


@require_POST
@workspace_view
def watch_exit_decision(request: HttpRequest, pk: int) -> HttpResponse:
    return _watch_action(
        request,
        pk,
        ExitDecisionForm,
        "decision_form",
        lambda user, d: watchlist.decide_exit(
            actor=user,
            entry_id=d["entry_id"],
            approve=d["approve"],
            note=d["note"],
            expected_version=d["version"],
        ),
    )


# --- signals ------------------------------------------------------------------------------------------
@require_GET
@workspace_view
def signal_list(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    form = SignalFilterForm(request.GET or None)
    data = _filters(form)
    status = data.get("status") or ""
    qs = selectors.signal_list(
        viewer=user,
        status=SignalStatus.OPEN if status == "" else (None if status == "all" else status),
        rule=data.get("rule") or None,
        min_severity=data.get("min_severity"),
    )
    page = page_of(request, qs.none() if form.is_bound and form.errors else qs)
    context = {"section": "signals", "form": form, "page": page, "may_dismiss": _is_monitor(user)}
    return render(request, "monitoring/signal_list.html", context, status=form_status(form))


@require_http_methods(["GET", "POST"])
@workspace_view
def signal_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    signal = selectors.get_signal(viewer=user, signal_id=pk)
    form = DismissForm(request.POST or None)
    code = 200
    if request.method == "POST":
        code = 400
        if form.is_valid():
            try:
                signals.dismiss_signal(actor=user, signal_id=signal.pk, reason=form.cleaned_data["reason"])
            except errors.DomainError as exc:
                code = _refused(form, exc)
            else:
                messages.success(request, _("The signal was dismissed."))
                return redirect("ui:signal-list")
    context = {"section": "signals", "signal": signal, "form": form}
    return render(request, "monitoring/signal_dismiss.html", context, status=code)


# --- reviews ------------------------------------------------------------------------------------------
@require_GET
@workspace_view
def review_list(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    form = ReviewFilterForm(request.GET or None)
    data = _filters(form)
    status = data.get("status") or ""
    today = timezone.localdate()
    qs = selectors.review_list(
        viewer=user,
        status=ReviewStatus.SCHEDULED if status == "" else (None if status == "all" else status),
        kind=data.get("kind") or None,
        assigned_to_id=user.pk if data.get("mine") else None,
        overdue_on=today if data.get("overdue") else None,
    )
    page = page_of(request, qs.none() if form.is_bound and form.errors else qs)
    context = {"section": "reviews", "form": form, "page": page, "today": today}
    return render(request, "monitoring/review_list.html", context, status=form_status(form))


@require_http_methods(["GET", "POST"])
@workspace_view
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The review; while scheduled, the visit report form for its assignee or a monitoring officer."""
    user = acting_user(request)
    review = selectors.get_review(viewer=user, review_id=pk)
    may_report = review.status == ReviewStatus.SCHEDULED and reviews.may_complete(user, review)
    form = VisitReportForm(
        request.POST or None, initial={"version": review.version, "visited_on": timezone.localdate()}
    )
    code = 200
    if request.method == "POST":
        code = 400
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                reviews.complete_review(
                    actor=user, review_id=review.pk, expected_version=data.pop("version"), **data
                )
            except errors.DomainError as exc:
                code = _refused(form, exc)
            else:
                messages.success(request, _("The report is saved and the next one scheduled."))
                return redirect("ui:review-detail", review.pk)
    context = {
        "section": "reviews",
        "review": review,
        "form": form if may_report or request.method == "POST" else None,
        "next_reviews": _next_reviews(user, review),
        "today": timezone.localdate(),
    }
    return render(request, "monitoring/review_detail.html", context, status=code)


def _next_reviews(user: User, review: Review) -> list[Review]:
    """After completion: what is now scheduled for the party."""
    if review.status != ReviewStatus.COMPLETED:
        return []
    return list(
        selectors.review_list(viewer=user, party_id=review.party_id, status=ReviewStatus.SCHEDULED).filter(
            ~Q(pk=review.pk)
        )
    )


urlpatterns = [
    path("watchlist/", watchlist_page, name="watchlist"),
    path("watchlist/new/", watch_add, name="watch-add"),
    path("watchlist/<int:pk>/", watch_detail, name="watch-detail"),
    path("watchlist/<int:pk>/plan/", watch_plan, name="watch-plan"),
    path("watchlist/<int:pk>/exit/", watch_exit, name="watch-exit"),
    path("watchlist/<int:pk>/exit/decision/", watch_exit_decision, name="watch-exit-decision"),
    path("signals/", signal_list, name="signal-list"),
    path("signals/<int:pk>/dismiss/", signal_dismiss, name="signal-dismiss"),
    path("reviews/", review_list, name="review-list"),
    path("reviews/<int:pk>/", review_detail, name="review-detail"),
]
