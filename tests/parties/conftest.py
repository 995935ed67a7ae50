"""Helpers for customer-master tests: valid identifiers on demand and a party factory."""

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from lendcrm.core.models import Branch, User
from lendcrm.parties import services
from lendcrm.parties.identifiers import lei_check_digits, organisation_code_check_char, uscc_check_char
from lendcrm.parties.models import Party, PartyKind

_serial = itertools.count(1)


def make_lei(n: int | None = None) -> str:
    """A valid LEI whose body encodes `n` (fresh each call by default)."""
    body = f"5493{(n if n is not None else next(_serial)):014d}"
    return body + lei_check_digits(body)


def make_uscc(n: int | None = None) -> str:
    """A valid unified social credit code whose organisation code encodes `n`."""
    org = f"{(n if n is not None else next(_serial)) % 10**8:08d}"
    first17 = "91310000" + org + organisation_code_check_char(org)
    return first17 + uscc_check_char(first17)


@pytest.fixture
def make_party(branch_a: Branch) -> Callable[..., Party]:
    """Create a party through the service; by default as the system, booked at branch A."""

    def make(legal_name: str = "", *, actor: User | None = None, **kwargs: Any) -> Party:
        kwargs.setdefault("kind", PartyKind.CORPORATE)
        kwargs.setdefault("branch", branch_a)
        return services.create_party(actor=actor, legal_name=legal_name or f"Party {next(_serial)}", **kwargs)

    return make
