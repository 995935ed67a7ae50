"""Lead services: capture with duplicate detection, edits, qualification and disqualification."""

from decimal import Decimal

import pytest

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, User
from lendcrm.parties import services as party_services
from lendcrm.parties.models import Coverage, Identifier, Party
from lendcrm.pipeline import selectors, services
from lendcrm.pipeline.models import Lead, Opportunity, StageChange
from tests.pipeline.conftest import make_lei, make_uscc

pytestmark = pytest.mark.django_db


def lead(actor: User, **data: object) -> Lead:
    return services.create_lead(
        actor=actor, data={"name": "Lujiazui Solar Co.", "source": "referral", **data}
    )


# --- capture ---------------------------------------------------------------------------------------
def test_a_new_lead_is_booked_at_the_actors_branch_owned_by_them_and_audited(rm_a: User) -> None:
    created = lead(rm_a, product="green_loan", requested_amount=Decimal("12000000.00"), currency="CNY")

    assert created.branch_id == rm_a.branch_id
    assert created.owner_id == rm_a.pk
    assert created.status == "new"
    assert created.party_id is None
    assert created.matched_by == ""
    assert created.product is not None
    assert created.product.code == "green_loan"
    event = AuditEvent.objects.get(action="lead.created")
    assert event.object_id == str(created.pk)
    assert event.party_id is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"lei": "5493001KJTIIGC8Y1R13"}, "lei"),  # check digits off by one
        ({"uscc": "91310000MA1FL8XQ3X"}, "uscc"),
        ({"name": "  "}, "name"),
        ({"requested_amount": Decimal("0")}, "requested_amount"),
        ({"requested_amount": Decimal("10")}, "currency"),  # an amount needs its currency
        ({"requested_amount": Decimal("10"), "currency": "XYZ"}, "currency"),
        ({"product": "no_such_product"}, "product"),
        ({"source": "carrier_pigeon"}, "source"),
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(rm_a: User, data: dict, field: str) -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        lead(rm_a, **data)

    assert field in refused.value.field_errors
    assert refused.value.status == 400
    assert not Lead.objects.exists()
    assert not AuditEvent.objects.filter(action="lead.created").exists()


def test_a_retired_product_cannot_be_requested(rm_a: User, admin_user: User) -> None:
    from lendcrm.pipeline.models import Product

    services.update_product(actor=admin_user, product=Product.objects.get(code="insurance"), is_active=False)
    with pytest.raises(errors.ValidationFailed) as refused:
        lead(rm_a, product="insurance")
    assert "product" in refused.value.field_errors


def test_a_reader_may_not_capture_leads(compliance: User) -> None:
    with pytest.raises(errors.PermissionDenied):
        lead(compliance)
    assert not Lead.objects.exists()


# --- duplicates ------------------------------------------------------------------------------------
def test_a_lead_with_an_existing_partys_lei_is_linked_not_recreated(rm_a: User) -> None:
    lei = make_lei()
    party = party_services.create_party(
        actor=rm_a,
        kind="corporate",
        legal_name="Existing Holdings",
        branch=rm_a.branch,
        identifiers=[("lei", lei)],
    )
    created = lead(rm_a, name="Some other spelling", lei=lei.lower())  # normalised before matching

    assert created.party_id == party.pk
    assert created.matched_by == "lei"
    opportunity = services.qualify_lead(
        actor=rm_a, lead_id=created.pk, opportunity={"products": ["term_loan"]}
    )
    assert opportunity.party_id == party.pk
    assert Party.objects.count() == 1
    assert Identifier.objects.filter(value=lei).count() == 1


def test_a_lead_with_an_existing_partys_uscc_is_linked(rm_a: User) -> None:
    uscc = make_uscc()
    party = party_services.create_party(
        actor=rm_a,
        kind="sme",
        legal_name="Existing Trading",
        branch=rm_a.branch,
        identifiers=[("uscc", uscc)],
    )
    assert lead(rm_a, uscc=uscc).party_id == party.pk


@pytest.mark.parametrize("typed", ["lujiazui  SOLAR co.", " Lujiazui Solar Co. ", "陆家嘴 光伏"])
def test_a_lead_with_an_existing_partys_name_is_linked_whatever_the_case_and_spacing(
    rm_a: User, typed: str
) -> None:
    party = party_services.create_party(
        actor=rm_a,
        kind="corporate",
        legal_name="Lujiazui Solar Co.",
        local_name="陆家嘴光伏",
        branch=rm_a.branch,
    )
    created = lead(rm_a, name=typed)

    assert (created.party_id, created.matched_by) == (party.pk, "name")


def test_a_similar_but_different_name_is_not_a_match(rm_a: User) -> None:
    party_services.create_party(
        actor=rm_a, kind="corporate", legal_name="Lujiazui Solar Co.", branch=rm_a.branch
    )
    assert lead(rm_a, name="Lujiazui Solar Co. II").party_id is None


def test_a_match_outside_the_actors_scope_is_linked_but_not_disclosed(rm_a: User, rm_b: User) -> None:
    lei = make_lei()
    hidden = party_services.create_party(
        actor=rm_b,
        kind="corporate",
        legal_name="Chaoyang Secret Ltd",
        branch=rm_b.branch,
        identifiers=[("lei", lei)],
    )
    created = lead(rm_a, lei=lei)

    assert created.party_id == hidden.pk  # linked: no duplicate party will be made
    seen = selectors.get_lead(viewer=rm_a, lead_id=created.pk)
    assert seen.party_visible is False  # type: ignore[attr-defined]
    with pytest.raises(errors.Conflict) as refused:
        services.qualify_lead(actor=rm_a, lead_id=created.pk, opportunity={"products": ["term_loan"]})
    assert refused.value.code == "matched_party_out_of_scope"
    assert "Chaoyang" not in refused.value.detail
    assert Lead.objects.get().status == "new"
    assert not Opportunity.objects.exists()


def test_correcting_the_name_re_runs_duplicate_detection(rm_a: User) -> None:
    party = party_services.create_party(
        actor=rm_a, kind="corporate", legal_name="Pudong Ports", branch=rm_a.branch
    )
    created = lead(rm_a, name="Pudong Port")
    assert created.party_id is None

    updated = services.update_lead(
        actor=rm_a, lead_id=created.pk, changes={"name": "Pudong Ports"}, expected_version=created.version
    )
    assert (updated.party_id, updated.matched_by, updated.version) == (party.pk, "name", 2)


# --- updates ---------------------------------------------------------------------------------------
def test_a_stale_update_is_refused_and_changes_nothing(rm_a: User) -> None:
    created = lead(rm_a)
    services.update_lead(actor=rm_a, lead_id=created.pk, changes={"notes": "first"}, expected_version=1)

    with pytest.raises(errors.PreconditionFailed):
        services.update_lead(actor=rm_a, lead_id=created.pk, changes={"notes": "second"}, expected_version=1)
    assert Lead.objects.get().notes == "first"


def test_another_branchs_rm_cannot_see_or_change_the_lead(rm_a: User, rm_b: User) -> None:
    created = lead(rm_a)
    with pytest.raises(errors.NotFound):
        selectors.get_lead(viewer=rm_b, lead_id=created.pk)
    with pytest.raises(errors.NotFound):
        services.update_lead(actor=rm_b, lead_id=created.pk, changes={"notes": "mine now"})
    with pytest.raises(errors.NotFound):
        services.disqualify_lead(actor=rm_b, lead_id=created.pk, reason="no_need")
    assert Lead.objects.get().status == "new"


def test_an_rm_sees_leads_of_their_branch_and_those_they_own(rm_a: User, rm_a2: User, rm_b: User) -> None:
    at_a = lead(rm_a)
    owned_elsewhere = services.create_lead(
        actor=rm_b, data={"name": "Owned by A", "source": "rm", "owner": rm_a}
    )
    at_b = lead(rm_b)

    assert set(selectors.lead_list(viewer=rm_a)) == {at_a, owned_elsewhere}
    assert set(selectors.lead_list(viewer=rm_a2)) == {at_a}
    assert set(selectors.lead_list(viewer=rm_b)) == {owned_elsewhere, at_b}


# --- qualification ---------------------------------------------------------------------------------
def test_qualifying_makes_a_prospect_party_and_an_opportunity(rm_a: User) -> None:
    lei = make_lei()
    created = lead(
        rm_a,
        lei=lei,
        local_name="陆家嘴光伏",
        product="green_loan",
        requested_amount=Decimal("8000000.00"),
        currency="USD",
    )

    opportunity = services.qualify_lead(actor=rm_a, lead_id=created.pk, opportunity={})

    party = opportunity.party
    assert (party.legal_name, party.local_name, party.lifecycle, party.branch_id) == (
        "Lujiazui Solar Co.",
        "陆家嘴光伏",
        "prospect",
        rm_a.branch_id,
    )
    assert party.identifiers.get().value == lei
    assert Coverage.objects.get(party=party).user == rm_a
    assert opportunity.stage == "qualify"
    assert opportunity.probability == 10
    assert (opportunity.amount, opportunity.currency, opportunity.lead_id) == (
        Decimal("8000000.00"),
        "USD",
        created.pk,
    )
    assert [p.code for p in opportunity.products.all()] == ["green_loan"]
    assert StageChange.objects.get(opportunity=opportunity).to_stage == "qualify"
    qualified = Lead.objects.get()
    assert (qualified.status, qualified.party_id) == (
        "qualified",
        party.pk,
    )
    assert qualified.closed_at is not None
    assert AuditEvent.objects.filter(action="lead.qualified", party_id=party.pk).exists()


def test_a_qualified_lead_cannot_be_qualified_or_disqualified_again(rm_a: User) -> None:
    created = lead(rm_a, product="term_loan")
    services.qualify_lead(actor=rm_a, lead_id=created.pk, opportunity={})

    with pytest.raises(errors.Conflict):
        services.qualify_lead(actor=rm_a, lead_id=created.pk, opportunity={})
    with pytest.raises(errors.Conflict):
        services.disqualify_lead(actor=rm_a, lead_id=created.pk, reason="no_need")
    assert Opportunity.objects.count() == 1
    assert Party.objects.count() == 1


def test_qualifying_without_products_is_refused_and_writes_nothing(rm_a: User) -> None:
    created = lead(rm_a)
    with pytest.raises(errors.ValidationFailed) as refused:
        services.qualify_lead(actor=rm_a, lead_id=created.pk, opportunity={})
    assert "products" in refused.value.field_errors
    assert not Party.objects.exists()
    assert Lead.objects.get().status == "new"


# --- disqualification ------------------------------------------------------------------------------
def test_disqualifying_needs_a_reason(rm_a: User) -> None:
    created = lead(rm_a)
    with pytest.raises(errors.ValidationFailed) as refused:
        services.disqualify_lead(actor=rm_a, lead_id=created.pk, reason="")
    assert "reason" in refused.value.field_errors
    assert Lead.objects.get().status == "new"


def test_disqualifying_records_the_reason_and_closes_the_lead(rm_a: User) -> None:
    created = lead(rm_a)
    done = services.disqualify_lead(actor=rm_a, lead_id=created.pk, reason="out_of_appetite", note="Coal")

    assert (done.status, done.disqualification_reason, done.disqualification_note) == (
        "disqualified",
        "out_of_appetite",
        "Coal",
    )
    assert done.closed_at is not None
    with pytest.raises(errors.Conflict):
        services.disqualify_lead(actor=rm_a, lead_id=created.pk, reason="no_need")


def test_a_lead_without_a_source_came_from_an_rm(rm_a: User) -> None:
    assert services.create_lead(actor=rm_a, data={"name": "Walk-in"}).source == "rm"
