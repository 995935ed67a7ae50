"""Proposal services: drafting with validated facilities, versions, issue, reject, accept into an
application."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, User
from lendcrm.origination.models import Application
from lendcrm.parties.models import Party
from lendcrm.pipeline import selectors, services
from lendcrm.pipeline.models import Opportunity, Proposal, ProposalFacility, StageChange
from tests.pipeline.conftest import facility, proposal_data

pytestmark = pytest.mark.django_db


def draft(actor: User, opportunity: Opportunity, **overrides: Any) -> Proposal:
    return services.create_proposal(
        actor=actor, opportunity_id=opportunity.pk, data=proposal_data(**overrides)
    )


def test_a_draft_has_its_facilities_and_guarantors(
    rm_a: User, opportunity_a: Opportunity, guarantor_a: Party
) -> None:
    second = facility(
        product="revolving_facility",
        amount=Decimal("5000000.00"),
        tenor_months=12,
        repayment_profile="bullet",
        grace_months=0,
        rate_type="fixed",
        base_rate="",
        margin_pct=None,
        fixed_rate_pct=Decimal("3.45"),
    )
    created = draft(rm_a, opportunity_a, facilities=[facility(), second], guarantors=[guarantor_a.pk])

    proposal = selectors.get_proposal(viewer=rm_a, proposal_id=created.pk)
    assert (proposal.number, proposal.status, proposal.created_by_id) == (1, "draft", rm_a.pk)
    assert [(f.position, f.product.code) for f in proposal.facilities.all()] == [
        (0, "term_loan"),
        (1, "revolving_facility"),
    ]
    assert list(proposal.guarantors.all()) == [guarantor_a]
    event = AuditEvent.objects.get(action="proposal.created")
    assert event.party_id == opportunity_a.party_id
    assert len(event.changes["after"]["facilities"]) == 2


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"product": "fx_hedging"}, "facilities.0.product"),  # not a lending product
        ({"product": "nope"}, "facilities.0.product"),
        ({"amount": Decimal("0")}, "facilities.0.amount"),
        ({"amount": Decimal("1.005")}, "facilities.0.amount"),
        ({"tenor_months": 0}, "facilities.0.tenor_months"),
        ({"grace_months": 60}, "facilities.0.grace_months"),  # not shorter than the tenor
        ({"base_rate": ""}, "facilities.0.base_rate"),  # floating without a base rate
        ({"margin_pct": None}, "facilities.0.margin_pct"),
        ({"rate_type": "fixed"}, "facilities.0.fixed_rate_pct"),
        ({"repayment_profile": "balloon"}, "facilities.0.balloon_amount"),
        (
            {"repayment_profile": "balloon", "balloon_amount": Decimal("30000000.00")},
            "facilities.0.balloon_amount",
        ),
        ({"balloon_amount": Decimal("1000.00")}, "facilities.0.balloon_amount"),  # not a balloon profile
        ({"currency": "ABC"}, "facilities.0.currency"),
        ({"margin_pct": Decimal("1.123456")}, "facilities.0.margin_pct"),
        ({"colour": "red"}, "facilities.0.colour"),
    ],
)
def test_bad_facility_terms_are_field_errors_and_nothing_is_written(
    rm_a: User, opportunity_a: Opportunity, bad: dict[str, Any], field: str
) -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        draft(rm_a, opportunity_a, facilities=[facility(), facility(**bad)][1:])
    assert field in refused.value.field_errors, refused.value.field_errors
    assert not Proposal.objects.exists()
    assert not ProposalFacility.objects.exists()


def test_every_bad_facility_is_named(rm_a: User, opportunity_a: Opportunity) -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        draft(
            rm_a,
            opportunity_a,
            facilities=[facility(amount=Decimal("-1")), facility(), facility(tenor_months=0)],
        )
    assert set(refused.value.field_errors) == {"facilities.0.amount", "facilities.2.tenor_months"}


def test_a_balloon_within_the_amount_is_accepted(rm_a: User, opportunity_a: Opportunity) -> None:
    created = draft(
        rm_a,
        opportunity_a,
        facilities=[facility(repayment_profile="balloon", balloon_amount=Decimal("5000000.00"))],
    )
    assert created.facilities.get().balloon_amount == Decimal("5000000.00")


def test_a_proposal_needs_a_facility(rm_a: User, opportunity_a: Opportunity) -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        draft(rm_a, opportunity_a, facilities=[])
    assert "facilities" in refused.value.field_errors


def test_guarantors_must_be_visible_and_not_the_borrower(
    rm_a: User, opportunity_a: Opportunity, party_b: Party
) -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        draft(rm_a, opportunity_a, guarantors=[party_b.pk, opportunity_a.party_id])
    assert refused.value.field_errors.keys() == {"guarantors.0", "guarantors.1"}
    assert "Chaoyang" not in str(refused.value.field_errors)


def test_versions_number_up_and_issuing_supersedes_the_earlier_ones(
    rm_a: User, opportunity_a: Opportunity
) -> None:
    first = draft(rm_a, opportunity_a)
    services.issue_proposal(actor=rm_a, proposal_id=first.pk)
    second = draft(rm_a, opportunity_a, summary="Cheaper")
    third = draft(rm_a, opportunity_a, summary="Cheaper still")
    assert (first.number, second.number, third.number) == (1, 2, 3)

    services.issue_proposal(actor=rm_a, proposal_id=third.pk)

    statuses = dict(Proposal.objects.values_list("number", "status"))
    assert statuses == {1: "superseded", 2: "superseded", 3: "issued"}
    assert Proposal.objects.get(number=1).version == 3  # issued (2), then superseded (3): stale ETags fail


def test_issuing_moves_an_early_opportunity_to_the_proposal_stage(
    rm_a: User, opportunity_a: Opportunity
) -> None:
    services.issue_proposal(actor=rm_a, proposal_id=draft(rm_a, opportunity_a).pk)
    opportunity = Opportunity.objects.get()
    assert (opportunity.stage, opportunity.probability) == ("proposal", 50)
    assert StageChange.objects.filter(to_stage="proposal").count() == 1


def test_only_a_draft_may_be_edited_and_facilities_are_replaced(
    rm_a: User, opportunity_a: Opportunity
) -> None:
    created = draft(rm_a, opportunity_a)
    updated = services.update_proposal(
        actor=rm_a,
        proposal_id=created.pk,
        changes={"facilities": [facility(amount=Decimal("1000000.00")), facility(product="working_capital")]},
        expected_version=1,
    )
    assert updated.version == 2
    assert list(ProposalFacility.objects.values_list("product__code", "amount")) == [
        ("term_loan", Decimal("1000000.00")),
        ("working_capital", Decimal("30000000.00")),
    ]
    services.issue_proposal(actor=rm_a, proposal_id=created.pk)
    with pytest.raises(errors.Conflict):
        services.update_proposal(actor=rm_a, proposal_id=created.pk, changes={"summary": "late"})
    assert Proposal.objects.get().summary == "Five-year amortising term loan"


def test_a_draft_cannot_be_accepted_or_rejected(rm_a: User, opportunity_a: Opportunity) -> None:
    created = draft(rm_a, opportunity_a)
    for action in (services.accept_proposal, services.reject_proposal):
        with pytest.raises(errors.Conflict):
            action(actor=rm_a, proposal_id=created.pk)
    assert Proposal.objects.get().status == "draft"
    assert not Application.objects.exists()


def test_rejection_keeps_the_opportunity_open(rm_a: User, opportunity_a: Opportunity) -> None:
    created = draft(rm_a, opportunity_a)
    services.issue_proposal(actor=rm_a, proposal_id=created.pk)
    rejected = services.reject_proposal(actor=rm_a, proposal_id=created.pk)
    assert rejected.status == "rejected"
    assert rejected.decided_at is not None
    assert Opportunity.objects.get().stage == "proposal"


def test_acceptance_creates_the_application_and_moves_the_opportunity(
    rm_a: User, opportunity_a: Opportunity, guarantor_a: Party
) -> None:
    created = draft(rm_a, opportunity_a, guarantors=[guarantor_a.pk])
    services.issue_proposal(actor=rm_a, proposal_id=created.pk)

    accepted = services.accept_proposal(actor=rm_a, proposal_id=created.pk, expected_version=2)

    assert accepted.status == "accepted"
    assert accepted.decided_at is not None
    application = Application.objects.get()
    assert application.proposal_id == created.pk
    assert application.borrower_id == opportunity_a.party_id
    assert (
        selectors.application_id_of(selectors.get_proposal(viewer=rm_a, proposal_id=created.pk))
        == application.pk
    )
    opportunity = Opportunity.objects.get()
    assert (opportunity.stage, opportunity.probability) == ("application", 75)
    assert list(StageChange.objects.values_list("to_stage", flat=True)) == [
        "qualify",
        "proposal",
        "application",
    ]
    assert AuditEvent.objects.filter(action="proposal.accepted", party_id=opportunity_a.party_id).exists()


def test_a_second_acceptance_is_a_409_and_makes_no_second_application(
    rm_a: User, opportunity_a: Opportunity
) -> None:
    created = draft(rm_a, opportunity_a)
    services.issue_proposal(actor=rm_a, proposal_id=created.pk)
    services.accept_proposal(actor=rm_a, proposal_id=created.pk)

    with pytest.raises(errors.Conflict):
        services.accept_proposal(actor=rm_a, proposal_id=created.pk)
    with pytest.raises(errors.Conflict):
        draft(rm_a, opportunity_a)  # the opportunity has its application
    assert Application.objects.count() == 1
    assert Proposal.objects.count() == 1


def test_an_expired_proposal_cannot_be_accepted(rm_a: User, opportunity_a: Opportunity) -> None:
    created = draft(rm_a, opportunity_a)
    services.issue_proposal(actor=rm_a, proposal_id=created.pk)
    Proposal.objects.filter(pk=created.pk).update(valid_until=timezone.localdate() - timedelta(days=1))

    with pytest.raises(errors.Conflict) as refused:
        services.accept_proposal(actor=rm_a, proposal_id=created.pk)
    assert refused.value.code == "proposal_expired"
    assert Proposal.objects.get().status == "issued"
    assert not Application.objects.exists()


def test_a_failing_conversion_rolls_the_acceptance_back(
    rm_a: User, opportunity_a: Opportunity, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lendcrm.origination.services import applications

    def refuse(**kwargs: Any) -> None:
        raise errors.Conflict("no")

    created = draft(rm_a, opportunity_a)
    services.issue_proposal(actor=rm_a, proposal_id=created.pk)
    monkeypatch.setattr(applications, "create_application_from_proposal", refuse)

    with pytest.raises(errors.Conflict):
        services.accept_proposal(actor=rm_a, proposal_id=created.pk)
    assert Proposal.objects.get().status == "issued"
    assert Opportunity.objects.get().stage == "proposal"
    assert not AuditEvent.objects.filter(action="proposal.accepted").exists()


def test_proposals_of_another_branch_do_not_exist(rm_a: User, rm_b: User, opportunity_a: Opportunity) -> None:
    created = draft(rm_a, opportunity_a)
    with pytest.raises(errors.NotFound):
        selectors.get_proposal(viewer=rm_b, proposal_id=created.pk)
    with pytest.raises(errors.NotFound):
        services.issue_proposal(actor=rm_b, proposal_id=created.pk)
    with pytest.raises(errors.NotFound):
        services.create_proposal(actor=rm_b, opportunity_id=opportunity_a.pk, data=proposal_data())
    assert list(selectors.proposal_list(viewer=rm_b)) == []
