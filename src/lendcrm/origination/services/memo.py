"""Financial statements on the standard chart of lines, and the credit memo with its revisions."""

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import audit, errors
from lendcrm.core.access import require_customer_writer
from lendcrm.core.concurrency import check_version
from lendcrm.core.fields import row_id
from lendcrm.core.models import User
from lendcrm.core.money import CURRENCIES, MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.core.roles import MONITORING_ROLES
from lendcrm.origination import figures
from lendcrm.origination.models import (
    Application,
    CreditMemo,
    FinancialLine,
    FinancialStatement,
    MemoRevision,
    RiskGrade,
    StatementKind,
    Status,
)
from lendcrm.origination.ratios import LINE_CODES
from lendcrm.origination.selectors import visible_statements
from lendcrm.origination.services.applications import lock_application, require_analyst
from lendcrm.origination.terms import Problems
from lendcrm.parties.selectors import visible_parties

MEMO_SECTIONS = ("business", "industry", "financial_analysis", "security_analysis", "risks", "recommendation")
MEMO_FIELDS = frozenset({*MEMO_SECTIONS, "grade_rationale", "risk_grade"})
MAX_SECTION = 50_000
# The memo is written while the analyst reviews and analyses; from pending decision on it is the basis of
# the decision and stays as it is.
MEMO_STATUSES = frozenset({Status.IN_REVIEW, Status.CREDIT_ANALYSIS})


# --- financial statements -------------------------------------------------------------------------
def _places(amount: Decimal) -> int:
    exponent = amount.normalize().as_tuple().exponent
    return max(-exponent, 0) if isinstance(exponent, int) else 0


def _line_problems(lines: object) -> tuple[dict[str, Decimal], Problems]:
    if not isinstance(lines, Mapping) or not lines:
        return {}, {"lines": [_("Enter at least one line.")]}
    problems: Problems = {}
    clean: dict[str, Decimal] = {}
    for code, amount in lines.items():
        key = f"lines.{code}"
        if code not in LINE_CODES:
            problems[key] = [_("Unknown line of the standard chart.")]
        elif isinstance(amount, bool) or not isinstance(amount, Decimal) or not amount.is_finite():
            problems[key] = [_("A decimal number is required.")]
        elif amount != 0 and amount.adjusted() + 1 > MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES:
            problems[key] = [_("The number is too large.")]
        elif _places(amount) > MONEY_DECIMAL_PLACES:
            problems[key] = [_("At most %(n)d decimal places.") % {"n": MONEY_DECIMAL_PLACES}]
        else:
            clean[code] = amount
    return clean, problems


def save_statement(
    *,
    actor: User,
    party_id: int,
    period_end: date,
    period_months: int,
    kind: str,
    currency: str,
    lines: Mapping[str, Decimal],
) -> FinancialStatement:
    """Enter a party's statement for one period; entering the same period and kind again replaces its
    lines (and bumps its version)."""
    if not visible_parties(viewer=actor).filter(pk=party_id).exists():
        raise errors.NotFound()
    if not actor.has_role(*MONITORING_ROLES):  # monitoring officers enter statements after booking
        require_customer_writer(actor)
    clean, problems = _line_problems(lines)
    if not isinstance(period_end, date) or isinstance(period_end, datetime):
        problems["period_end"] = [_("A date is required.")]
    if isinstance(period_months, bool) or not isinstance(period_months, int) or not 1 <= period_months <= 12:
        problems["period_months"] = [_("Must be between %(low)d and %(high)d.") % {"low": 1, "high": 12}]
    if kind not in StatementKind.values:
        problems["kind"] = [_("Unknown kind of statement.")]
    if currency not in CURRENCIES:
        problems["currency"] = [_("Use one of: %(known)s.") % {"known": ", ".join(CURRENCIES)}]
    if problems:
        raise errors.ValidationFailed(field_errors=problems)
    with transaction.atomic():
        statement = (
            FinancialStatement.objects.select_for_update()
            .filter(party_id=party_id, period_end=period_end, kind=kind)
            .first()
        )
        action = "financial_statement.replaced"
        if statement is None:
            action = "financial_statement.entered"
            statement = FinancialStatement.objects.create(
                party_id=party_id,
                period_end=period_end,
                period_months=period_months,
                kind=kind,
                currency=currency,
                entered_by=actor,
            )
        else:
            statement.lines.all().delete()
            statement.period_months = period_months
            statement.currency = currency
            statement.entered_by = actor
            statement.version += 1
            statement.save()
        FinancialLine.objects.bulk_create(
            [
                FinancialLine(statement=statement, code=code, amount=amount)
                for code, amount in sorted(clean.items())
            ]
        )
        audit.record(
            actor=actor,
            action=action,
            object_type="financial_statement",
            object_id=statement.pk,
            party_id=party_id,
            changes={
                "after": {
                    **audit.snapshot(statement, ("period_end", "period_months", "kind", "currency")),
                    "lines": clean,
                }
            },
        )
    return statement


def delete_statement(*, actor: User, statement_id: object, expected_version: int | None = None) -> None:
    """Remove a statement entered in error."""
    with transaction.atomic():
        statement = (
            visible_statements(viewer=actor)
            .select_for_update(of=("self",))
            .filter(pk=row_id(statement_id))
            .first()
        )
        if statement is None:
            raise errors.NotFound()
        require_customer_writer(actor)
        check_version(statement, expected_version)
        before = audit.snapshot(statement, ("period_end", "period_months", "kind", "currency"))
        party_id, pk = statement.party_id, statement.pk
        statement.delete()
        audit.record(
            actor=actor,
            action="financial_statement.deleted",
            object_type="financial_statement",
            object_id=pk,
            party_id=party_id,
            changes={"before": before},
        )


# --- the credit memo ------------------------------------------------------------------------------
def memo_content(memo: CreditMemo, application: Application) -> dict[str, Any]:
    """Everything a revision keeps: the text, the grade, the ratios and the expected loss as they stood."""
    grade = memo.risk_grade
    facilities = list(application.facilities.select_related("product").order_by("position", "id"))
    losses = figures.expected_losses(facilities, grade.pd if grade else None)
    return figures.as_json(
        {
            **{name: getattr(memo, name) for name in MEMO_SECTIONS},
            "grade_rationale": memo.grade_rationale,
            "risk_grade": grade.grade if grade else None,
            "pd": grade.pd if grade else None,
            "completed_at": memo.completed_at,
            "ratios": [figures.as_json(p) for p in figures.party_ratios(application.borrower_id)],
            "expected_loss": figures.as_json(losses),
        }
    )


def _changes_problems(changes: Mapping[str, Any]) -> tuple[dict[str, Any], Problems]:
    problems: Problems = {name: [_("Unknown field.")] for name in sorted(set(changes) - MEMO_FIELDS)}
    values: dict[str, Any] = {}
    for name in (*MEMO_SECTIONS, "grade_rationale"):
        if name not in changes:
            continue
        value = changes[name]
        if not isinstance(value, str):
            problems[name] = [_("Must be text.")]
        elif len(value) > MAX_SECTION:
            problems[name] = [_("At most %(n)d characters.") % {"n": MAX_SECTION}]
        else:
            values[name] = value
    if "risk_grade" in changes:
        grade = changes["risk_grade"]
        found = None
        if type(grade) is int:
            found = RiskGrade.objects.filter(grade=grade).first()
        if grade is not None and found is None:
            problems["risk_grade"] = [_("Choose a grade of the master scale.")]
        values["risk_grade"] = found
    return values, problems


def _locked_memo_application(actor: User, application_id: object) -> Application:
    application = lock_application(actor=actor, application_id=application_id)
    require_analyst(actor, application)
    if application.status not in MEMO_STATUSES:
        raise errors.Conflict(
            _("The memo is written while the application is in review or credit analysis."),
            code="memo_closed",
        )
    return application


def _save_revision(actor: User, memo: CreditMemo, application: Application, action: str) -> None:
    content = memo_content(memo, application)
    MemoRevision.objects.create(
        memo=memo, version=memo.version, content=content, saved_at=timezone.now(), saved_by=actor
    )
    audit.record(
        actor=actor,
        action=action,
        object_type="credit_memo",
        object_id=memo.pk,
        party_id=application.borrower_id,
        changes={"version": memo.version, "risk_grade": content["risk_grade"]},
    )


def save_memo(
    *,
    actor: User,
    application_id: object,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
) -> CreditMemo:
    """Write the memo's sections, grade and rationale (a credit analyst who is not the maker). Every save
    is a new version with a revision; saving a completed memo reopens it (it must be completed again)."""
    values, problems = _changes_problems(changes)
    if problems:
        raise errors.ValidationFailed(field_errors=problems)
    with transaction.atomic():
        application = _locked_memo_application(actor, application_id)
        memo = CreditMemo.objects.select_for_update().filter(application=application).first()
        if memo is None:
            memo = CreditMemo(application=application, analyst=actor, version=0)
        else:
            check_version(memo, expected_version)
        for name, value in values.items():
            setattr(memo, name, value)
        memo.completed_at = None
        memo.version += 1
        memo.save()
        _save_revision(actor, memo, application, "credit_memo.saved")
    return memo


def complete_memo(*, actor: User, application_id: object, expected_version: int | None = None) -> CreditMemo:
    """Mark the memo ready for decision: it needs a risk grade and a recommendation."""
    with transaction.atomic():
        application = _locked_memo_application(actor, application_id)
        memo = CreditMemo.objects.select_for_update().filter(application=application).first()
        if memo is None:
            raise errors.Conflict(_("Write the memo first."), code="no_memo")
        check_version(memo, expected_version)
        if memo.completed_at is not None:
            raise errors.Conflict(_("The memo is already complete."), code="memo_completed")
        missing = {}
        if memo.risk_grade_id is None:
            missing["risk_grade"] = [_("Give the obligor a risk grade.")]
        if not memo.recommendation.strip():
            missing["recommendation"] = [_("Write the recommendation.")]
        if missing:
            raise errors.Conflict(
                _("The memo needs a risk grade and a recommendation."),
                code="memo_incomplete",
                field_errors=missing,
            )
        memo.completed_at = timezone.now()
        memo.version += 1
        memo.save()
        _save_revision(actor, memo, application, "credit_memo.completed")
    return memo
