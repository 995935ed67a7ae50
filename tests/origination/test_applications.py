"""Creating and editing applications: parties, facilities, the checklist, scope and roles."""

from decimal import Decimal
from typing import Any

import pytest

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, User
from lendcrm.origination import services
from lendcrm.origination.models import Application, ChecklistStatus, PartyRole, Status, StatusChange
from lendcrm.parties.models import Party, PartyKind
from tests.origination.conftest import AppFactory, facility

pytestmark = pytest.mark.django_db


def test_create_makes_a_draft_with_parties_facilities_and_checklist(
    rm_a: User, borrower: Party, guarantor: Party
) -> None:
    application = services.create_application(
        actor=rm_a,
        borrower_id=borrower.pk,
        purpose="Working capital for the 2025 order book",
        facilities=[
            facility(),
            facility(product="project_finance", amount=Decimal("80000000"), tenor_months=120),
        ],
        parties=[{"party": guarantor.pk, "role": PartyRole.GUARANTOR}],
    )
    assert application.reference.startswith("APP-")
    assert len(application.reference) == len("APP-2025-000001")
    assert application.status == Status.DRAFT
    assert application.owner == rm_a
    assert application.branch_id == borrower.branch_id
    roles = sorted(application.parties.values_list("party_id", "role"))
    assert roles == sorted([(borrower.pk, PartyRole.BORROWER), (guarantor.pk, PartyRole.GUARANTOR)])
    facilities = list(application.facilities.order_by("position"))
    assert [f.product.code for f in facilities] == ["working_capital", "project_finance"]
    assert [f.lgd for f in facilities] == [Decimal("0.40"), Decimal("0.40")]
    codes = set(application.checklist.values_list("code", flat=True))
    assert {"kyc_documents", "business_licence", "feasibility_study", "financial_model"} <= codes
    assert "trade_contracts" not in codes
    assert all(i.status == ChecklistStatus.REQUIRED for i in application.checklist.all())
    history = list(
        StatusChange.objects.filter(application=application).values_list("from_status", "to_status")
    )
    assert history == [("", Status.DRAFT)]
    assert AuditEvent.objects.filter(action="application.created", object_id=str(application.pk)).count() == 1


def test_references_count_up(apps: AppFactory) -> None:
    first, second = apps.draft(), apps.draft()
    assert int(second.reference[-6:]) == int(first.reference[-6:]) + 1


def test_financial_institution_gets_45_percent_lgd_unless_given(rm_a: User, branch_a: Any) -> None:
    bank = Party.objects.create(kind=PartyKind.FINANCIAL_INSTITUTION, legal_name="Bank", branch=branch_a)
    application = services.create_application(
        actor=rm_a, borrower_id=bank.pk, facilities=[facility(), facility(lgd=Decimal("0.25"))]
    )
    assert [f.lgd for f in application.facilities.order_by("position")] == [Decimal("0.45"), Decimal("0.25")]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": Decimal("0")}, "facilities.0.amount"),
        ({"tenor_months": 0}, "facilities.0.tenor_months"),
        ({"grace_months": 36}, "facilities.0.grace_months"),
        ({"rate_type": "floating"}, "facilities.0.margin_pct"),
        ({"repayment_profile": "balloon"}, "facilities.0.balloon_amount"),
        ({"product": "deposits"}, "facilities.0.product"),
        ({"lgd": Decimal("1.5")}, "facilities.0.lgd"),
        ({"currency": "XXX"}, "facilities.0.currency"),
    ],
)
def test_bad_terms_are_field_errors_and_nothing_is_written(
    rm_a: User, borrower: Party, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        services.create_application(actor=rm_a, borrower_id=borrower.pk, facilities=[facility(**overrides)])
    assert field in refused.value.field_errors
    assert not Application.objects.exists()


def test_other_parties_must_be_visible(rm_a: User, borrower: Party, hidden_party: Party) -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        services.create_application(
            actor=rm_a, borrower_id=borrower.pk, parties=[{"party": hidden_party.pk, "role": "guarantor"}]
        )
    assert "parties.0.party" in refused.value.field_errors
    assert not Application.objects.exists()


def test_borrower_out_of_scope_is_not_found(rm_b: User, borrower: Party) -> None:
    with pytest.raises(errors.NotFound):
        services.create_application(actor=rm_b, borrower_id=borrower.pk, facilities=[facility()])


def test_only_customer_writers_create(approver: User, borrower: Party) -> None:
    with pytest.raises(errors.PermissionDenied):
        services.create_application(actor=approver, borrower_id=borrower.pk, facilities=[facility()])
