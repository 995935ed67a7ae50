"""Creating and editing applications: parties, facilities, the checklist, scope and roles."""

from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, User
from lendcrm.origination import services
from lendcrm.origination.models import Application, ChecklistStatus, PartyRole, Status, StatusChange
from lendcrm.parties.models import Party, PartyKind
from lendcrm.pipeline.models import Opportunity, Product, Proposal, ProposalFacility
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


# --- from a proposal ------------------------------------------------------------------------------
def _proposal(rm: User, borrower: Party, guarantor: Party) -> Proposal:
    opportunity = Opportunity.objects.create(
        party=borrower, title="Expansion line", stage="proposal", stage_entered_at=timezone.now(), owner=rm
    )
    proposal = Proposal.objects.create(
        opportunity=opportunity, number=1, status="accepted", summary="Two facilities", created_by=rm
    )
    proposal.guarantors.set([guarantor])
    for position, terms in enumerate(
        [
            facility(),
            facility(
                product="equipment_finance", repayment_profile="balloon", balloon_amount=Decimal("1000000")
            ),
        ]
    ):
        ProposalFacility.objects.create(
            proposal=proposal,
            position=position,
            **{**terms, "product": Product.objects.get(code=terms["product"])},
        )
    return proposal


def test_a_proposal_becomes_an_application_without_retyping(
    rm_a: User, borrower: Party, guarantor: Party
) -> None:
    proposal = _proposal(rm_a, borrower, guarantor)
    application = services.create_application_from_proposal(actor=rm_a, proposal=proposal)
    assert application.proposal_id == proposal.pk
    assert application.opportunity_id == proposal.opportunity_id
    assert application.borrower_id == borrower.pk
    assert application.purpose == "Two facilities"
    copied = list(application.facilities.order_by("position"))
    assert [(f.product.code, f.repayment_profile, f.balloon_amount) for f in copied] == [
        ("working_capital", "annuity", None),
        ("equipment_finance", "balloon", Decimal("1000000.00")),
    ]
    assert set(application.parties.values_list("party_id", "role")) == {
        (borrower.pk, PartyRole.BORROWER),
        (guarantor.pk, PartyRole.GUARANTOR),
    }
    assert "equipment_quotation" in set(application.checklist.values_list("code", flat=True))
    with pytest.raises(errors.Conflict) as again:
        services.create_application_from_proposal(actor=rm_a, proposal=proposal)
    assert again.value.code == "already_converted"


def test_conversion_joins_the_callers_transaction(rm_a: User, borrower: Party, guarantor: Party) -> None:
    proposal = _proposal(rm_a, borrower, guarantor)

    def accept_then_fail() -> None:
        with transaction.atomic():
            services.create_application_from_proposal(actor=rm_a, proposal=proposal)
            raise RuntimeError("the caller fails after converting")

    with pytest.raises(RuntimeError):
        accept_then_fail()
    assert not Application.objects.exists()


# --- draft edits ----------------------------------------------------------------------------------
def test_replacing_facilities_refreshes_the_checklist(apps: AppFactory, rm_a: User, guarantor: Party) -> None:
    application = apps.draft()
    licence = application.checklist.get(code="business_licence")
    services.update_checklist_item(
        actor=rm_a, application_id=application.pk, item_id=licence.pk, status="received"
    )
    application.refresh_from_db()
    updated = services.update_application(
        actor=rm_a,
        application_id=application.pk,
        changes={
            "facilities": [facility(product="trade_finance")],
            "parties": [{"party": guarantor.pk, "role": "sponsor"}],
            "purpose": "Trade",
        },
        expected_version=application.version,
    )
    assert updated.version == application.version + 1
    assert [f.product.code for f in updated.facilities.all()] == ["trade_finance"]
    assert "trade_contracts" in set(updated.checklist.values_list("code", flat=True))
    assert updated.checklist.get(code="business_licence").status == "received"
    assert set(updated.parties.values_list("role", flat=True)) == {"borrower", "sponsor"}
    event = AuditEvent.objects.filter(action="application.updated").get()
    assert event.changes["after"]["purpose"] == "Trade"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"status": "approved"}, "status"),
        ({"facilities": [facility(amount=Decimal("-1"))]}, "facilities.0.amount"),
        ({"parties": [{"party": 999999, "role": "guarantor"}]}, "parties.0.party"),
        ({"parties": [{"party": 1, "role": "borrower"}]}, "parties.0.role"),
        ({"purpose": 5}, "purpose"),
    ],
)
def test_bad_edits_change_nothing(apps: AppFactory, rm_a: User, changes: dict[str, Any], field: str) -> None:
    application = apps.draft()
    with pytest.raises(errors.ValidationFailed) as refused:
        services.update_application(
            actor=rm_a, application_id=application.pk, changes=changes, expected_version=1
        )
    assert field in refused.value.field_errors
    application.refresh_from_db()
    assert application.version == 1
    assert application.facilities.get().amount == Decimal("5000000.00")


def test_edits_need_a_draft_the_right_role_and_the_current_version(
    apps: AppFactory, rm_a: User, approver: User
) -> None:
    draft = apps.draft()
    with pytest.raises(errors.PreconditionFailed):
        services.update_application(
            actor=rm_a, application_id=draft.pk, changes={"purpose": "x"}, expected_version=3
        )
    with pytest.raises(errors.PermissionDenied):
        services.update_application(
            actor=approver, application_id=draft.pk, changes={"purpose": "x"}, expected_version=1
        )
    submitted = apps.at(Status.SUBMITTED)
    with pytest.raises(errors.Conflict) as refused:
        services.update_application(
            actor=rm_a, application_id=submitted.pk, changes={"purpose": "x"}, expected_version=None
        )
    assert refused.value.code == "not_draft"
