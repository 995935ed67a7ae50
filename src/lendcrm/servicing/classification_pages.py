"""Workspace pages of classification and restructuring: the panel on the facility page, the facility's
classification page (history, request and decide), the restructuring form and page, the approver's queue."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lendcrm.core import errors
from lendcrm.core.models import User
from lendcrm.core.roles import MONITORING_ROLES, OVERSIGHT_APPROVER_ROLES, Role
from lendcrm.servicing import classification as rules
from lendcrm.servicing import classification_selectors as selectors
from lendcrm.servicing.models import (
    Category,
    ClassificationBasis,
    Facility,
    GraceKind,
    RequestStatus,
    RestructuringKind,
    ScheduleProfile,
    Stage,
)
from lendcrm.servicing.selectors import visible_facilities
from lendcrm.servicing.services import classification as classification_services
from lendcrm.servicing.services import restructuring as restructuring_services
from lendcrm.web.forms import DateInput, show_refusal
from lendcrm.web.pages import acting_user, form_status, page_of, workspace_view

BLANK: list[tuple[str, Any]] = [("", "—")]
HISTORY_ON_PANEL = 5
# Non-performing categories are shown as bad, special mention as a warning.
CATEGORY_TONE: dict[str, str] = {
    Category.NORMAL: "ok",
    Category.SPECIAL_MENTION: "warn",
    Category.SUBSTANDARD: "bad",
    Category.DOUBTFUL: "bad",
    Category.LOSS: "bad",
}


# --- forms ------------------------------------------------------------------------------------------
class ClassificationRequestForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("Proposed classification"), choices=Category.choices)
    stage = forms.TypedChoiceField(
        label=gettext_lazy("Proposed IFRS 9 stage"), choices=Stage.choices, coerce=int
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason and evidence"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "An upgrade needs evidence: repayments resumed, new security, audited figures."
        ),
    )


class FourEyesDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[("approve", gettext_lazy("Approve")), ("reject", gettext_lazy("Reject"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Required when rejecting."),
    )


class RestructuringForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=RestructuringKind.choices)
    effective_on = forms.DateField(label=gettext_lazy("Effective on"), widget=DateInput())
    maturity_date = forms.DateField(label=gettext_lazy("New maturity"), required=False, widget=DateInput())
    interest_rate_pct = forms.DecimalField(
        label=gettext_lazy("New fixed rate %"), required=False, max_digits=9, decimal_places=5
    )
    margin_pct = forms.DecimalField(
        label=gettext_lazy("New margin %"), required=False, max_digits=9, decimal_places=5
    )
    profile = forms.ChoiceField(
        label=gettext_lazy("New repayment profile"), required=False, choices=BLANK + ScheduleProfile.choices
    )
    frequency_months = forms.TypedChoiceField(
        label=gettext_lazy("Pay every (months)"),
        required=False,
        choices=BLANK + [(str(n), str(n)) for n in (1, 3, 6, 12)],
        coerce=int,
        empty_value=None,
    )
    grace_months = forms.IntegerField(
        label=gettext_lazy("Grace (months from the effective date)"),
        required=False,
        min_value=0,
        max_value=1200,
    )
    grace_kind = forms.ChoiceField(
        label=gettext_lazy("Grace period"), required=False, choices=BLANK + GraceKind.choices
    )
    balloon_amount = forms.DecimalField(
        label=gettext_lazy("Balloon"), required=False, max_digits=20, decimal_places=2
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )

    TERM_FIELDS = restructuring_services.TERM_KEYS

    def terms(self) -> dict[str, Any]:
        """The terms filled in; blank ones stay as they are."""
        return {
            name: self.cleaned_data[name]
            for name in self.TERM_FIELDS
            if self.cleaned_data.get(name) not in (None, "")
        }


# Service field names (API style) onto this form's fields.
RESTRUCTURING_ALIASES = {f"terms.{name}": name for name in restructuring_services.TERM_KEYS}


# --- the panel --------------------------------------------------------------------------------------
def _has(user: User, roles: frozenset[str]) -> bool:
    return user.is_active and bool(user.role_slugs & roles)


def classification_panel(viewer: User, facility: Facility) -> dict[str, Any]:
    """The context `servicing/_classification.html` needs, for the facility page: the current category and
    stage with the rules' floor today, the latest changes, the pending request and restructuring and what
    the viewer may do about them. Four queries."""
    today = timezone.localdate()
    policy = rules.policy()
    history = list(
        selectors.classification_history(viewer=viewer, facility_id=facility.pk)[: HISTORY_ON_PANEL + 1]
    )
    pending = selectors.classification_requests(
        viewer=viewer, facility_id=facility.pk, status=RequestStatus.PENDING
    ).first()
    pending_restructuring = selectors.restructurings(
        viewer=viewer, facility_id=facility.pk, status=RequestStatus.PENDING
    ).first()
    floor = classification_services.rule_floor_for(facility, proposed_category=Category.NORMAL, as_of=today)
    observation_ends = (
        rules.observation_ends(facility.restructured_on, policy) if facility.restructured_on else None
    )
    approver = _has(viewer, OVERSIGHT_APPROVER_ROLES)
    active = facility.status == "active"
    return {
        "facility": facility,
        "category_tone": CATEGORY_TONE.get(facility.category, ""),
        "non_performing": rules.is_non_performing(facility.category),
        "floor": floor,
        "floor_label": Category(floor.category).label,
        "floor_basis_label": ClassificationBasis(floor.basis).label,
        "observation_ends": observation_ends,
        "in_observation": rules.in_observation(facility.restructured_on, today, policy),
        "history": history[:HISTORY_ON_PANEL],
        "more_history": len(history) > HISTORY_ON_PANEL,
        "pending": pending,
        "pending_restructuring": pending_restructuring,
        "may_request": active and pending is None and _has(viewer, MONITORING_ROLES),
        "is_approver": approver,
        "may_decide": pending is not None and approver and pending.requested_by_id != viewer.pk,
        "may_withdraw": pending is not None and pending.requested_by_id == viewer.pk,
        "may_restructure": active
        and pending_restructuring is None
        and _has(viewer, MONITORING_ROLES | {Role.RELATIONSHIP_MANAGER}),
        "may_decide_restructuring": pending_restructuring is not None
        and approver
        and pending_restructuring.requested_by_id != viewer.pk,
        "request_form": ClassificationRequestForm(
            initial={"category": facility.category, "stage": facility.stage}
        ),
        "decision_form": FourEyesDecisionForm(),
    }


def facility_page_url(facility_id: int) -> str:
    """The facility page when the loan book has one, else the classification page."""
    try:
        return reverse("ui:facility-detail", args=[facility_id])
    except NoReverseMatch:
        return reverse("ui:facility-classification", args=[facility_id])


# --- the classification page ------------------------------------------------------------------------
def _facility(viewer: User, facility_id: int) -> Facility:
    found = visible_facilities(viewer=viewer).select_related("borrower").filter(pk=facility_id).first()
    if found is None:
        raise errors.NotFound()
    return found


def _render_classification(
    request: HttpRequest,
    facility: Facility,
    *,
    status: int = 200,
    request_form: ClassificationRequestForm | None = None,
    decision_form: FourEyesDecisionForm | None = None,
    refusal: str = "",
) -> HttpResponse:
    viewer = acting_user(request)
    panel = classification_panel(viewer, facility)
    context = {
        **panel,
        "page": page_of(request, selectors.classification_history(viewer=viewer, facility_id=facility.pk)),
        "restructuring_rows": list(selectors.restructurings(viewer=viewer, facility_id=facility.pk)[:20]),
        "request_form": request_form or panel["request_form"],
        "decision_form": decision_form or panel["decision_form"],
        "refusal": refusal,
        "facility_url": facility_page_url(facility.pk),
        "standalone": True,
    }
    return render(request, "servicing/classification_page.html", context, status=status)


@require_GET
@workspace_view
def facility_classification(request: HttpRequest, pk: int) -> HttpResponse:
    """A facility's classification: current category and stage, the floor, the whole history."""
    return _render_classification(request, _facility(acting_user(request), pk))


def _act(
    request: HttpRequest,
    facility: Facility,
    run: Callable[[], object],
    done: str,
    *,
    form_key: str,
    form: forms.Form,
) -> HttpResponse:
    """Run a service; success goes back to the facility (a redirect, so a reload does not post twice), a
    refusal shows the classification page again with the reason beside the fields and its status."""
    try:
        run()
    except errors.DomainError as exc:
        show_refusal(form, exc)
        forms_shown: dict[str, Any] = {form_key: form}
        return _render_classification(request, facility, status=exc.status, **forms_shown)
    messages.success(request, done)
    return redirect(facility_page_url(facility.pk))


@require_POST
@workspace_view
def classification_request(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    facility = _facility(user, pk)
    form = ClassificationRequestForm(request.POST)
    if not form.is_valid():
        return _render_classification(request, facility, status=400, request_form=form)
    data = form.cleaned_data
    return _act(
        request,
        facility,
        lambda: classification_services.request_classification(
            actor=user,
            facility_id=facility.pk,
            category=data["category"],
            stage=data["stage"],
            reason=data["reason"],
        ),
        _("Classification proposed; someone else decides."),
        form_key="request_form",
        form=form,
    )


@require_POST
@workspace_view
def classification_decide(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    found = selectors.classification_request(viewer=user, request_id=pk)
    facility = _facility(user, found.facility_id)
    form = FourEyesDecisionForm(request.POST)
    if not form.is_valid():
        return _render_classification(request, facility, status=400, decision_form=form)
    approve = form.cleaned_data["decision"] == "approve"
    return _act(
        request,
        facility,
        lambda: classification_services.decide_classification_request(
            actor=user, request_id=found.pk, approve=approve, note=form.cleaned_data["note"]
        ),
        _("Classification changed.") if approve else _("Request rejected."),
        form_key="decision_form",
        form=form,
    )


@require_POST
@workspace_view
def classification_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    found = selectors.classification_request(viewer=user, request_id=pk)
    facility = _facility(user, found.facility_id)
    form = FourEyesDecisionForm()
    return _act(
        request,
        facility,
        lambda: classification_services.withdraw_classification_request(actor=user, request_id=found.pk),
        _("Request withdrawn."),
        form_key="decision_form",
        form=form,
    )


# --- restructuring ----------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@workspace_view
def restructuring_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask to restructure a facility: the new terms (blank ones stay), the date they apply from, why."""
    user = acting_user(request)
    facility = _facility(user, pk)
    form = RestructuringForm(request.POST or None, initial={"effective_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            row = restructuring_services.request_restructuring(
                actor=user,
                facility_id=facility.pk,
                kind=data["kind"],
                terms=form.terms(),
                reason=data["reason"],
                effective_on=data["effective_on"],
            )
        except errors.DomainError as exc:
            show_refusal(form, exc, RESTRUCTURING_ALIASES)
            return _render_restructuring_form(request, facility, form, exc.status)
        messages.success(request, _("Restructuring requested; someone else approves it."))
        return redirect("ui:restructuring-detail", pk=row.pk)
    return _render_restructuring_form(request, facility, form, form_status(form))


def _render_restructuring_form(
    request: HttpRequest, facility: Facility, form: RestructuringForm, status: int
) -> HttpResponse:
    context = {"facility": facility, "form": form, "facility_url": facility_page_url(facility.pk)}
    return render(request, "servicing/restructuring_form.html", context, status=status)


def _term_label(key: str) -> str:
    """A term named as the restructuring form names it."""
    field = RestructuringForm.base_fields.get(key)
    return str(field.label) if field is not None and field.label else key


def _render_restructuring(
    request: HttpRequest, pk: int, *, status: int = 200, form: FourEyesDecisionForm | None = None
) -> HttpResponse:
    user = acting_user(request)
    row = selectors.restructuring(viewer=user, restructuring_id=pk)
    keys = list(dict.fromkeys([*row.previous_terms, *row.terms]))
    context = {
        "row": row,
        "facility": row.facility,
        "facility_url": facility_page_url(row.facility_id),
        "changes": [(_term_label(key), row.previous_terms.get(key), row.terms.get(key)) for key in keys],
        "form": form or FourEyesDecisionForm(),
        "may_decide": row.status == RequestStatus.PENDING
        and _has(user, OVERSIGHT_APPROVER_ROLES)
        and row.requested_by_id != user.pk,
    }
    return render(request, "servicing/restructuring_detail.html", context, status=status)


@require_GET
@workspace_view
def restructuring_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_restructuring(request, pk)


@require_POST
@workspace_view
def restructuring_decide(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    row = selectors.restructuring(viewer=user, restructuring_id=pk)
    form = FourEyesDecisionForm(request.POST)
    if not form.is_valid():
        return _render_restructuring(request, row.pk, status=400, form=form)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        restructuring_services.decide_restructuring(
            actor=user, restructuring_id=row.pk, approve=approve, note=form.cleaned_data["note"]
        )
    except errors.DomainError as exc:
        show_refusal(form, exc)
        return _render_restructuring(request, row.pk, status=exc.status, form=form)
    messages.success(
        request, _("Restructuring approved: new terms and schedule.") if approve else _("Rejected.")
    )
    return redirect("ui:restructuring-detail", pk=row.pk)


# --- the approver's queue ---------------------------------------------------------------------------
@require_GET
@workspace_view
def classification_queue(request: HttpRequest) -> HttpResponse:
    """Classification requests and restructurings waiting for someone other than their requester."""
    user = acting_user(request)
    requests, changes = selectors.pending_for_approver(viewer=user)
    context = {
        "section": "classification_queue",
        "requests": requests,
        "restructurings": changes,
        "may_decide": _has(user, OVERSIGHT_APPROVER_ROLES),
    }
    return render(request, "servicing/classification_queue.html", context)


urlpatterns = [
    path("facilities/<int:pk>/classification/", facility_classification, name="facility-classification"),
    path(
        "facilities/<int:pk>/classification/request/",
        classification_request,
        name="classification-request",
    ),
    path(
        "classification-requests/<int:pk>/decide/",
        classification_decide,
        name="classification-decide",
    ),
    path(
        "classification-requests/<int:pk>/withdraw/",
        classification_withdraw,
        name="classification-withdraw",
    ),
    path("facilities/<int:pk>/restructure/", restructuring_new, name="restructuring-new"),
    path("restructurings/<int:pk>/", restructuring_detail, name="restructuring-detail"),
    path("restructurings/<int:pk>/decide/", restructuring_decide, name="restructuring-decide"),
    path("classification-queue/", classification_queue, name="classification-queue"),
]
