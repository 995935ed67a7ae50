"""Property: whatever links are attempted, ownership stays acyclic and at most 100 % into any party."""

import contextlib
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lendcrm.core import errors
from lendcrm.parties import services
from lendcrm.parties.models import GROUP_KINDS, OWNERSHIP_KINDS, Party, Relationship

pytestmark = pytest.mark.django_db

N_PARTIES = 5
KINDS = ["parent_of", "shareholder_of", "member_of_group", "guarantor_of"]

attempt = st.tuples(
    st.integers(0, N_PARTIES - 1),
    st.integers(0, N_PARTIES - 1),
    st.sampled_from(KINDS),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(100), places=3),
)


def has_cycle(edges: list[tuple[int, int]]) -> bool:
    """Depth-first search for a back edge."""
    graph: dict[int, list[int]] = defaultdict(list)
    for a, b in edges:
        graph[a].append(b)
    state: dict[int, int] = {}  # 1 on the stack, 2 done

    def visit(node: int) -> bool:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1 or (nxt not in state and visit(nxt)):
                return True
        state[node] = 2
        return False

    return any(node not in state and visit(node) for node in list(graph))


@pytest.fixture
def parties(make_party: Callable[..., Party]) -> list[Party]:
    return [make_party(f"P{i}") for i in range(N_PARTIES)]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(attempts=st.lists(attempt, max_size=14))
def test_links_never_make_a_cycle_or_more_than_100_percent(
    parties: list[Party], attempts: list[tuple[int, int, str, Decimal]]
) -> None:
    Relationship.objects.all().delete()  # each example starts from parties without links
    for src, dst, kind, pct in attempts:
        with contextlib.suppress(errors.ValidationFailed):  # refused links are part of the property
            services.create_relationship(
                actor=None,
                from_party=parties[src],
                to_party=parties[dst],
                kind=kind,
                ownership_pct=pct if kind in OWNERSHIP_KINDS else None,
            )
    rels = list(Relationship.objects.all())
    ownership = [(r.from_party_id, r.to_party_id) for r in rels if r.kind in OWNERSHIP_KINDS]
    control = [
        (r.from_party_id, r.to_party_id) if r.kind == "parent_of" else (r.to_party_id, r.from_party_id)
        for r in rels
        if r.kind in GROUP_KINDS
    ]
    assert not has_cycle(ownership)
    assert not has_cycle(control)
    into: dict[int, Decimal] = defaultdict(Decimal)
    for r in rels:
        if r.kind in OWNERSHIP_KINDS:
            assert r.ownership_pct is not None
            into[r.to_party_id] += r.ownership_pct
    assert all(total <= 100 for total in into.values())


def test_the_cycle_detector_finds_cycles() -> None:
    assert has_cycle([(1, 2), (2, 3), (3, 1)])
    assert not has_cycle([(1, 2), (2, 3), (1, 3)])
