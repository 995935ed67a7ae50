"""The customer 360: everything on one read, in a fixed number of queries, and every look audited."""

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoAssertNumQueries

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, Branch, User
from lendcrm.core.money import Money
from lendcrm.core.roles import Role
from lendcrm.interactions.models import Interaction, Task, TaskStatus
from lendcrm.parties import selectors, services
from lendcrm.parties.customer360 import customer_360_data
from lendcrm.parties.models import Party
from lendcrm.parties.serializers import Customer360Serializer, coverage_payload
from lendcrm.parties.services import NewContactPoint

pytestmark = pytest.mark.django_db

MakeParty = Callable[..., Party]
T0 = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)


def populate(party: Party, size: int, make_party: MakeParty, staff: User) -> None:
    """Give a party `size` of everything the 360 shows."""
    for i in range(size):
        services.add_identifier(actor=None, party=party, scheme="tax_number", value=f"TAX-{party.pk}-{i}")
        services.create_contact(
            actor=None,
            party=party,
            role="director",
            full_name=f"Director {i}",
            points=[
                NewContactPoint("email", f"d{i}@p{party.pk}.example", is_preferred=True),
                NewContactPoint("phone", f"+86 21 5555 {i:04d}"),
            ],
        )
        sub = make_party(f"Sub {party.pk}-{i}")
        services.create_relationship(
            actor=None, from_party=party, to_party=sub, kind="parent_of", ownership_pct=Decimal(100)
        )
        sponsor = make_party(f"Sponsor {party.pk}-{i}")
        services.create_relationship(actor=None, from_party=sponsor, to_party=party, kind="sponsor_of")
    Interaction.objects.bulk_create(
        [
            Interaction(
                party=party,
                channel="phone",
                direction="outbound",
                occurred_at=T0 + timedelta(hours=i),
                subject=f"Call {i}",
                staff=staff,
            )
            for i in range(size * 4)
        ]
    )
    Task.objects.bulk_create(
        [
            Task(
                party=party,
                title=f"Follow up {i}",
                assignee=staff,
                due_date=date(2025, 2, 1) + timedelta(days=i),
                status=TaskStatus.OPEN if i % 2 == 0 else TaskStatus.DONE,
            )
            for i in range(size * 2)
        ]
    )


def count_360(user_id: int, party_id: int) -> tuple[int, selectors.Customer360]:
    viewer = User.objects.get(pk=user_id)  # a fresh user, as each request has
    with CaptureQueriesContext(connection) as ctx:
        view = selectors.customer_360(viewer=viewer, party_id=party_id)
    return len(ctx.captured_queries), view


def test_360_shows_everything(rm_a: User, make_party: MakeParty) -> None:
    head = make_party("Group Head")
    party = make_party("上海浦东发展银行", actor=rm_a)
    services.create_relationship(
        actor=None, from_party=head, to_party=party, kind="parent_of", ownership_pct=Decimal(75)
    )
    populate(party, 3, make_party, rm_a)
    view = selectors.customer_360(viewer=rm_a, party_id=party.pk)
    assert view.party.pk == party.pk
    assert view.party.lead_rm_id == rm_a.pk  # type: ignore[attr-defined]
    assert len(view.identifiers) == 3
    assert [(c.user_id, c.role) for c in view.coverage] == [(rm_a.pk, "lead")]
    assert [c.contact.full_name for c in view.contacts] == ["Director 0", "Director 1", "Director 2"]
    assert all(len(c.points) == 2 and c.points[0].is_preferred for c in view.contacts)
    assert [r.role for c in view.contacts for r in c.roles] == ["director"] * 3
    assert view.group["ultimate_parent"]["legal_name"] == "Group Head"
    assert view.group["size"] == 5  # head, the party, three subsidiaries
    kinds = sorted((r["kind"], r["direction"]) for r in view.relationships)
    assert (
        kinds
        == [("parent_of", "incoming")] + [("parent_of", "outgoing")] * 3 + [("sponsor_of", "incoming")] * 3
    )
    assert [i.subject for i in view.recent_interactions] == [f"Call {i}" for i in range(11, 1, -1)]
    assert [t.title for t in view.open_tasks] == ["Follow up 0", "Follow up 2", "Follow up 4"]


def test_360_is_audited(rm_a: User, make_party: MakeParty) -> None:
    party = make_party("Acme", actor=rm_a)
    selectors.customer_360(viewer=rm_a, party_id=party.pk)
    selectors.customer_360(viewer=rm_a, party_id=party.pk)
    looks = AuditEvent.objects.filter(action="party.viewed_360", party_id=party.pk)
    assert looks.count() == 2
    assert {e.actor_id for e in looks} == {rm_a.pk}


def test_360_out_of_scope_is_not_found_and_not_audited(rm_b: User, make_party: MakeParty) -> None:
    party = make_party("Acme")
    with pytest.raises(errors.NotFound):
        selectors.customer_360(viewer=rm_b, party_id=party.pk)
    with pytest.raises(errors.NotFound):
        selectors.customer_360(viewer=rm_b, party_id="not-a-number")
    assert not AuditEvent.objects.filter(action="party.viewed_360").exists()


def test_360_query_count_is_the_same_at_two_sizes(rm_a: User, make_party: MakeParty) -> None:
    small, large = make_party("Small", actor=rm_a), make_party("Large", actor=rm_a)
    populate(small, 1, make_party, rm_a)
    populate(large, 12, make_party, rm_a)
    n_small, view_small = count_360(rm_a.pk, small.pk)
    n_large, view_large = count_360(rm_a.pk, large.pk)
    assert (len(view_small.contacts), len(view_large.contacts)) == (1, 12)
    assert (len(view_small.recent_interactions), len(view_large.recent_interactions)) == (4, 10)
    assert n_small == n_large
    assert n_large == 16


def test_360_pins_its_query_count(
    make_user: Callable[..., User], make_party: MakeParty, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    rm = make_user("rm_pin", Role.RELATIONSHIP_MANAGER)
    party = make_party("Pinned", actor=rm)
    populate(party, 5, make_party, rm)
    viewer = User.objects.get(pk=rm.pk)
    # roles, party, identifiers, up-walk, group summary, coverage, contacts, points, direct links,
    # interactions, tasks, and the audit append (savepoint, chain head, insert, head update, release).
    with django_assert_num_queries(16):
        selectors.customer_360(viewer=viewer, party_id=party.pk)
    viewer = User.objects.get(pk=rm.pk)
    with django_assert_num_queries(16):  # the API's rendering reads the same, as plain values
        customer_360_data(viewer=viewer, party_id=party.pk)


def _group_of_two_branches(make_party: MakeParty, branch_b: Branch, rm_a: User) -> dict[str, Party]:
    """A head at branch B owning a subsidiary at branch A, which owns two more (one at branch B)."""
    head = make_party("Head Holdings", branch=branch_b, local_name="总部控股")
    mid = make_party("Mid Co", actor=rm_a)
    leaf_a, leaf_b = make_party("Leaf A", actor=rm_a), make_party("Leaf B", branch=branch_b)
    for parent, child, pct in ((head, mid, 60), (mid, leaf_a, 100), (mid, leaf_b, 51)):
        services.create_relationship(
            actor=None, from_party=parent, to_party=child, kind="parent_of", ownership_pct=Decimal(pct)
        )
    services.create_relationship(actor=None, from_party=leaf_b, to_party=mid, kind="guarantor_of")
    return {"head": head, "mid": mid, "leaf_a": leaf_a, "leaf_b": leaf_b}


@pytest.mark.parametrize("who", ["rm_a", "analyst"])
def test_group_summary_agrees_with_the_tree(
    who: str, request: pytest.FixtureRequest, make_party: MakeParty, branch_b: Branch, rm_a: User
) -> None:
    viewer = request.getfixturevalue(who)
    group = _group_of_two_branches(make_party, branch_b, rm_a)
    for party in group.values():
        if not selectors.can_see_party(viewer=viewer, party_id=party.pk):
            continue
        tree = selectors.group_tree(viewer=viewer, party=party)
        summary = selectors.group_summary(viewer=viewer, party=party)
        assert summary == {k: tree[k] for k in ("ultimate_parent", "size", "restricted")}
    assert selectors.group_summary(viewer=rm_a, party=group["leaf_a"]) == {
        "ultimate_parent": {
            "id": None,
            "restricted": True,
            "legal_name": None,
            "local_name": None,
            "kind": None,
        },
        "size": 4,
        "restricted": 2,
    }


@pytest.mark.parametrize("who", ["rm_a", "analyst"])
def test_api_360_equals_the_declared_serializer(
    who: str, request: pytest.FixtureRequest, make_party: MakeParty, branch_b: Branch, rm_a: User
) -> None:
    """The API renders the 360 from plain values; Customer360Serializer, which the OpenAPI schema shows,
    must give exactly the same JSON from the model-based read."""
    viewer = request.getfixturevalue(who)
    group = _group_of_two_branches(make_party, branch_b, rm_a)
    mid = group["mid"]
    services.update_party(
        actor=rm_a,
        party=mid,
        annual_revenue=Money(Decimal("1234567.5"), "CNY"),
        total_assets=Money(Decimal("99"), "USD"),
        kyc_next_review=date(2027, 3, 1),
        incorporation_date=date(2001, 5, 6),
    )
    services.create_contact(
        actor=None,
        party=mid,
        role="ubo",
        ownership_pct=Decimal("12.5"),
        full_name="Li Wei",
        local_name="李伟",
        points=[
            NewContactPoint("email", "li@mid.example", is_preferred=True),
            NewContactPoint("phone", "+86 21 5555 0001"),
        ],
    )
    populate(mid, 2, make_party, rm_a)
    expected = selectors.customer_360(viewer=viewer, party_id=mid.pk)
    declared = Customer360Serializer({**vars(expected), "coverage": coverage_payload(expected.coverage)}).data
    assert customer_360_data(viewer=viewer, party_id=mid.pk) == json.loads(json.dumps(declared))


def test_api_360_out_of_scope_is_not_found_and_not_audited(rm_b: User, make_party: MakeParty) -> None:
    party = make_party("Acme")
    with pytest.raises(errors.NotFound):
        customer_360_data(viewer=rm_b, party_id=party.pk)
    assert not AuditEvent.objects.filter(action="party.viewed_360").exists()
