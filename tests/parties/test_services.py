"""Customer-master writes through the services: rules, refusals that change nothing, and the audit trail."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, Branch, User
from lendcrm.core.money import Money
from lendcrm.core.roles import Role
from lendcrm.parties import services
from lendcrm.parties.models import (
    ContactPoint,
    ContactRole,
    Coverage,
    CoverageRole,
    Identifier,
    Lifecycle,
    Party,
    PartyKind,
    Relationship,
)
from lendcrm.parties.services import NewContactPoint
from tests.parties.conftest import make_lei, make_uscc

pytestmark = pytest.mark.django_db

MakeParty = Callable[..., Party]


def events(action: str, party: Party) -> int:
    return AuditEvent.objects.filter(action=action, party_id=party.pk).count()


# --- create_party ---------------------------------------------------------------------------------
def test_create_party_with_identifiers_gives_the_rm_lead_coverage(rm_a: User, branch_a: Branch) -> None:
    lei, uscc = make_lei(), make_uscc()
    party = services.create_party(
        actor=rm_a,
        kind=PartyKind.CORPORATE,
        legal_name="  Shanghai Pudong Development Bank ",
        local_name="上海浦东发展银行",
        branch=branch_a,
        country="cn",
        industry_code="k6419",
        annual_revenue=Money(Decimal("1234567.89"), "CNY"),
        employees=5000,
        identifiers=[("lei", lei.lower()), ("uscc", f"{uscc[:9]} {uscc[9:]}")],
    )
    party.refresh_from_db()
    assert party.legal_name == "Shanghai Pudong Development Bank"
    assert (party.country, party.industry_code, party.lifecycle) == ("CN", "K6419", Lifecycle.PROSPECT)
    assert (party.annual_revenue, party.annual_revenue_currency) == (Decimal("1234567.89"), "CNY")
    assert sorted(Identifier.objects.filter(party=party).values_list("scheme", "value")) == [
        ("lei", lei),
        ("uscc", uscc),
    ]
    assert list(Coverage.objects.filter(party=party).values_list("user_id", "role")) == [
        (rm_a.pk, CoverageRole.LEAD)
    ]
    assert "上海浦东发展银行" in party.search_text
    assert lei.lower() in party.search_text
    assert "shanghai pudong development bank" in party.search_text
    event = AuditEvent.objects.get(action="party.created", party_id=party.pk)
    assert event.actor_id == rm_a.pk
    assert event.changes["after"]["legal_name"] == "Shanghai Pudong Development Bank"
    assert event.changes["after"]["lead"] == rm_a.pk


def test_analyst_creates_without_coverage(analyst: User, branch_b: Branch) -> None:
    party = services.create_party(actor=analyst, kind=PartyKind.SME, legal_name="Acme", branch=branch_b)
    assert not Coverage.objects.filter(party=party).exists()


@pytest.mark.parametrize("role", [Role.COMPLIANCE_OFFICER, Role.ADMINISTRATOR, Role.PORTFOLIO_MONITOR])
def test_roles_without_customer_write_are_refused(
    make_user: Callable[..., User], branch_a: Branch, role: str
) -> None:
    user = make_user("someone", role)
    with pytest.raises(errors.PermissionDenied):
        services.create_party(actor=user, kind=PartyKind.SME, legal_name="Acme", branch=branch_a)
    assert not Party.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "bank"}, "kind"),
        ({"legal_name": "   "}, "legal_name"),
        ({"legal_name": "x" * 301}, "legal_name"),
        ({"legal_name": "bad\x00name"}, "legal_name"),
        ({"country": "China"}, "country"),
        ({"country": "C1"}, "country"),
        ({"segment": "huge"}, "segment"),
        ({"lifecycle": "dead"}, "lifecycle"),
        ({"industry_code": "!!"}, "industry_code"),
        ({"annual_revenue": Money(Decimal("-1"), "CNY")}, "annual_revenue"),
        ({"annual_revenue": Money(Decimal("1.001"), "CNY")}, "annual_revenue"),
        ({"total_assets": Money(Decimal("1E+19"), "USD")}, "total_assets"),
        ({"employees": -3}, "employees"),
        ({"birth_date": date(1980, 1, 1)}, "birth_date"),
        ({"branch": None}, "branch"),
    ],
)
def test_invalid_profile_is_refused_and_nothing_written(
    analyst: User, branch_a: Branch, changes: dict[str, object], field: str
) -> None:
    values: dict[str, object] = {"kind": PartyKind.CORPORATE, "legal_name": "Acme", "branch": branch_a}
    values.update(changes)
    with pytest.raises(errors.ValidationFailed) as excinfo:
        services.create_party(actor=analyst, **values)  # type: ignore[arg-type]
    assert field in excinfo.value.field_errors
    assert not Party.objects.exists()
    assert not AuditEvent.objects.filter(action="party.created").exists()


def test_money_needs_an_iso_currency() -> None:
    with pytest.raises(ValueError, match="three-letter"):
        Money(Decimal(1), "cny")


def test_birth_date_is_for_natural_persons(analyst: User, branch_a: Branch) -> None:
    person = services.create_party(
        actor=analyst,
        kind=PartyKind.INDIVIDUAL,
        legal_name="Li Lei",
        branch=branch_a,
        birth_date=date(1980, 5, 1),
    )
    assert person.birth_date == date(1980, 5, 1)


@pytest.mark.parametrize(
    ("scheme", "value", "words"),
    [("lei", "5493001KJTIIGC8Y1R13", "LEI"), ("uscc", "91350100M000100Y44", "unified social credit code")],
)
def test_invalid_identifier_names_the_scheme_and_writes_nothing(
    analyst: User, branch_a: Branch, scheme: str, value: str, words: str
) -> None:
    with pytest.raises(errors.ValidationFailed) as excinfo:
        services.create_party(
            actor=analyst,
            kind=PartyKind.CORPORATE,
            legal_name="Acme",
            branch=branch_a,
            identifiers=[("tax_number", "TAX-123"), (scheme, value)],
        )
    assert words in excinfo.value.detail
    assert words in excinfo.value.field_errors["identifiers.1.value"][0]
    assert not Party.objects.exists()
    assert not Identifier.objects.exists()


def test_the_same_identifier_twice_in_one_request_is_refused(analyst: User, branch_a: Branch) -> None:
    lei = make_lei()
    with pytest.raises(errors.ValidationFailed) as excinfo:
        services.create_party(
            actor=analyst,
            kind=PartyKind.CORPORATE,
            legal_name="Acme",
            branch=branch_a,
            identifiers=[("lei", lei), ("lei", lei.lower())],
        )
    assert "identifiers.1.value" in excinfo.value.field_errors
    assert not Party.objects.exists()


def test_duplicate_identifier_names_the_holder_the_actor_may_see(
    rm_a: User, make_party: MakeParty, branch_a: Branch
) -> None:
    lei = make_lei()
    holder = make_party("China Three Gorges Corporation", identifiers=[("lei", lei)])
    with pytest.raises(errors.ValidationFailed) as excinfo:
        services.create_party(
            actor=rm_a,
            kind=PartyKind.CORPORATE,
            legal_name="Copycat",
            branch=branch_a,
            identifiers=[("lei", lei)],
        )
    message = excinfo.value.field_errors["identifiers.0.value"][0]
    assert "China Three Gorges Corporation" in message
    assert f"party {holder.pk}" in message
    assert Party.objects.count() == 1


def test_duplicate_identifier_out_of_scope_does_not_leak_the_holder(
    rm_b: User, make_party: MakeParty, branch_b: Branch
) -> None:
    uscc = make_uscc()
    make_party("Secret Holding", identifiers=[("uscc", uscc)])  # booked at branch A
    with pytest.raises(errors.ValidationFailed) as excinfo:
        services.create_party(
            actor=rm_b,
            kind=PartyKind.CORPORATE,
            legal_name="Copycat",
            branch=branch_b,
            identifiers=[("uscc", uscc)],
        )
    assert "already registered to another party" in excinfo.value.detail
    assert "Secret" not in str(excinfo.value.field_errors)
    assert Party.objects.count() == 1


def test_front_office_cannot_create_a_party_it_would_not_see(
    make_user: Callable[..., User], branch_b: Branch
) -> None:
    agent = make_user("agent", Role.SERVICE_AGENT)  # branch A, no coverage by default
    with pytest.raises(errors.ValidationFailed) as excinfo:
        services.create_party(actor=agent, kind=PartyKind.SME, legal_name="Far away", branch=branch_b)
    assert "branch" in excinfo.value.field_errors
    assert not Party.objects.exists()


# --- update_party ---------------------------------------------------------------------------------
def test_update_bumps_version_refreshes_search_and_audits(rm_a: User, make_party: MakeParty) -> None:
    party = make_party("Old Name", actor=rm_a)
    updated = services.update_party(
        actor=rm_a, party=party, expected_version=1, legal_name="China Yangtze Power", local_name="长江电力"
    )
    assert updated.version == 2
    party.refresh_from_db()
    assert party.version == 2
    assert "长江电力" in party.search_text
    assert "old name" not in party.search_text
    event = AuditEvent.objects.get(action="party.updated", party_id=party.pk)
    assert event.changes == {
        "before": {"legal_name": "Old Name", "local_name": ""},
        "after": {"legal_name": "China Yangtze Power", "local_name": "长江电力"},
    }


def test_update_with_a_stale_version_changes_nothing(rm_a: User, make_party: MakeParty) -> None:
    party = make_party("Acme", actor=rm_a)
    services.update_party(actor=rm_a, party=party, expected_version=1, short_name="A")
    with pytest.raises(errors.PreconditionFailed):
        services.update_party(actor=rm_a, party=party, expected_version=1, short_name="B")
    party.refresh_from_db()
    assert (party.short_name, party.version) == ("A", 2)


def test_update_without_a_change_keeps_the_version(rm_a: User, make_party: MakeParty) -> None:
    party = make_party("Acme", actor=rm_a)
    services.update_party(actor=rm_a, party=party, legal_name="Acme")
    party.refresh_from_db()
    assert party.version == 1
    assert events("party.updated", party) == 0


def test_update_refuses_unknown_fields(rm_a: User, make_party: MakeParty) -> None:
    party = make_party("Acme", actor=rm_a)
    with pytest.raises(errors.ValidationFailed) as excinfo:
        services.update_party(actor=rm_a, party=party, search_text="hack")
    assert "search_text" in excinfo.value.field_errors


@pytest.mark.parametrize(
    ("path", "last_allowed"),
    [
        (["active", "dormant", "active", "dormant", "former"], True),
        (["dormant"], False),
        (["former"], True),
        (["active", "former"], True),
        (["former", "prospect"], True),
        (["former", "active"], False),
        (["active", "prospect"], False),
        (["active", "dormant", "prospect"], False),
        (["active", "dormant", "former", "active"], False),
    ],
)
def test_lifecycle_transitions(
    rm_a: User, make_party: MakeParty, path: list[str], last_allowed: bool
) -> None:
    party = make_party("Acme", actor=rm_a)
    for step in path[:-1]:
        services.update_party(actor=rm_a, party=party, lifecycle=step)
    if last_allowed:
        services.update_party(actor=rm_a, party=party, lifecycle=path[-1])
        assert Party.objects.get(pk=party.pk).lifecycle == path[-1]
        return
    before = Party.objects.get(pk=party.pk)
    with pytest.raises(errors.Conflict) as excinfo:
        services.update_party(actor=rm_a, party=party, lifecycle=path[-1])
    assert excinfo.value.status == 409
    after = Party.objects.get(pk=party.pk)
    assert (after.lifecycle, after.version) == (before.lifecycle, before.version)


def test_other_branch_cannot_update_and_nothing_changes(
    rm_a: User, rm_b: User, make_party: MakeParty
) -> None:
    party = make_party("Acme", actor=rm_a)
    with pytest.raises(errors.NotFound):
        services.update_party(actor=rm_b, party=party, legal_name="Hijacked")
    party.refresh_from_db()
    assert (party.legal_name, party.version) == ("Acme", 1)


def test_moving_a_party_out_of_sight_is_refused(
    make_user: Callable[..., User], make_party: MakeParty, branch_b: Branch
) -> None:
    agent = make_user("agent", Role.SERVICE_AGENT)
    party = make_party("Acme")
    with pytest.raises(errors.ValidationFailed):
        services.update_party(actor=agent, party=party, branch=branch_b)
    party.refresh_from_db()
    assert party.branch.code == "SH01"


# --- identifiers and coverage ----------------------------------------------------------------------
def test_add_and_remove_identifier(rm_a: User, make_party: MakeParty) -> None:
    party = make_party("Acme", actor=rm_a)
    identifier = services.add_identifier(
        actor=rm_a, party=party, scheme="national_registration", value=" RC-998 "
    )
    party.refresh_from_db()
    assert (identifier.value, party.version) == ("RC-998", 2)
    assert "rc-998" in party.search_text
    services.remove_identifier(actor=rm_a, identifier=identifier)
    party.refresh_from_db()
    assert not Identifier.objects.filter(party=party).exists()
    assert "rc-998" not in party.search_text
    assert party.version == 3
    assert events("party.identifier_added", party) == events("party.identifier_removed", party) == 1


def test_add_identifier_refuses_one_held_by_another_party(rm_a: User, make_party: MakeParty) -> None:
    lei = make_lei()
    holder = make_party("Holder", identifiers=[("lei", lei)])
    party = make_party("Acme", actor=rm_a)
    with pytest.raises(errors.ValidationFailed, match=f"Holder \\(party {holder.pk}\\)"):
        services.add_identifier(actor=rm_a, party=party, scheme="lei", value=lei)
    assert not Identifier.objects.filter(party=party).exists()


def test_set_coverage_replaces_lead_and_team(
    rm_a: User, analyst: User, make_user: Callable[..., User], make_party: MakeParty
) -> None:
    rm_2 = make_user("rm_2", Role.RELATIONSHIP_MANAGER)
    party = make_party("Acme", actor=rm_a)
    services.set_coverage(actor=rm_a, party=party, lead=rm_2, team=[rm_a, analyst, rm_2])
    rows = set(Coverage.objects.filter(party=party).values_list("user_id", "role"))
    assert rows == {(rm_2.pk, "lead"), (rm_a.pk, "team"), (analyst.pk, "team")}
    event = AuditEvent.objects.get(action="party.coverage_changed", party_id=party.pk)
    assert event.changes["after"]["lead"] == rm_2.pk
    assert Party.objects.get(pk=party.pk).version == 2


def test_coverage_lead_must_be_an_rm(
    rm_a: User, analyst: User, admin_user: User, make_party: MakeParty
) -> None:
    party = make_party("Acme", actor=rm_a)
    with pytest.raises(errors.ValidationFailed, match="relationship manager"):
        services.set_coverage(actor=rm_a, party=party, lead=analyst)
    with pytest.raises(errors.ValidationFailed, match="business role"):
        services.set_coverage(actor=rm_a, party=party, lead=rm_a, team=[admin_user])
    assert list(Coverage.objects.filter(party=party).values_list("user_id", flat=True)) == [rm_a.pk]


# --- contacts -------------------------------------------------------------------------------------
def test_create_contact_with_points_makes_emails_searchable(rm_a: User, make_party: MakeParty) -> None:
    party = make_party("Acme", actor=rm_a)
    contact = services.create_contact(
        actor=rm_a,
        party=party,
        role="cfo",
        full_name="Wang Fang",
        local_name="王芳",
        points=[
            NewContactPoint("email", "Wang.Fang@Acme.example", is_preferred=True),
            NewContactPoint("phone", "+86 21 5555 0101"),
        ],
    )
    assert ContactRole.objects.get(contact=contact).role == "cfo"
    assert ContactPoint.objects.filter(contact=contact).count() == 2
    party.refresh_from_db()
    assert "wang.fang@acme.example" in party.search_text
    assert events("contact.created", party) == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"role": "ubo"}, "ownership_pct"),
        ({"role": "cfo", "ownership_pct": Decimal(10)}, "ownership_pct"),
        ({"role": "ubo", "ownership_pct": Decimal("100.5")}, "ownership_pct"),
        ({"role": "boss"}, "role"),
        ({"role": "cfo", "full_name": ""}, "full_name"),
        ({"role": "cfo", "points": [NewContactPoint("email", "not-an-email")]}, "points.0.value"),
        ({"role": "cfo", "points": [NewContactPoint("phone", "call me")]}, "points.0.value"),
        ({"role": "cfo", "points": [NewContactPoint("fax", "123456")]}, "points.0.kind"),
        (
            {
                "role": "cfo",
                "points": [
                    NewContactPoint("email", "a@b.cn", is_preferred=True),
                    NewContactPoint("email", "c@d.cn", is_preferred=True),
                ],
            },
            "points",
        ),
    ],
)
def test_invalid_contact_is_refused(
    rm_a: User, make_party: MakeParty, kwargs: dict[str, object], field: str
) -> None:
    party = make_party("Acme", actor=rm_a)
    kwargs.setdefault("full_name", "Wang Fang")
    with pytest.raises(errors.ValidationFailed) as excinfo:
        services.create_contact(actor=rm_a, party=party, **kwargs)  # type: ignore[arg-type]
    assert field in excinfo.value.field_errors
    assert not ContactRole.objects.exists()


def test_beneficial_ownership_cannot_exceed_100(rm_a: User, make_party: MakeParty) -> None:
    party = make_party("Acme", actor=rm_a)
    owner = services.create_contact(
        actor=rm_a, party=party, role="ubo", full_name="Owner One", ownership_pct=Decimal(60)
    )
    with pytest.raises(errors.ValidationFailed, match="100"):
        services.create_contact(
            actor=rm_a, party=party, role="ubo", full_name="Owner Two", ownership_pct=Decimal(41)
        )
    services.create_contact(
        actor=rm_a, party=party, role="ubo", full_name="Owner Two", ownership_pct=Decimal(40)
    )
    other = services.create_contact(actor=rm_a, party=party, role="director", full_name="Director")
    with pytest.raises(errors.ValidationFailed, match="100"):
        services.add_contact_role(
            actor=rm_a, contact=other, party=party, role="ubo", ownership_pct=Decimal("0.001")
        )
    with pytest.raises(errors.ValidationFailed, match="already has this role"):
        services.add_contact_role(
            actor=rm_a, contact=owner, party=party, role="ubo", ownership_pct=Decimal(1)
        )
    assert ContactRole.objects.filter(party=party, role="ubo").count() == 2


def test_add_contact_role_at_a_second_party(rm_a: User, make_party: MakeParty) -> None:
    first, second = make_party("First", actor=rm_a), make_party("Second", actor=rm_a)
    contact = services.create_contact(
        actor=rm_a,
        party=first,
        role="director",
        full_name="Zhang Wei",
        points=[NewContactPoint("email", "zw@first.example")],
    )
    services.add_contact_role(actor=rm_a, contact=contact, party=second, role="guarantor")
    second.refresh_from_db()
    contact.refresh_from_db()
    assert "zw@first.example" in second.search_text
    assert contact.version == 2
    assert events("contact.role_added", second) == 1


def test_preferred_point_moves_to_the_new_one(rm_a: User, make_party: MakeParty) -> None:
    party = make_party("Acme", actor=rm_a)
    contact = services.create_contact(
        actor=rm_a,
        party=party,
        role="cfo",
        full_name="Wang Fang",
        points=[
            NewContactPoint("email", "old@acme.example", is_preferred=True),
            NewContactPoint("phone", "+86 21 5555 0101", is_preferred=True),
        ],
    )
    new = services.add_contact_point(
        actor=rm_a, contact=contact, kind="email", value="new@acme.example", is_preferred=True
    )
    preferred = set(
        ContactPoint.objects.filter(contact=contact, is_preferred=True).values_list("value", flat=True)
    )
    assert preferred == {"new@acme.example", "+86 21 5555 0101"}
    assert new.is_preferred
    party.refresh_from_db()
    assert "new@acme.example" in party.search_text
    assert events("contact.point_added", party) == 1


def test_update_contact_checks_version(rm_a: User, rm_b: User, make_party: MakeParty) -> None:
    party = make_party("Acme", actor=rm_a)
    contact = services.create_contact(actor=rm_a, party=party, role="cfo", full_name="Wang Fang")
    services.update_contact(actor=rm_a, contact=contact, expected_version=1, title="CFO")
    with pytest.raises(errors.PreconditionFailed):
        services.update_contact(actor=rm_a, contact=contact, expected_version=1, title="CEO")
    with pytest.raises(errors.NotFound):
        services.update_contact(actor=rm_b, contact=contact, title="Spy")
    with pytest.raises(errors.NotFound):
        services.add_contact_point(actor=rm_b, contact=contact, kind="email", value="spy@evil.example")
    contact.refresh_from_db()
    assert (contact.title, contact.version) == ("CFO", 2)
    assert events("contact.updated", party) == 1


# --- relationships --------------------------------------------------------------------------------
def test_ownership_link_needs_a_percentage_and_plain_links_refuse_one(
    analyst: User, make_party: MakeParty
) -> None:
    a, b = make_party("A"), make_party("B")
    with pytest.raises(errors.ValidationFailed, match="ownership"):
        services.create_relationship(actor=analyst, from_party=a, to_party=b, kind="parent_of")
    with pytest.raises(errors.ValidationFailed, match="ownership"):
        services.create_relationship(
            actor=analyst, from_party=a, to_party=b, kind="guarantor_of", ownership_pct=Decimal(10)
        )
    with pytest.raises(errors.ValidationFailed, match="itself"):
        services.create_relationship(actor=analyst, from_party=a, to_party=a, kind="guarantor_of")
    with pytest.raises(errors.ValidationFailed):
        services.create_relationship(actor=analyst, from_party=a, to_party=b, kind="friend_of")


def test_ownership_into_a_party_cannot_exceed_100(analyst: User, make_party: MakeParty) -> None:
    a, b, target = make_party("A"), make_party("B"), make_party("Target Co")
    services.create_relationship(
        actor=analyst, from_party=a, to_party=target, kind="parent_of", ownership_pct=Decimal(70)
    )
    with pytest.raises(errors.ValidationFailed) as excinfo:
        services.create_relationship(
            actor=analyst, from_party=b, to_party=target, kind="shareholder_of", ownership_pct=Decimal("30.5")
        )
    assert "Target Co is already 70 % owned" in excinfo.value.detail
    assert excinfo.value.code == "ownership_over_100"
    services.create_relationship(
        actor=analyst, from_party=b, to_party=target, kind="shareholder_of", ownership_pct=Decimal(30)
    )
    with pytest.raises(errors.ValidationFailed, match="already linked"):
        services.create_relationship(
            actor=analyst, from_party=b, to_party=target, kind="shareholder_of", ownership_pct=Decimal(1)
        )


def test_ownership_cycle_is_refused(analyst: User, make_party: MakeParty) -> None:
    a, b, c = make_party("A Corp"), make_party("B Corp"), make_party("C Corp")
    services.create_relationship(
        actor=analyst, from_party=a, to_party=b, kind="parent_of", ownership_pct=Decimal(60)
    )
    services.create_relationship(
        actor=analyst, from_party=b, to_party=c, kind="parent_of", ownership_pct=Decimal(60)
    )
    for kind in ("parent_of", "shareholder_of"):
        with pytest.raises(errors.ValidationFailed) as excinfo:
            services.create_relationship(
                actor=analyst, from_party=c, to_party=a, kind=kind, ownership_pct=Decimal(10)
            )
        assert excinfo.value.code == "relationship_cycle"
        assert "A Corp already owns or controls C Corp" in excinfo.value.detail
    with pytest.raises(errors.ValidationFailed, match="cycle"):
        services.create_relationship(actor=analyst, from_party=a, to_party=c, kind="member_of_group")
    assert events("relationship.created", c) == 1  # only B -> C; the refused links left no trace
    assert Relationship.objects.count() == 2


def test_group_membership_cycles_are_refused(analyst: User, make_party: MakeParty) -> None:
    head, mid, low = make_party("Head"), make_party("Mid"), make_party("Low")
    services.create_relationship(actor=analyst, from_party=mid, to_party=head, kind="member_of_group")
    services.create_relationship(actor=analyst, from_party=low, to_party=mid, kind="member_of_group")
    with pytest.raises(errors.ValidationFailed, match="cycle"):
        services.create_relationship(actor=analyst, from_party=head, to_party=low, kind="member_of_group")
    with pytest.raises(errors.ValidationFailed, match="cycle"):
        services.create_relationship(
            actor=analyst, from_party=low, to_party=head, kind="parent_of", ownership_pct=Decimal(5)
        )
    # Links that are not control edges may point anywhere.
    services.create_relationship(actor=analyst, from_party=low, to_party=head, kind="guarantor_of")


def test_relationship_audit_and_delete(analyst: User, rm_b: User, make_party: MakeParty) -> None:
    a, b = make_party("A"), make_party("B")
    rel = services.create_relationship(actor=analyst, from_party=a, to_party=b, kind="sponsor_of")
    assert events("relationship.created", a) == events("relationship.created", b) == 1
    with pytest.raises(errors.NotFound):
        services.delete_relationship(actor=rm_b, relationship=rel)
    services.delete_relationship(actor=analyst, relationship=rel)
    assert events("relationship.deleted", a) == events("relationship.deleted", b) == 1
    with pytest.raises(errors.NotFound):
        services.delete_relationship(actor=analyst, relationship=rel)


def test_linking_to_a_party_out_of_scope_is_not_found(
    rm_b: User, make_party: MakeParty, branch_b: Branch
) -> None:
    mine = make_party("Mine", branch=branch_b)
    theirs = make_party("Theirs")
    with pytest.raises(errors.NotFound):
        services.create_relationship(actor=rm_b, from_party=mine, to_party=theirs, kind="guarantor_of")
    with pytest.raises(errors.NotFound):
        services.create_contact(actor=rm_b, party=theirs, role="cfo", full_name="Spy")


def test_links_and_shared_contacts_are_audited_in_every_party_they_touch(
    rm_a: User, make_party: MakeParty
) -> None:
    parent, child = make_party("Parent", actor=rm_a), make_party("Child", actor=rm_a)
    link = services.create_relationship(
        actor=rm_a, from_party=parent, to_party=child, kind="parent_of", ownership_pct=Decimal(60)
    )
    events = AuditEvent.objects.filter(object_type="relationship", object_id=str(link.pk))
    assert sorted(events.values_list("party_id", flat=True)) == sorted([parent.pk, child.pk])

    contact = services.create_contact(actor=rm_a, party=parent, role="director", full_name="Wang Fang")
    services.add_contact_role(actor=rm_a, contact=contact, party=child, role="cfo")
    contact.refresh_from_db()
    services.update_contact(actor=rm_a, contact=contact, expected_version=contact.version, title="Chair")
    updates = AuditEvent.objects.filter(action="contact.updated", object_id=str(contact.pk))
    assert sorted(updates.values_list("party_id", flat=True)) == sorted([parent.pk, child.pk])
    assert all(e.changes["after"] == {"title": "Chair"} for e in updates)
