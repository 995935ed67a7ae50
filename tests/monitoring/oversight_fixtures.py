"""Fixtures for the oversight tests (reviews, signals, watchlist): the monitoring officers, an approver and
a covered customer. Import them with `from tests.monitoring.oversight_fixtures import *`."""

from collections.abc import Callable

import pytest

from lendcrm.core.models import Branch, User
from lendcrm.core.roles import Role
from lendcrm.parties.models import Coverage, Lifecycle, Party, PartyKind, Segment

__all__ = ["approver", "customer", "monitor", "monitor2", "other_customer"]


@pytest.fixture
def monitor(make_user: Callable[..., User]) -> User:
    return make_user("monitor", Role.PORTFOLIO_MONITOR)


@pytest.fixture
def monitor2(make_user: Callable[..., User]) -> User:
    return make_user("monitor2", Role.PORTFOLIO_MONITOR)


@pytest.fixture
def approver(make_user: Callable[..., User]) -> User:
    return make_user("approver", Role.CREDIT_APPROVER)


@pytest.fixture
def customer(branch_a: Branch, rm_a: User) -> Party:
    """An active corporate customer at branch A whose lead RM is rm_a."""
    party = Party.objects.create(
        kind=PartyKind.CORPORATE,
        legal_name="Pudong Precision Castings",
        branch=branch_a,
        lifecycle=Lifecycle.ACTIVE,
        segment=Segment.MID_CORPORATE,
    )
    Coverage.objects.create(party=party, user=rm_a, role="lead")
    return party


@pytest.fixture
def other_customer(branch_b: Branch, rm_b: User) -> Party:
    """An active customer at branch B (rm_a cannot see it), covered by rm_b."""
    party = Party.objects.create(
        kind=PartyKind.CORPORATE, legal_name="Chaoyang Steel", branch=branch_b, lifecycle=Lifecycle.ACTIVE
    )
    Coverage.objects.create(party=party, user=rm_b, role="lead")
    return party
