"""Pipeline fixtures: parties at both branches, an opportunity, proposal input that is valid."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.parties import services as party_services
from lendcrm.parties.models import Party
from lendcrm.pipeline import services
from lendcrm.pipeline.models import Opportunity
from tests.parties.conftest import make_lei, make_uscc

__all__ = ["make_lei", "make_uscc"]


@pytest.fixture
def party_a(rm_a: User) -> Party:
    """A customer booked at branch A, led by rm_a."""
    return party_services.create_party(
        actor=rm_a, kind="corporate", legal_name="Pudong Widgets Co., Ltd.", branch=rm_a.branch
    )


@pytest.fixture
def party_b(rm_b: User) -> Party:
    return party_services.create_party(
        actor=rm_b, kind="sme", legal_name="Chaoyang Steel", branch=rm_b.branch
    )


@pytest.fixture
def guarantor_a(rm_a: User) -> Party:
    return party_services.create_party(
        actor=rm_a, kind="corporate", legal_name="Pudong Parent Holdings", branch=rm_a.branch
    )


@pytest.fixture
def compliance(make_user: Callable[..., User]) -> User:
    """Sees the whole book, writes nothing."""
    return make_user("compliance", Role.COMPLIANCE_OFFICER)


@pytest.fixture
def rm_a2(make_user: Callable[..., User]) -> User:
    """A second RM at branch A."""
    return make_user("rm_a2", Role.RELATIONSHIP_MANAGER)


def opportunity_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Plant expansion",
        "products": ["term_loan"],
        "amount": Decimal("50000000.00"),
        "currency": "CNY",
        "expected_close": timezone.localdate() + timedelta(days=60),
    }
    data.update(overrides)
    return data


def facility(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "product": "term_loan",
        "amount": Decimal("30000000.00"),
        "currency": "CNY",
        "tenor_months": 60,
        "repayment_profile": "annuity",
        "grace_months": 6,
        "rate_type": "floating",
        "base_rate": "lpr_5y",
        "margin_pct": Decimal("0.85"),
        "upfront_fee_pct": Decimal("0.5"),
        "security": "Mortgage over the plant",
        "covenants": "Net debt / EBITDA below 3.5x",
        "purpose": "New production line",
    }
    data.update(overrides)
    return data


def proposal_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "facilities": [facility()],
        "summary": "Five-year amortising term loan",
        "conditions": "Signed mortgage",
        "valid_until": timezone.localdate() + timedelta(days=30),
    }
    data.update(overrides)
    return data


@pytest.fixture
def opportunity_a(rm_a: User, party_a: Party) -> Opportunity:
    return services.create_opportunity(actor=rm_a, party_id=party_a.pk, data=opportunity_data())
