"""Parties for interaction and task tests, made directly (the party services are another app's)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from lendcrm.core.models import Branch, User
from lendcrm.core.roles import Role
from lendcrm.parties.models import Contact, ContactRole, Coverage, Party


@pytest.fixture
def party_a(branch_a: Branch, rm_a: User) -> Party:
    """A customer booked at branch A, covered by rm_a."""
    party = Party.objects.create(kind="sme", legal_name="Pudong Widgets Co., Ltd.", branch=branch_a)
    Coverage.objects.create(party=party, user=rm_a, role="lead")
    return party


@pytest.fixture
def party_b(branch_b: Branch, rm_b: User) -> Party:
    """A customer booked at branch B, covered by rm_b."""
    party = Party.objects.create(kind="corporate", legal_name="Chaoyang Steel", branch=branch_b)
    Coverage.objects.create(party=party, user=rm_b, role="lead")
    return party


@pytest.fixture
def contact_a(party_a: Party) -> Contact:
    contact = Contact.objects.create(full_name="Li Wei")
    ContactRole.objects.create(contact=contact, party=party_a, role="cfo")
    return contact


@pytest.fixture
def compliance(make_user: Callable[..., User]) -> User:
    """Sees the whole book but may not change customer data."""
    return make_user("compliance", Role.COMPLIANCE_OFFICER)


@pytest.fixture
def when() -> Callable[..., datetime]:
    """An aware UTC time some minutes before now, so tests never hit the future limit."""
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)

    def at(minutes: float = 0) -> datetime:
        return base + timedelta(minutes=minutes)

    return at
