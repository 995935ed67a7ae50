"""Workspace pages of the covenants area: a facility's covenants with their test history (add, attest,
ask for and decide waivers), a party's statements entered in monitoring with their ratios, and projects
with their cash-flow table and ratios at a date."""

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from lendcrm.core import errors
from lendcrm.core.models import User
from lendcrm.core.roles import MONITORING_ROLES, OVERSIGHT_APPROVER_ROLES
from lendcrm.monitoring import covenant_selectors as sel
from lendcrm.monitoring.covenant_metrics import STATEMENT_DOCUMENTS
from lendcrm.monitoring.models import (
    Bound,
    CovenantKind,
    CovenantMetric,
    Project,
    ProjectCashFlow,
    ReportingDocument,
    TestStatus,
)
from lendcrm.monitoring.services import covenants, projects
from lendcrm.monitoring.services.covenants import DETAILS
from lendcrm.monitoring.services.projects import FLOW_LINES
from lendcrm.monitoring.services.statements import submit_statement
from lendcrm.origination import figures, ratios
from lendcrm.origination.forms import StatementForm, refuse
from lendcrm.origination.selectors import statement_list
from lendcrm.parties.forms import BLANK
from lendcrm.parties.selectors import visible_parties
from lendcrm.web.forms import DateInput
from lendcrm.web.pages import acting_user, page_of, workspace_view
from lendcrm.web.templatetags.workspace import decimal_text

TONE: dict[str, str] = {
    TestStatus.PASS: "ok",
    TestStatus.WAIVED: "warn",
    TestStatus.WAIVER_REQUESTED: "warn",
    TestStatus.BREACH: "bad",
    TestStatus.NOT_DUE: "",
}
LINE_CHOICES = [(line.code, line.label) for line in ratios.LINES]
SECTIONS = [
    (code, label, [line for line in ratios.LINES if line.section == code])
    for code, label in ratios.Section.choices
]
STATEMENT_PERIODS = 8
AMOUNT_METRICS = frozenset({"capex", "net_worth"})
FLOW_FIELDS = ("period_end", *FLOW_LINES, "principal", "interest", "is_actual")
EXTRA_ROWS = 4


def times(value: Decimal | None, metric: str = "") -> str:
    """A ratio as a multiple rounded half-up to two places (1.1997 -> 1.20x), an amount (capex, net
    worth) as money; a dash when there is none."""
    if value is None:
        return "\u2014"
    text = decimal_text(value, 2)
    return text if metric in AMOUNT_METRICS else f"{text}\u00d7"


def is_monitor(user: User) -> bool:
    return user.has_role(*MONITORING_ROLES)


def _refusal_status(exc: errors.DomainError) -> int:
    return 409 if isinstance(exc, errors.PreconditionFailed) else exc.status


def _url_or_none(name: str, *args: Any) -> str | None:
    """A link to another area's page, when that area has it."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


# --- forms ----------------------------------------------------------------------------------------
class CovenantForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=CovenantKind.choices)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    metric = forms.ChoiceField(
        label=gettext_lazy("Measure"), choices=BLANK + CovenantMetric.choices, required=False
    )
    bound = forms.ChoiceField(label=gettext_lazy("Bound"), choices=BLANK + Bound.choices, required=False)
    threshold = forms.DecimalField(
        label=gettext_lazy("Threshold"), max_digits=21, decimal_places=4, required=False
    )
    document = forms.ChoiceField(
        label=gettext_lazy("Document"), choices=BLANK + ReportingDocument.choices, required=False
    )
    frequency_months = forms.TypedChoiceField(
        label=gettext_lazy("Tested every"),
        coerce=int,
        choices=[
            (1, gettext_lazy("month")),
            (3, gettext_lazy("quarter")),
            (6, gettext_lazy("half year")),
            (12, gettext_lazy("year")),
        ],
        initial=12,
    )
    first_test_date = forms.DateField(label=gettext_lazy("First test (period end)"), widget=DateInput())
    due_days = forms.IntegerField(
        label=gettext_lazy("Days allowed after the period end"), min_value=0, max_value=366, initial=0
    )
    description = forms.CharField(
        label=gettext_lazy("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class AttestForm(forms.Form):
    period_end = forms.DateField(label=gettext_lazy("Period end"), widget=DateInput())
    complied = forms.TypedChoiceField(
        label=gettext_lazy("Outcome"),
        coerce=lambda value: value == "yes",
        choices=[
            ("yes", gettext_lazy("Received / complied with")),
            ("no", gettext_lazy("Not complied with")),
        ],
    )
    attested_on = forms.DateField(label=gettext_lazy("On"), widget=DateInput(), required=False)


class WaiverForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class WaiverDecisionForm(forms.Form):
    approve = forms.TypedChoiceField(
        label=gettext_lazy("Decision"),
        coerce=lambda value: value == "approve",
        choices=[("approve", gettext_lazy("Waive")), ("refuse", gettext_lazy("Refuse"))],
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ProjectForm(forms.Form):
    party = forms.IntegerField(label=gettext_lazy("Project company (party id)"), min_value=1)
    facility = forms.IntegerField(label=gettext_lazy("Facility (id)"), min_value=1, required=False)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3, required=False)
    discount_rate_pct = forms.DecimalField(
        label=gettext_lazy("Discount rate %"), max_digits=9, decimal_places=5, required=False
    )
    lockup_dscr = forms.DecimalField(
        label=gettext_lazy("Lock-up DSCR"), max_digits=8, decimal_places=4, required=False
    )
    default_dscr = forms.DecimalField(
        label=gettext_lazy("Default DSCR"), max_digits=8, decimal_places=4, required=False
    )


class CashFlowRowForm(forms.Form):
    period_end = forms.DateField(label=gettext_lazy("Period end"), widget=DateInput(), required=False)
    revenue = forms.DecimalField(
        label=gettext_lazy("Revenue"), max_digits=20, decimal_places=2, required=False
    )
    operating_costs = forms.DecimalField(
        label=gettext_lazy("Operating costs"), max_digits=20, decimal_places=2, required=False
    )
    tax = forms.DecimalField(label=gettext_lazy("Tax"), max_digits=20, decimal_places=2, required=False)
    maintenance_capex = forms.DecimalField(
        label=gettext_lazy("Maintenance capex"), max_digits=20, decimal_places=2, required=False
    )
    working_capital_change = forms.DecimalField(
        label=gettext_lazy("Change in working capital"), max_digits=20, decimal_places=2, required=False
    )
    reserve_movement = forms.DecimalField(
        label=gettext_lazy("Reserve movements"), max_digits=20, decimal_places=2, required=False
    )
    principal = forms.DecimalField(
        label=gettext_lazy("Principal"), max_digits=20, decimal_places=2, required=False
    )
    interest = forms.DecimalField(
        label=gettext_lazy("Interest"), max_digits=20, decimal_places=2, required=False
    )
    is_actual = forms.BooleanField(label=gettext_lazy("Actual"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # a table cell has no label of its own
            field.widget.attrs["aria-label"] = str(field.label)

    def row(self) -> dict[str, Any] | None:
        """The period as the service takes it; None for a row left blank."""
        data = self.cleaned_data
        if not data or data.get("period_end") is None:
            return None
        amounts = {name: data.get(name) or Decimal(0) for name in (*FLOW_LINES, "principal", "interest")}
        return {"period_end": data["period_end"], **amounts, "is_actual": bool(data.get("is_actual"))}


CashFlowFormSet = forms.formset_factory(CashFlowRowForm, extra=0, max_num=600, absolute_max=600)


# --- a facility's covenants -----------------------------------------------------------------------
def _covenant_context(request: HttpRequest, pk: object, **bound: Any) -> dict[str, Any]:
    user = acting_user(request)
    facility, items = sel.facility_covenants(viewer=user, facility_id=pk)
    approver = user.has_role(*OVERSIGHT_APPROVER_ROLES)
    rows = []
    for covenant in items:
        tests = list(covenant.tests.all())
        for test in tests:
            test.tone = TONE.get(test.status, "")  # type: ignore[attr-defined]
            test.detail_text = DETAILS.get(test.detail, test.detail)  # type: ignore[attr-defined]
            test.value_text = times(test.value, covenant.metric)  # type: ignore[attr-defined]
            test.threshold_text = times(test.threshold, covenant.metric)  # type: ignore[attr-defined]
            test.may_decide = (  # type: ignore[attr-defined]
                approver
                and test.status == TestStatus.WAIVER_REQUESTED
                and test.waiver_requested_by_id != user.pk
            )
        attested = covenant.kind == CovenantKind.UNDERTAKING or (
            covenant.kind == CovenantKind.REPORTING and covenant.document not in STATEMENT_DOCUMENTS
        )
        threshold = times(covenant.threshold, covenant.metric)
        rows.append({"covenant": covenant, "tests": tests, "attested": attested, "threshold": threshold})
    return {
        "section": "portfolio",
        "facility": facility,
        "facility_url": _url_or_none("ui:facility-detail", facility.pk),
        "rows": rows,
        "projects": sel.facility_projects(facility),
        "may_keep": is_monitor(user),
        "form": bound.get("form") or CovenantForm(),
        "refusal": bound.get("refusal", ""),
        "today": timezone.localdate(),
    }


def _render_covenants(request: HttpRequest, pk: object, *, status: int = 200, **bound: Any) -> HttpResponse:
    return render(
        request, "monitoring/covenants.html", _covenant_context(request, pk, **bound), status=status
    )


@require_http_methods(["GET"])
@workspace_view
def facility_covenants(request: HttpRequest, pk: int) -> HttpResponse:
    """The facility's covenants and their test history, with the forms the reader's role allows."""
    return _render_covenants(request, pk)


@require_POST
@workspace_view
def covenant_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    facility = sel.visible_facility(viewer=user, facility_id=pk)
    form = CovenantForm(request.POST)
    if not form.is_valid():
        return _render_covenants(request, pk, status=400, form=form)
    data = form.cleaned_data
    try:
        covenants.add_covenant(
            actor=user,
            facility_id=facility.pk,
            kind=data["kind"],
            name=data["name"],
            metric=data["metric"],
            bound=data["bound"],
            threshold=data["threshold"],
            document=data["document"],
            frequency_months=data["frequency_months"],
            first_test_date=data["first_test_date"],
            due_days=data["due_days"],
            description=data["description"],
        )
    except errors.DomainError as exc:
        refuse(form, exc)
        return _render_covenants(request, pk, status=_refusal_status(exc), form=form)
    messages.success(request, _("The covenant was added and tested."))
    return redirect("ui:facility-covenants", pk=facility.pk)


def _covenant_action(
    request: HttpRequest, facility_id: int, form: forms.Form, act: Any, done: str
) -> HttpResponse:
    """Run a test action from a small form; a refusal shows on top of the page."""
    if not form.is_valid():
        problems = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        return _render_covenants(request, facility_id, status=400, refusal=problems)
    try:
        act(form.cleaned_data)
    except errors.DomainError as exc:
        if isinstance(exc, errors.NotFound | errors.PermissionDenied):
            raise
        detail = "; ".join(m for msgs in exc.field_errors.values() for m in msgs) or exc.detail
        return _render_covenants(request, facility_id, status=_refusal_status(exc), refusal=detail)
    messages.success(request, done)
    return redirect("ui:facility-covenants", pk=facility_id)


@require_POST
@workspace_view
def covenant_attest(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    covenant = sel.get_covenant(viewer=user, covenant_id=pk)
    return _covenant_action(
        request,
        covenant.facility_id,
        AttestForm(request.POST, prefix=f"attest-{covenant.pk}"),
        lambda data: covenants.attest(
            actor=user,
            covenant_id=covenant.pk,
            period_end=data["period_end"],
            complied=data["complied"],
            attested_on=data["attested_on"],
        ),
        _("The attestation was recorded."),
    )


@require_POST
@workspace_view
def waiver_request(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    test = sel.get_covenant_test(viewer=user, test_id=pk)
    return _covenant_action(
        request,
        test.covenant.facility_id,
        WaiverForm(request.POST, prefix=f"waiver-{test.pk}"),
        lambda data: covenants.request_waiver(actor=user, test_id=test.pk, reason=data["reason"]),
        _("The waiver was asked for; another person decides."),
    )


@require_POST
@workspace_view
def waiver_decide(request: HttpRequest, pk: int) -> HttpResponse:
    user = acting_user(request)
    test = sel.get_covenant_test(viewer=user, test_id=pk)
    return _covenant_action(
        request,
        test.covenant.facility_id,
        WaiverDecisionForm(request.POST, prefix=f"decide-{test.pk}"),
        lambda data: covenants.decide_waiver(
            actor=user, test_id=test.pk, approve=data["approve"], note=data["note"]
        ),
        _("The waiver was decided."),
    )


# --- a party's statements in monitoring -----------------------------------------------------------
def _statement_context(request: HttpRequest, pk: object, form: StatementForm | None) -> dict[str, Any]:
    user = acting_user(request)
    party = visible_parties(viewer=user).filter(pk=int(str(pk))).first()
    if party is None:
        raise errors.NotFound()
    statements = list(statement_list(viewer=user, party_id=party.pk)[:STATEMENT_PERIODS])
    statements.reverse()
    columns = [
        {"statement": s, "lines": {line.code: line.amount for line in s.lines.all()}} for s in statements
    ]
    period_ratios = figures.party_ratios(party.pk)
    period_ratios.reverse()
    tests = sel.party_tests(viewer=user, party_id=party.pk)
    for test in tests:
        test.tone = TONE.get(test.status, "")  # type: ignore[attr-defined]
        test.detail_text = DETAILS.get(test.detail, test.detail)  # type: ignore[attr-defined]
        test.value_text = times(test.value, test.covenant.metric)  # type: ignore[attr-defined]
    return {
        "section": "portfolio",
        "party": party,
        "columns": columns,
        "sections": SECTIONS,
        "ratio_rows": ratios.RATIOS,
        "period_ratios": period_ratios,
        "tests": tests,
        "may_enter": is_monitor(user),
        "statement_form": form
        or StatementForm(lines=LINE_CHOICES, initial={"period_months": 12, "currency": "CNY"}),
    }


@require_http_methods(["GET", "POST"])
@workspace_view
def party_statements(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the party's statements over periods with their ratios and covenant tests; POST: a monitoring
    officer submits a period (its covenants are tested at once)."""
    if request.method == "GET":
        return render(request, "monitoring/statements.html", _statement_context(request, pk, None))
    user = acting_user(request)
    context = _statement_context(request, pk, None)  # 404 before anything is read from the form
    form = StatementForm(request.POST, lines=LINE_CHOICES)
    if not form.is_valid():
        context["statement_form"] = form
        return render(request, "monitoring/statements.html", context, status=400)
    data = form.cleaned_data
    try:
        submitted = submit_statement(
            actor=user,
            party_id=context["party"].pk,
            period_end=data["period_end"],
            period_months=data["period_months"],
            kind=data["kind"],
            currency=data["currency"],
            lines=form.amounts(),
        )
    except errors.DomainError as exc:
        if isinstance(exc, errors.NotFound | errors.PermissionDenied):
            raise
        refuse(form, exc, {f"lines.{code}": f"line_{code}" for code in form.line_codes})
        context["statement_form"] = form
        return render(request, "monitoring/statements.html", context, status=_refusal_status(exc))
    messages.success(
        request,
        _("The statements for %(day)s were saved; %(n)d covenant tests changed.")
        % {"day": data["period_end"], "n": submitted.tests_changed},
    )
    return redirect("ui:party-statements", pk=context["party"].pk)


# --- projects -------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@workspace_view
def project_list(request: HttpRequest) -> HttpResponse:
    """Projects the reader may see; a monitoring officer creates one here."""
    user = acting_user(request)
    # `?party=&facility=` (the facility's covenant page links here) fills the new project's form.
    initial = {
        name: request.GET[name] for name in ("party", "facility") if request.GET.get(name, "").isdigit()
    }
    form = ProjectForm(initial=initial)
    status = 200
    if request.method == "POST":
        form = ProjectForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                project = projects.create_project(
                    actor=user,
                    party_id=data["party"],
                    facility_id=data["facility"],
                    name=data["name"],
                    currency=data["currency"] or None,
                    discount_rate_pct=data["discount_rate_pct"],
                    lockup_dscr=data["lockup_dscr"],
                    default_dscr=data["default_dscr"],
                )
            except errors.DomainError as exc:
                if isinstance(exc, errors.PermissionDenied):
                    raise
                refuse(form, exc, {"party_id": "party", "facility_id": "facility"})
                status = _refusal_status(exc)
            else:
                messages.success(request, _("The project was created; enter its cash flows."))
                return redirect("ui:project-detail", pk=project.pk)
        else:
            status = 400
    page = page_of(request, sel.project_list(viewer=user).order_by("name", "id"))
    context = {"section": "portfolio", "page": page, "form": form, "may_create": is_monitor(user)}
    return render(request, "monitoring/project_list.html", context, status=status)


def _at(request: HttpRequest) -> tuple[date, str]:
    raw = request.GET.get("at", "")
    try:
        return (date.fromisoformat(raw), "") if raw else (timezone.localdate(), "")
    except ValueError:
        return timezone.localdate(), _("Give the date as YYYY-MM-DD; today is shown.")


def _row_initial(row: ProjectCashFlow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in FLOW_FIELDS}


def _project_context(
    request: HttpRequest, project: Project, formset: Any = None, refusal: str = ""
) -> dict[str, Any]:
    rows = sel.cash_flows(project)
    at, at_problem = _at(request)
    result = sel.ratios_of(project, rows, at)
    dscr_of = {p.period_end: p.dscr for p in result.periods}
    if formset is None:
        initial = [_row_initial(r) for r in rows] + [{} for _n in range(EXTRA_ROWS)]
        formset = CashFlowFormSet(initial=initial, prefix="cf")
    shown = {
        name: times(getattr(result, name)) for name in ("min_dscr", "avg_dscr", "llcr", "plcr", "tested_dscr")
    }
    return {
        "section": "portfolio",
        "project": project,
        "rows": [{"row": r, "dscr": times(dscr_of.get(r.period_end))} for r in rows],
        "ratios": result,
        "shown": shown,
        "lockup_text": times(project.lockup_dscr),
        "default_text": times(project.default_dscr),
        "at": at,
        "at_problem": at_problem,
        "formset": formset,
        "flow_fields": FLOW_FIELDS,
        "flow_labels": [CashFlowRowForm.base_fields[name].label for name in FLOW_FIELDS],
        "may_edit": is_monitor(acting_user(request)),
        "refusal": refusal,
        "facility_url": _url_or_none("ui:facility-detail", project.facility_id)
        if project.facility_id
        else None,
    }


@require_http_methods(["GET"])
@workspace_view
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The cash-flow table with DSCR per period, and min/avg DSCR, LLCR, PLCR, lock-up at a date."""
    project = sel.get_project(viewer=acting_user(request), project_id=pk)
    return render(request, "monitoring/project_detail.html", _project_context(request, project))


@require_POST
@workspace_view
def project_cash_flows(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the edited projection (rows left without a period end are dropped)."""
    user = acting_user(request)
    project = sel.get_project(viewer=user, project_id=pk)
    formset = CashFlowFormSet(request.POST, prefix="cf")
    if not formset.is_valid():
        return render(
            request, "monitoring/project_detail.html", _project_context(request, project, formset), status=400
        )
    rows = [r for r in (form.row() for form in formset.forms) if r is not None]
    version = request.POST.get("version", "")
    try:
        projects.save_cash_flows(
            actor=user,
            project_id=project.pk,
            rows=rows,
            expected_version=int(version) if version.isdigit() else None,
        )
    except errors.DomainError as exc:
        if isinstance(exc, errors.NotFound | errors.PermissionDenied):
            raise
        if isinstance(exc, errors.PreconditionFailed):
            detail = _("Someone changed this projection since you opened the page; nothing was saved.")
            project = sel.get_project(viewer=user, project_id=pk)
            return render(
                request,
                "monitoring/project_detail.html",
                _project_context(request, project, None, detail),
                status=409,
            )
        detail = "; ".join(f"{k}: {m}" for k, msgs in exc.field_errors.items() for m in msgs) or exc.detail
        context = _project_context(request, project, formset, detail)
        return render(request, "monitoring/project_detail.html", context, status=_refusal_status(exc))
    messages.success(request, _("The cash flows were saved and the project's covenants tested."))
    return redirect("ui:project-detail", pk=project.pk)


urlpatterns = [
    path("facilities/<int:pk>/covenants/", facility_covenants, name="facility-covenants"),
    path("facilities/<int:pk>/covenants/new/", covenant_add, name="covenant-add"),
    path("covenants/<int:pk>/attest/", covenant_attest, name="covenant-attest"),
    path("covenant-tests/<int:pk>/waiver/", waiver_request, name="covenant-waiver"),
    path("covenant-tests/<int:pk>/waiver/decision/", waiver_decide, name="covenant-waiver-decision"),
    path("parties/<int:pk>/statements/", party_statements, name="party-statements"),
    path("projects/", project_list, name="project-list"),
    path("projects/<int:pk>/", project_detail, name="project-detail"),
    path("projects/<int:pk>/cash-flows/", project_cash_flows, name="project-cash-flows"),
]
