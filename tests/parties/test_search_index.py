"""The substring index behind party search stays in step with the parties and gives the same answers
as a plain scan, for every script and every term length."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from lendcrm.core.models import User
from lendcrm.parties import selectors, services
from lendcrm.parties.models import Party
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
