"""Group queries: ultimate parent, the tree with ownership per link, connected parties, and what is hidden."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lendcrm.core.models import Branch, User
from lendcrm.parties import selectors, services
from lendcrm.parties.models import Party, PartyKind, Relationship

pytestmark = pytest.mark.django_db

MakeParty = Callable[..., Party]


def link(a: Party, b: Party, kind: str, pct: int | str | None = None) -> Relationship:
    return services.create_relationship(
        actor=None,
        from_party=a,
        to_party=b,
        kind=kind,
        ownership_pct=Decimal(pct) if pct is not None else None,
    )


def names(node: dict[str, Any]) -> dict[str, Any]:
    """The tree reduced to {name: (relationship, pct, children)} for readable assertions."""
    label = node["legal_name"] or "<restricted>"
    return {
        label: (
            node["relationship"],
            str(node["ownership_pct"]) if node["ownership_pct"] is not None else None,
            [names(child) for child in node["children"]],
        )
    }


def ids_in(node: dict[str, Any]) -> set[int]:
    """Every party id the tree discloses."""
    found = {node["id"]} if node["id"] is not None else set()
    for child in node["children"]:
        found |= ids_in(child)
    return found


@pytest.fixture
def group(make_party: MakeParty) -> dict[str, Party]:
    """China Three Gorges: a three-level group with a member attached to the head."""
    parties = {
        key: make_party(name, kind=PartyKind.CORPORATE)
        for key, name in [
            ("head", "中国长江三峡集团"),
            ("power", "China Yangtze Power"),
            ("renew", "Three Gorges Renewables"),
            ("wind", "Three Gorges Wind Farm SPV"),
            ("club", "Yangtze Club"),
        ]
    }
    link(parties["head"], parties["power"], "parent_of", 100)
    link(parties["head"], parties["renew"], "parent_of", "60.5")
    link(parties["renew"], parties["wind"], "parent_of", 51)
    link(parties["club"], parties["head"], "member_of_group")
    return parties


def test_ultimate_parent_and_tree_of_a_three_level_group(analyst: User, group: dict[str, Party]) -> None:
    tree = selectors.group_tree(viewer=analyst, party=group["wind"])
    assert tree["party_id"] == group["wind"].pk
    assert tree["ultimate_parent"]["id"] == group["head"].pk
    assert (tree["size"], tree["restricted"]) == (5, 0)
    assert names(tree["tree"]) == {
        "中国长江三峡集团": (
            None,
            None,
            [
                {"China Yangtze Power": ("parent_of", "100.000", [])},
                {
                    "Three Gorges Renewables": (
                        "parent_of",
                        "60.500",
                        [
                            {"Three Gorges Wind Farm SPV": ("parent_of", "51.000", [])},
                        ],
                    )
                },
                {"Yangtze Club": ("member_of_group", None, [])},
            ],
        )
    }
    for member in group.values():
        assert selectors.ultimate_parent_id(member) == group["head"].pk


def test_a_party_outside_any_group_is_its_own_root(analyst: User, make_party: MakeParty) -> None:
    alone = make_party("Alone")
    tree = selectors.group_tree(viewer=analyst, party=alone)
    assert tree["ultimate_parent"]["id"] == alone.pk
    assert tree["size"] == 1
    assert tree["tree"]["children"] == []


def test_majority_owner_is_the_way_up_and_shared_subsidiaries_appear_once(
    analyst: User, make_party: MakeParty
) -> None:
    top, minor, major, jv = (make_party(n) for n in ("Top", "Minor", "Major", "JV"))
    link(top, minor, "parent_of", 100)
    link(top, major, "parent_of", 100)
    link(minor, jv, "parent_of", 40)
    link(major, jv, "parent_of", 60)
    assert selectors.ultimate_parent_id(jv) == top.pk
    tree = selectors.group_tree(viewer=analyst, party=jv)
    children = {c["legal_name"]: c for c in tree["tree"]["children"]}
    jv_nodes = [*children["Minor"]["children"], *children["Major"]["children"]]
    assert [n["repeated"] for n in jv_nodes] == [False, True]
    assert tree["size"] == 4


def test_restricted_members_keep_the_shape_but_show_no_data(
    rm_b: User, group: dict[str, Party], branch_b: Branch
) -> None:
    Party.objects.filter(pk=group["wind"].pk).update(branch=branch_b)  # only the SPV is in rm_b's book
    tree = selectors.group_tree(viewer=rm_b, party=group["wind"])
    assert tree["ultimate_parent"] == {
        "id": None,
        "restricted": True,
        "legal_name": None,
        "local_name": None,
        "kind": None,
    }
    assert (tree["size"], tree["restricted"]) == (5, 4)
    assert names(tree["tree"]) == {
        "<restricted>": (
            None,
            None,
            [
                {"<restricted>": ("parent_of", None, [])},
                {
                    "<restricted>": (
                        "parent_of",
                        None,
                        [
                            {"Three Gorges Wind Farm SPV": ("parent_of", "51.000", [])},
                        ],
                    )
                },
                {"<restricted>": ("member_of_group", None, [])},
            ],
        )
    }
    assert "三峡" not in str(tree)
    assert ids_in(tree["tree"]) == {group["wind"].pk}


def test_group_tree_is_three_queries_at_any_size(analyst: User, make_party: MakeParty) -> None:
    def build(width: int) -> Party:
        head = make_party(f"Head {width}")
        previous = head
        for i in range(width):
            child = make_party(f"Sub {width}-{i}")
            link(previous if i % 2 else head, child, "parent_of", 10)
            previous = child
        return previous

    small, large = build(2), build(30)
    analyst.role_slugs  # noqa: B018  (load the roles before counting)
    counts = []
    for leaf in (small, large):
        with CaptureQueriesContext(connection) as ctx:
            tree = selectors.group_tree(viewer=analyst, party=leaf)
        counts.append(len(ctx.captured_queries))
        assert tree["size"] in (3, 31)
    assert counts == [3, 3]


# --- connected parties ------------------------------------------------------------------------------
def test_connected_parties_through_sponsor_and_guarantor_edges(analyst: User, make_party: MakeParty) -> None:
    spv, sponsor, guarantor, parent, supplier, far = (
        make_party(n) for n in ("Solar SPV", "Sponsor", "Guarantor", "Guarantor Parent", "Supplier", "Far")
    )
    link(sponsor, spv, "sponsor_of")
    link(guarantor, spv, "guarantor_of")
    link(parent, guarantor, "parent_of", 100)
    link(supplier, spv, "supplier_of")  # trade links do not connect exposure
    link(supplier, far, "parent_of", 100)
    expected = {sponsor.pk, guarantor.pk, parent.pk}
    assert selectors.connected_party_ids(party=spv) == expected
    assert selectors.connected_party_ids(party=parent) == {spv.pk, sponsor.pk, guarantor.pk}
    assert selectors.connected_party_ids(party=supplier) == {far.pk}
    visible = selectors.connected_parties(viewer=analyst, party=spv)
    assert {n["id"] for n in visible} == expected
    assert not any(n["restricted"] for n in visible)


def test_connected_parties_hide_what_the_viewer_may_not_see(
    rm_b: User, make_party: MakeParty, branch_b: Branch
) -> None:
    spv = make_party("SPV", branch=branch_b)
    sponsor = make_party("Hidden Sponsor")
    link(sponsor, spv, "sponsor_of")
    nodes = selectors.connected_parties(viewer=rm_b, party=spv)
    assert nodes == [{"id": None, "restricted": True, "legal_name": None, "local_name": None, "kind": None}]


def test_connected_parties_is_one_query_for_a_thousand_parties(analyst: User, branch_a: Branch) -> None:
    parties = Party.objects.bulk_create(
        [Party(kind=PartyKind.SME, legal_name=f"Chain {i}", branch=branch_a) for i in range(1001)]
    )
    kinds = ["parent_of", "guarantor_of", "sponsor_of", "member_of_group"]
    Relationship.objects.bulk_create(
        [
            Relationship(
                from_party=parties[i] if i % 3 else parties[i + 1],
                to_party=parties[i + 1] if i % 3 else parties[i],
                kind=kinds[i % 4],
                ownership_pct=Decimal(50) if kinds[i % 4] == "parent_of" else None,
            )
            for i in range(1000)
        ]
    )
    middle = parties[500]
    with CaptureQueriesContext(connection) as ctx:
        ids = selectors.connected_party_ids(party=middle)
    assert len(ctx.captured_queries) == 1
    assert len(ids) == 1000
    analyst.role_slugs  # noqa: B018  (load the roles before counting)
    with CaptureQueriesContext(connection) as ctx:
        nodes = selectors.connected_parties(viewer=analyst, party=middle)
    assert len(ctx.captured_queries) == 1
    assert len(nodes) == 1000
