"""The credit memo page: the borrower's statements on the standard chart with their ratios, the rating on
the master scale with expected loss per facility, the narrative, revisions, and completing the memo; and
the revisions page, which reads back what the memo said at any version (a decision's basis)."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lendcrm.core import errors
from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.origination import figures, ratios, selectors, services
from lendcrm.origination.forms import MemoForm, StatementForm, refuse
from lendcrm.origination.models import Application, FinancialStatement, MemoRevision, RiskGrade
from lendcrm.origination.services.memo import MEMO_SECTIONS, MEMO_STATUSES
from lendcrm.origination.views import posted_version, refusal_status, refusal_text
from lendcrm.pipeline.models import Product
from lendcrm.web.pages import Edit, acting_user, save_edit, workspace_view

SECTIONS = [
    (code, label, [line for line in ratios.LINES if line.section == code])
    for code, label in ratios.Section.choices
]
LINE_CHOICES = [(line.code, line.label) for line in ratios.LINES]


def may_write_memo(user: User, application: Application) -> bool:
    """What the page offers to edit; the services decide (a credit analyst who is not the maker)."""
    return (
        user.has_role(Role.CREDIT_ANALYST)
        and user.pk != application.owner_id
        and application.status in MEMO_STATUSES
    )


def memo_values(memo: Any) -> dict[str, Any]:
    """The memo form's values for a memo (or none yet)."""
    if memo is None:
        return {"version": 0}
    values = {name: getattr(memo, name) for name in (*MEMO_SECTIONS, "grade_rationale")}
    return {**values, "risk_grade": memo.risk_grade_id, "version": memo.version}


def statement_values(statement: FinancialStatement) -> dict[str, Any]:
    values: dict[str, Any] = {
        "period_end": statement.period_end,
        "period_months": statement.period_months,
        "kind": statement.kind,
        "currency": statement.currency,
    }
    for line in statement.lines.all():
        values[f"line_{line.code}"] = line.amount
    return values


def _statement_columns(user: User, application: Application) -> list[dict[str, Any]]:
    """The borrower's latest periods, oldest on the left, each with its lines by code; two queries."""
    statements = list(
        selectors.statement_list(viewer=user, party_id=application.borrower_id)[: figures.MEMO_PERIODS]
    )
    statements.reverse()
    return [{"statement": s, "lines": {line.code: line.amount for line in s.lines.all()}} for s in statements]


def memo_context(request: HttpRequest, pk: object, **bound: Any) -> dict[str, Any]:
    user = acting_user(request)
    application = selectors.get_application(viewer=user, application_id=pk)
    memo = selectors.application_memo(application)
    grade = memo.risk_grade if memo is not None else None
    columns = _statement_columns(user, application)
    chosen = bound.get("statement_form")
    if chosen is None:
        chosen = StatementForm(lines=LINE_CHOICES, initial=_statement_initial(request, columns))
    period_ratios = figures.party_ratios(application.borrower_id)
    period_ratios.reverse()
    revisions = (
        list(MemoRevision.objects.filter(memo=memo).select_related("saved_by").order_by("-version"))
        if memo is not None
        else []
    )
    return {
        "section": "applications",
        "application": application,
        "borrower": application.borrower,
        "memo": memo,
        "may_write": may_write_memo(user, application),
        "sections": SECTIONS,
        "columns": columns,
        "ratio_rows": ratios.RATIOS,
        "period_ratios": period_ratios,
        "grades": list(RiskGrade.objects.order_by("grade")),
        "losses": figures.expected_losses(list(application.facilities.all()), grade.pd if grade else None),
        "facilities": {f.pk: f for f in application.facilities.all()},
        "revisions": revisions,
        "statement_form": chosen,
        "memo_form": bound.get("memo_form") or MemoForm(initial=memo_values(memo)),
        "stale": bound.get("stale"),
        "refusal": bound.get("refusal", ""),
    }


def _statement_initial(request: HttpRequest, columns: list[dict[str, Any]]) -> dict[str, Any]:
    """`?statement=<id>` opens one of the shown periods for correction; otherwise a blank period."""
    raw = request.GET.get("statement", "")
    for column in columns:
        if str(column["statement"].pk) == raw:
            return statement_values(column["statement"])
    return {"period_months": 12, "currency": "CNY"}


def render_memo(request: HttpRequest, pk: object, *, status: int = 200, **bound: Any) -> HttpResponse:
    return render(request, "origination/memo.html", memo_context(request, pk, **bound), status=status)


@require_http_methods(["GET", "POST"])
@workspace_view
def memo_page(request: HttpRequest, pk: int) -> HttpResponse:
    """GET shows the memo to anyone who may see the application; POST saves the narrative and grade."""
    if request.method == "GET":
        return render_memo(request, pk)
    user = acting_user(request)
    application = selectors.get_application(viewer=user, application_id=pk)
    form = MemoForm(request.POST)
    edit = Edit(form)
    refused: list[errors.DomainError] = []
    if form.is_valid():
        data = form.cleaned_data
        grade = data["risk_grade"]
        changes = {name: data[name] for name in (*MEMO_SECTIONS, "grade_rationale")}
        changes["risk_grade"] = grade.grade if grade is not None else None

        def save() -> None:
            try:
                services.save_memo(
                    actor=user,
                    application_id=application.pk,
                    changes=changes,
                    expected_version=data["version"] or None,
                )
            except errors.DomainError as exc:
                refused.append(exc)
                raise

        edit = save_edit(
            form,
            save,
            lambda: memo_values(
                selectors.application_memo(selectors.get_application(viewer=user, application_id=pk))
            ),
        )
        if edit.saved:
            messages.success(request, _("The memo was saved."))
            return redirect("ui:memo", pk=application.pk)
    status = edit.status if edit.stale is not None or not refused else refused[0].status
    return render_memo(request, pk, status=status, memo_form=edit.form, stale=edit.stale)


@require_POST
@workspace_view
def statement_save(request: HttpRequest, pk: int) -> HttpResponse:
    """Enter (or replace) one period of the borrower's statements."""
    user = acting_user(request)
    application = selectors.get_application(viewer=user, application_id=pk)
    form = StatementForm(request.POST, lines=LINE_CHOICES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.save_statement(
                actor=user,
                party_id=application.borrower_id,
                period_end=data["period_end"],
                period_months=data["period_months"],
                kind=data["kind"],
                currency=data["currency"],
                lines=form.amounts(),
            )
        except errors.DomainError as exc:
            refuse(form, exc, {f"lines.{code}": f"line_{code}" for code in form.line_codes})
            return render_memo(request, pk, status=refusal_status(exc), statement_form=form)
        messages.success(request, _("The statements for %(day)s were saved.") % {"day": data["period_end"]})
        return redirect("ui:memo", pk=application.pk)
    return render_memo(request, pk, status=400, statement_form=form)


@require_POST
@workspace_view
def memo_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the memo ready for decision (it needs a grade and a recommendation)."""
    user = acting_user(request)
    application = selectors.get_application(viewer=user, application_id=pk)
    try:
        services.complete_memo(
            actor=user, application_id=application.pk, expected_version=posted_version(request)
        )
    except errors.DomainError as exc:
        return render_memo(request, pk, status=refusal_status(exc), refusal=_with_fields(exc))
    messages.success(request, _("The memo is complete and can go for decision."))
    return redirect("ui:memo", pk=application.pk)


def _with_fields(exc: errors.DomainError) -> str:
    """A refusal and what it names (a missing grade, a missing recommendation) as one message."""
    if isinstance(exc, errors.PreconditionFailed):
        return refusal_text(exc)
    return " ".join([exc.detail, *[m for problems in exc.field_errors.values() for m in problems]])


# --- revisions: what the memo said at each version ------------------------------------------------
def _decimal(value: object) -> Decimal | None:
    """A number kept as text in a revision (None stays None; anything else unreadable shows as none)."""
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _revision_view(content: dict[str, Any]) -> dict[str, Any]:
    """A revision's content typed again for display: the sections with their labels, the grade, the
    ratios per period (oldest on the left, as on the memo page) and expected loss per facility; one query
    for the products it names."""
    labels = {name: field.label for name, field in MemoForm.base_fields.items()}
    periods = [
        {
            "period_end": parse_date(str(p.get("period_end", ""))),
            "kind": p.get("kind", ""),
            "currency": p.get("currency", ""),
            "ratios": {code: _decimal(value) for code, value in (p.get("ratios") or {}).items()},
        }
        for p in reversed(content.get("ratios") or [])
    ]
    losses = content.get("expected_loss") or {}
    rows = losses.get("facilities") or []
    products = {x.code: x for x in Product.objects.filter(code__in=[r.get("product") for r in rows])}
    facilities = [
        {
            "product": products.get(r.get("product")),
            "currency": r.get("currency", ""),
            **{name: _decimal(r.get(name)) for name in ("ead", "lgd", "pd", "expected_loss")},
        }
        for r in rows
    ]
    completed = content.get("completed_at")
    return {
        "sections": [(labels[name], content.get(name) or "") for name in ("grade_rationale", *MEMO_SECTIONS)],
        "risk_grade": content.get("risk_grade"),
        "pd": _decimal(content.get("pd")),
        "completed_at": parse_datetime(completed) if isinstance(completed, str) else None,
        "periods": periods,
        "facilities": facilities,
        "total_base": _decimal(losses.get("total_base")),
        "base_currency": losses.get("base_currency", ""),
    }


@require_GET
@workspace_view
def memo_revisions(request: HttpRequest, pk: int) -> HttpResponse:
    """Every version the memo was saved at, with the decisions that rest on each, and one of them
    (`?version=N`, the latest by default) read back as it was, read-only."""
    user = acting_user(request)
    application = selectors.get_application(viewer=user, application_id=pk)
    raw = request.GET.get("version", "")
    if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 9 and int(raw) > 0):
        return HttpResponse(_("The version must be a whole number."), status=400, content_type="text/plain")
    revisions = list(selectors.memo_revisions(application))
    chosen = None
    if raw:
        chosen = selectors.get_memo_revision(application, int(raw))
    elif revisions:
        chosen = selectors.get_memo_revision(application, revisions[0].version)
    basis: dict[int, list[Any]] = {}
    for decision in selectors.decision_list(application):
        basis.setdefault(decision.memo_version, []).append(decision)
    shown = _revision_view(chosen.content) if chosen is not None else None
    grade = None
    if shown is not None and shown["risk_grade"] is not None:
        grade = RiskGrade.objects.filter(grade=shown["risk_grade"]).first()
    context = {
        "section": "applications",
        "application": application,
        "borrower": application.borrower,
        "revisions": [(r, basis.get(r.version, [])) for r in revisions],
        "chosen": chosen,
        "shown": shown,
        "grade": grade,
        "chosen_basis": basis.get(chosen.version, []) if chosen is not None else [],
        "ratio_rows": ratios.RATIOS,
    }
    return render(request, "origination/memo_revisions.html", context)
