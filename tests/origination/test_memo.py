"""Financial statements and the credit memo: who may write, revisions with the figures of the moment,
completion, expected loss per facility."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, User
from lendcrm.origination import services
from lendcrm.origination.models import Application, CreditMemo, FinancialStatement, MemoRevision, Status
from lendcrm.parties.models import Party
from tests.origination.conftest import AppFactory, facility

pytestmark = pytest.mark.django_db
D = Decimal

LINES = {
    "revenue": D("20000000"),
    "ebitda": D("3000000"),
    "depreciation": D("800000"),
    "interest_expense": D("440000"),
    "tax": D("330000"),
    "principal_repaid": D("1200000"),
    "short_term_debt": D("1000000"),
    "long_term_debt": D("5000000"),
    "equity": D("8000000"),
    "current_assets": D("4000000"),
    "current_liabilities": D("2500000"),
}


def _statement(actor: User, party: Party, year: int = 2024, **kwargs: object) -> FinancialStatement:
    values: dict[str, object] = {
        "period_end": date(year, 12, 31),
        "period_months": 12,
        "kind": "audited",
        "currency": "CNY",
        "lines": LINES,
    }
    values.update(kwargs)
    return services.save_statement(actor=actor, party_id=party.pk, **values)  # type: ignore[arg-type]


# --- statements -----------------------------------------------------------------------------------
def test_entering_the_same_period_again_replaces_its_lines(analyst: User, borrower: Party) -> None:
    first = _statement(analyst, borrower)
    again = _statement(analyst, borrower, lines={"revenue": D("21000000")})
    assert again.pk == first.pk
    assert again.version == 2
    assert dict(again.lines.values_list("code", "amount")) == {"revenue": D("21000000.00")}
    assert AuditEvent.objects.filter(action="financial_statement.replaced").count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lines": {"goodwill_magic": D("1")}}, "lines.goodwill_magic"),
        ({"lines": {"revenue": D("1.001")}}, "lines.revenue"),
        ({"lines": {}}, "lines"),
        ({"period_months": 13}, "period_months"),
        ({"kind": "guess"}, "kind"),
        ({"currency": "XYZ"}, "currency"),
    ],
)
def test_bad_statements_are_refused_and_nothing_is_written(
    analyst: User, borrower: Party, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        _statement(analyst, borrower, **changes)  # type: ignore[arg-type]
    assert field in refused.value.field_errors
    assert not FinancialStatement.objects.exists()


def test_statement_scope_and_roles(rm_b: User, approver: User, borrower: Party) -> None:
    with pytest.raises(errors.NotFound):
        _statement(rm_b, borrower)
    with pytest.raises(errors.PermissionDenied):
        _statement(approver, borrower)


def test_delete_statement(analyst: User, rm_b: User, borrower: Party) -> None:
    statement = _statement(analyst, borrower)
    with pytest.raises(errors.NotFound):
        services.delete_statement(actor=rm_b, statement_id=statement.pk)
    with pytest.raises(errors.PreconditionFailed):
        services.delete_statement(actor=analyst, statement_id=statement.pk, expected_version=7)
    services.delete_statement(actor=analyst, statement_id=statement.pk, expected_version=1)
    assert not FinancialStatement.objects.exists()


# --- the memo -------------------------------------------------------------------------------------
def test_each_save_is_a_revision_with_the_figures_of_the_moment(
    analyst: User, apps: AppFactory, borrower: Party
) -> None:
    application = apps.at(
        Status.CREDIT_ANALYSIS, facilities=[facility(), facility(currency="USD", amount=D("1000000"))]
    )
    _statement(analyst, borrower, 2023, lines={"revenue": D("16000000")})
    _statement(analyst, borrower, 2024)
    memo = services.save_memo(
        actor=analyst,
        application_id=application.pk,
        changes={"business": "Castings for autos.", "risk_grade": 4},
    )
    assert memo.version == 1
    memo = services.save_memo(
        actor=analyst,
        application_id=application.pk,
        changes={"recommendation": "Approve."},
        expected_version=1,
    )
    assert memo.version == 2
    revisions = list(MemoRevision.objects.filter(memo=memo).order_by("version"))
    assert [r.version for r in revisions] == [1, 2]
    content = revisions[1].content
    assert content["business"] == "Castings for autos."
    assert content["recommendation"] == "Approve."
    assert content["risk_grade"] == 4
    assert content["pd"] == "0.004200"
    latest = content["ratios"][0]
    assert latest["period_end"] == "2024-12-31"
    assert latest["ratios"]["leverage"] == "2.0000"
    assert latest["ratios"]["dscr"] == "1.6280"
    assert latest["ratios"]["revenue_growth"] == "0.2500"
    losses = content["expected_loss"]
    # CNY 5,000,000 x 0.0042 x 0.40 = 8,400.00; USD 1,000,000 x 0.0042 x 0.40 = USD 1,680.00 = CNY 11,928.00
    assert [f["expected_loss"] for f in losses["facilities"]] == ["8400.00", "1680.00"]
    assert [f["expected_loss_base"] for f in losses["facilities"]] == ["8400.00", "11928.00"]
    assert losses["total_base"] == "20328.00"
    assert revisions[0].content["ratios"] == content["ratios"]
    assert revisions[0].content["recommendation"] == ""


def test_a_stale_memo_version_is_refused(analyst: User, apps: AppFactory) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS)
    services.save_memo(actor=analyst, application_id=application.pk, changes={"business": "a"})
    with pytest.raises(errors.PreconditionFailed):
        services.save_memo(
            actor=analyst, application_id=application.pk, changes={"business": "b"}, expected_version=5
        )
    assert CreditMemo.objects.get().business == "a"


def test_only_credit_analysts_write_the_memo(rm_a: User, approver: User, apps: AppFactory) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS)
    for actor in (rm_a, approver):
        with pytest.raises(errors.PermissionDenied):
            services.save_memo(actor=actor, application_id=application.pk, changes={"business": "x"})
    assert not CreditMemo.objects.exists()


def test_the_owner_with_an_analyst_role_still_cannot_write_it(
    make_user: Callable[..., User], borrower: Party, analyst: User
) -> None:
    both = make_user("both", "relationship_manager", "credit_analyst")
    factory = AppFactory(both, analyst, analyst, borrower)
    application = factory.at(Status.CREDIT_ANALYSIS)
    with pytest.raises(errors.PermissionDenied) as refused:
        services.save_memo(actor=both, application_id=application.pk, changes={"business": "mine"})
    assert refused.value.code == "maker"


@pytest.mark.parametrize("status", [Status.DRAFT, Status.SUBMITTED, Status.PENDING_DECISION, Status.APPROVED])
def test_the_memo_is_written_only_in_review_or_analysis(analyst: User, apps: AppFactory, status: str) -> None:
    application = apps.at(status)
    before = CreditMemo.objects.filter(application=application).values_list("version", flat=True).first()
    with pytest.raises(errors.Conflict) as refused:
        services.save_memo(actor=analyst, application_id=application.pk, changes={"business": "late"})
    assert refused.value.code == "memo_closed"
    assert (
        CreditMemo.objects.filter(application=application).values_list("version", flat=True).first() == before
    )


def test_bad_memo_input(analyst: User, apps: AppFactory) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS)
    for changes, field in (
        ({"risk_grade": 11}, "risk_grade"),
        ({"colour": "red"}, "colour"),
        ({"risks": 3}, "risks"),
    ):
        with pytest.raises(errors.ValidationFailed) as refused:
            services.save_memo(actor=analyst, application_id=application.pk, changes=changes)
        assert field in refused.value.field_errors
    assert not CreditMemo.objects.exists()


def test_completion_needs_grade_and_recommendation_and_a_later_save_reopens(
    analyst: User, apps: AppFactory
) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS)
    with pytest.raises(errors.Conflict) as refused:
        services.complete_memo(actor=analyst, application_id=application.pk)
    assert refused.value.code == "no_memo"
    services.save_memo(actor=analyst, application_id=application.pk, changes={"business": "x"})
    with pytest.raises(errors.Conflict) as refused:
        services.complete_memo(actor=analyst, application_id=application.pk)
    assert set(refused.value.field_errors) == {"risk_grade", "recommendation"}
    services.save_memo(
        actor=analyst, application_id=application.pk, changes={"risk_grade": 5, "recommendation": "Approve."}
    )
    memo = services.complete_memo(actor=analyst, application_id=application.pk)
    assert memo.completed_at is not None
    assert memo.version == 3
    assert MemoRevision.objects.get(memo=memo, version=3).content["completed_at"] is not None
    with pytest.raises(errors.Conflict):
        services.complete_memo(actor=analyst, application_id=application.pk)
    reopened = services.save_memo(actor=analyst, application_id=application.pk, changes={"risks": "FX."})
    assert reopened.completed_at is None


def test_memo_out_of_scope_is_not_found(rm_b: User, apps: AppFactory) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS)
    with pytest.raises(errors.NotFound):
        services.save_memo(actor=rm_b, application_id=application.pk, changes={})
    assert Application.objects.get(pk=application.pk).status == Status.CREDIT_ANALYSIS
