"""Party list, search and filters through the selectors, scoped to the viewer."""

from collections.abc import Callable

import pytest

from lendcrm.core import errors
from lendcrm.core.models import Branch, User
from lendcrm.core.roles import Role
from lendcrm.parties import selectors, services
from lendcrm.parties.models import Party, PartyKind
from lendcrm.parties.services import NewContactPoint
from tests.parties.conftest import make_lei

pytestmark = pytest.mark.django_db

MakeParty = Callable[..., Party]


def names(qs: object) -> list[str]:
    return [p.legal_name for p in qs]  # type: ignore[attr-defined]


@pytest.fixture
def book(make_party: MakeParty, branch_b: Branch, rm_a: User) -> dict[str, Party]:
    spdb = make_party(
        "Shanghai Pudong Development Bank",
        local_name="上海浦东发展银行",
        kind=PartyKind.FINANCIAL_INSTITUTION,
        country="CN",
        segment="institutional",
        identifiers=[("lei", make_lei(7))],
        actor=rm_a,
    )
    ctg = make_party(
        "China Three Gorges Corporation",
        local_name="中国长江三峡集团",
        country="CN",
        segment="large_corporate",
        industry_code="D3511",
        branch=branch_b,
        lifecycle="active",
    )
    acme = make_party("Acme Trading", kind=PartyKind.SME, country="DE", segment="sme", actor=rm_a)
    services.create_contact(
        actor=None,
        party=acme,
        role="cfo",
        full_name="Hans Müller",
        points=[NewContactPoint("email", "Hans.Mueller@Acme-Trading.example")],
    )
    return {"spdb": spdb, "ctg": ctg, "acme": acme}


def test_search_any_script_identifier_and_email(analyst: User, book: dict[str, Party]) -> None:
    assert names(selectors.party_list(viewer=analyst, search="浦东发展")) == [
        "Shanghai Pudong Development Bank"
    ]
    assert names(selectors.party_list(viewer=analyst, search="长江三峡")) == [
        "China Three Gorges Corporation"
    ]
    assert names(selectors.party_list(viewer=analyst, search=make_lei(7).lower())) == [
        "Shanghai Pudong Development Bank"
    ]
    assert names(selectors.party_list(viewer=analyst, search="HANS.MUELLER@acme")) == ["Acme Trading"]
    assert names(selectors.party_list(viewer=analyst, search="china  gorges")) == [
        "China Three Gorges Corporation"
    ]
    assert names(selectors.party_list(viewer=analyst, search="china bank")) == []
    assert names(selectors.party_list(viewer=analyst, search="%")) == []


def test_search_respects_scope(rm_b: User, book: dict[str, Party]) -> None:
    assert names(selectors.party_list(viewer=rm_b, search="浦东")) == []
    assert names(selectors.party_list(viewer=rm_b)) == ["China Three Gorges Corporation"]


def test_filters(analyst: User, rm_a: User, book: dict[str, Party], branch_b: Branch) -> None:
    def find(**filters: object) -> list[str]:
        return names(selectors.party_list(viewer=analyst, **filters))  # type: ignore[arg-type]

    assert find(branch="bj01") == ["China Three Gorges Corporation"]
    assert find(branch=str(branch_b.pk)) == ["China Three Gorges Corporation"]
    assert find(kind="sme") == ["Acme Trading"]
    assert find(country="cn") == ["China Three Gorges Corporation", "Shanghai Pudong Development Bank"]
    assert find(segment="institutional") == ["Shanghai Pudong Development Bank"]
    assert find(lifecycle="active") == ["China Three Gorges Corporation"]
    assert find(industry_code="d3511") == ["China Three Gorges Corporation"]
    assert find(kyc_status="verified") == []
    assert find(rm=rm_a.pk) == ["Acme Trading", "Shanghai Pudong Development Bank"]
    assert find(ordering="-legal_name")[0] == "Shanghai Pudong Development Bank"
    with pytest.raises(errors.ValidationFailed):
        find(ordering="search_text")


def test_who_sees_what(
    book: dict[str, Party],
    rm_a: User,
    rm_b: User,
    analyst: User,
    admin_user: User,
    make_user: Callable[..., User],
) -> None:
    compliance = make_user("compliance", Role.COMPLIANCE_OFFICER)
    assert len(names(selectors.party_list(viewer=analyst))) == 3
    assert len(names(selectors.party_list(viewer=compliance))) == 3
    assert names(selectors.party_list(viewer=admin_user)) == []
    assert names(selectors.party_list(viewer=rm_a)) == ["Acme Trading", "Shanghai Pudong Development Bank"]
    services.set_coverage(actor=None, party=book["acme"], lead=rm_b)  # coverage crosses branches
    assert "Acme Trading" in names(selectors.party_list(viewer=rm_b))
    with pytest.raises(errors.NotFound):
        selectors.get_party(viewer=admin_user, party_id=book["acme"].pk)


def test_contact_visibility_follows_the_party(rm_a: User, rm_b: User, book: dict[str, Party]) -> None:
    contact = book["acme"].contact_roles.get().contact
    assert selectors.get_contact(viewer=rm_a, contact_id=contact.pk).full_name == "Hans Müller"
    with pytest.raises(errors.NotFound):
        selectors.get_contact(viewer=rm_b, contact_id=contact.pk)
    services.add_contact_role(actor=None, contact=contact, party=book["ctg"], role="guarantor")
    seen = selectors.get_contact(viewer=rm_b, contact_id=contact.pk)
    assert [r.party_id for r in seen.roles.all()] == [book["ctg"].pk]  # not the role at rm_a's party


def test_relationships_need_both_ends_in_scope(rm_a: User, rm_b: User, book: dict[str, Party]) -> None:
    rel = services.create_relationship(
        actor=None, from_party=book["ctg"], to_party=book["acme"], kind="guarantor_of"
    )
    with pytest.raises(errors.NotFound):
        selectors.get_relationship(viewer=rm_a, relationship_id=rel.pk)
    assert list(selectors.relationship_list(viewer=rm_b, party=book["ctg"])) == []
    (incoming,) = selectors.party_relationships(viewer=rm_a, party=book["acme"])
    assert incoming["id"] is None
    assert incoming["party"]["restricted"] is True
    assert incoming["direction"] == "incoming"
