"""The substring index behind party search stays in step with the parties and gives the same answers
as a plain scan, for every script and every term length."""

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from lendcrm.core.access import party_scope_ids
from lendcrm.core.models import Branch, User
from lendcrm.core.roles import Role
from lendcrm.parties import search, selectors, services
from lendcrm.parties.models import Party, PartySearchGram
from lendcrm.parties.search import cjk_pairs
from lendcrm.parties.services import NewContactPoint
from tests.conftest import on_postgres

pytestmark = pytest.mark.django_db

MakeParty = Callable[..., Party]
TERMS = [
    "浦东",
    "浦东发展",
    "三峡集团",
    "pudong",
    "PUDONG dev",
    "ev",
    "5493001kjt",
    "nothing-like-this",
    "50%",
    "a_b",
]


@pytest.fixture
def parties(make_party: MakeParty, rm_a: User) -> list[Party]:
    return [
        make_party("Shanghai Pudong Development Bank", actor=rm_a, local_name="上海浦东发展银行",
                   identifiers=[("lei", "5493001KJTIIGC8Y1R12")]),
        make_party("China Three Gorges Corporation", actor=rm_a, local_name="中国长江三峡集团有限公司"),
        make_party("Evergreen Solar 50% Partners", actor=rm_a, short_name="a_b"),
    ]  # fmt: skip


def _scan(viewer: User, search: str) -> set[int]:
    """What a plain scan of the search column finds: the reference answer."""
    qs = selectors.visible_parties(viewer=viewer)
    for term in search.lower().split():
        qs = qs.filter(search_text__contains=term)
    return set(qs.values_list("pk", flat=True))


@pytest.mark.parametrize("term", TERMS)
def test_indexed_search_agrees_with_a_scan(parties: list[Party], analyst: User, term: str) -> None:
    found = set(selectors.party_list(viewer=analyst, search=term).values_list("pk", flat=True))
    assert found == _scan(analyst, term)


def test_expected_hits(parties: list[Party], analyst: User) -> None:
    def hits(term: str) -> list[str]:
        return sorted(selectors.party_list(viewer=analyst, search=term).values_list("legal_name", flat=True))

    assert hits("浦东发展") == ["Shanghai Pudong Development Bank"]
    assert hits("三峡") == ["China Three Gorges Corporation"]
    assert hits("5493001KJTIIGC8Y1R12") == ["Shanghai Pudong Development Bank"]
    assert hits("50%") == ["Evergreen Solar 50% Partners"]
    assert hits("gorges three") == ["China Three Gorges Corporation"]


def test_index_follows_renames_and_deletions(parties: list[Party], rm_a: User, analyst: User) -> None:
    party = parties[1]
    services.update_party(
        actor=rm_a, party=party, legal_name="Yangtze Power Holdings", local_name="长江电力控股"
    )
    assert not selectors.party_list(viewer=analyst, search="three gorges").exists()
    assert list(selectors.party_list(viewer=analyst, search="长江电力").values_list("pk", flat=True)) == [
        party.pk
    ]
    Party.objects.filter(pk=party.pk).delete()
    assert not selectors.party_list(viewer=analyst, search="长江电力").exists()


def test_the_index_exists(db: Any) -> None:
    with connection.cursor() as cursor:
        if on_postgres():
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'party_search_trgm'")
            assert "gin_trgm_ops" in cursor.fetchone()[0]
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'parties_party_fts'")
            assert "trigram" in cursor.fetchone()[0]


# --- CJK pairs, dense terms, scoped searches --------------------------------------------------------
def _pairs_of(party: Party) -> set[str]:
    return set(PartySearchGram.objects.filter(party=party).values_list("gram", flat=True))


def test_cjk_pairs() -> None:
    assert cjk_pairs("上海浦东\nabc 银行") == {"上海", "海浦", "浦东", "银行"}
    assert cjk_pairs("a上b海") == set()
    assert cjk_pairs("") == set()


@pytest.mark.parametrize(("dense", "few"), [(False, True), (True, True), (False, False)])
@pytest.mark.parametrize("term", [*TERMS, "三峡", "银行", "浦", "pudong 浦东", "development 50%"])
def test_every_path_agrees_with_a_scan(
    parties: list[Party],
    analyst: User,
    rm_a: User,
    term: str,
    dense: bool,
    few: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rare terms go through an index, dense ones (every term here when DENSE_MATCHES is 1) are tested row
    by row; a scoped user's few index hits are tested against the scope rule, else the search starts from
    their parties. Every path gives what a plain scan gives, for the whole book and for a scoped user."""
    if dense:
        monkeypatch.setattr(search, "DENSE_MATCHES", 1)
    monkeypatch.setattr(selectors, "FEW_MATCHES", 1000 if few else -1)
    for viewer in (analyst, rm_a):
        found = set(selectors.party_list(viewer=viewer, search=term).values_list("pk", flat=True))
        assert found == _scan(viewer, term)


def test_two_chinese_characters_find_the_party_through_the_pairs(
    parties: list[Party], analyst: User, django_assert_num_queries: Any
) -> None:
    assert _pairs_of(parties[1]) == cjk_pairs(parties[1].search_text)
    assert analyst.role_slugs  # loaded once per request, before the search
    with django_assert_num_queries(2):  # is the pair rare (stops counting at DENSE_MATCHES), the page
        found = list(selectors.party_list(viewer=analyst, search="三峡").values_list("legal_name", flat=True))
    assert found == ["China Three Gorges Corporation"]


def test_pairs_follow_renames_identifiers_and_contacts(
    parties: list[Party], rm_a: User, analyst: User
) -> None:
    party = parties[1]

    def hits(term: str) -> list[int]:
        return list(selectors.party_list(viewer=analyst, search=term).values_list("pk", flat=True))

    services.update_party(actor=rm_a, party=party, local_name="长江电力控股")
    assert hits("三峡") == []
    assert hits("电力") == [party.pk]
    assert _pairs_of(party) == cjk_pairs(Party.objects.get(pk=party.pk).search_text)
    services.add_identifier(actor=rm_a, party=party, scheme="tax_number", value="税号-甲乙")
    assert hits("甲乙") == [party.pk]
    services.create_contact(
        actor=rm_a,
        party=party,
        role="cfo",
        full_name="Wang",
        points=[NewContactPoint("email", "wang@例子.cn")],
    )
    assert hits("例子") == [party.pk]
    assert _pairs_of(party) == cjk_pairs(Party.objects.get(pk=party.pk).search_text)
    services.update_party(actor=rm_a, party=party, local_name="")
    assert hits("电力") == []
    Party.objects.filter(pk=party.pk).delete()
    assert not PartySearchGram.objects.filter(party_id=party.pk).exists()


def test_a_scoped_search_never_shows_parties_out_of_scope(
    make_party: MakeParty, rm_a: User, rm_b: User, branch_b: Branch, analyst: User
) -> None:
    """An RM sees matches booked at their branch or that they cover, and no other, on every path."""
    at_a = make_party("Harbour Wind A", local_name="海港风电甲")
    at_b = make_party("Harbour Wind B", local_name="海港风电乙", branch=branch_b)
    covered_b = make_party("Harbour Wind C", local_name="海港风电丙", branch=branch_b)
    services.set_coverage(actor=None, party=covered_b, lead=None, team=[rm_a])
    for term in ("风电", "harbour wind", "海港风电", "wind"):
        for dense, few in itertools.product((False, True), (False, True)):
            with pytest.MonkeyPatch.context() as patch:
                if dense:
                    patch.setattr(search, "DENSE_MATCHES", 1)
                # few index hits are tested against party_scope; else the search starts from party_scope_ids
                patch.setattr(selectors, "FEW_MATCHES", 1000 if few else -1)
                seen = {
                    who.username: set(
                        selectors.party_list(viewer=who, search=term).values_list("pk", flat=True)
                    )
                    for who in (rm_a, rm_b, analyst)
                }
            assert seen["rm_a"] == {at_a.pk, covered_b.pk}, (term, dense, few)
            assert seen["rm_b"] == {at_b.pk, covered_b.pk}, (term, dense, few)
            assert seen["analyst"] == {at_a.pk, at_b.pk, covered_b.pk}, (term, dense, few)


def test_scope_ids_are_the_scope_rule(
    make_party: MakeParty, make_user: Callable[..., User], rm_a: User, branch_b: Branch, analyst: User
) -> None:
    """core.access.party_scope_ids is party_scope as a set of ids, for every kind of user."""
    covered = make_party("Covered at B", branch=branch_b)
    make_party("At A")
    make_party("At B", branch=branch_b)
    roaming = make_user("roaming_rm", Role.RELATIONSHIP_MANAGER)
    roaming.branch = None
    roaming.save()
    services.set_coverage(actor=None, party=covered, lead=None, team=[rm_a, roaming])
    agent = make_user("agent_b", Role.SERVICE_AGENT, branch=branch_b)
    admin = make_user("admin_only", Role.ADMINISTRATOR)
    for user in (rm_a, roaming, agent, admin, analyst):
        user = User.objects.get(pk=user.pk)
        ids = party_scope_ids(user)
        by_ids = (
            set(Party.objects.values_list("pk", flat=True))
            if ids is None
            else set(Party.objects.filter(pk__in=ids).values_list("pk", flat=True))
        )
        assert by_ids == set(selectors.visible_parties(viewer=user).values_list("pk", flat=True)), user
