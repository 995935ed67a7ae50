"""Fixtures for the covenant, statement and project tests: a monitoring officer, an approver and a
facility booked through the book area's factory; dates are relative to today so the tests keep working."""

import calendar
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.servicing.models import Facility
from tests.servicing.factories import booked_facility

TODAY = timezone.localdate()


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


# The next month end (tests of it are not yet due today) and one well in the past.
NEXT_END = month_end(month_end(TODAY) + timedelta(days=1))
PAST_END = month_end(TODAY - timedelta(days=120))
# A statement that meets every default covenant below: DSCR (1,200 - 100) / (250 + 500) = 1.4667,
# leverage 3,600 / 1,200 = 3.0, current ratio 1.5.
GOOD_LINES = {
    "ebitda": Decimal("1200"),
    "tax": Decimal("100"),
    "interest_expense": Decimal("250"),
    "principal_repaid": Decimal("500"),
    "short_term_debt": Decimal("1000"),
    "long_term_debt": Decimal("2600"),
    "equity": Decimal("3000"),
    "current_assets": Decimal("1500"),
    "current_liabilities": Decimal("1000"),
}
# DSCR (800 - 100) / 750 = 0.9333: below a 1.20x minimum.
WEAK_LINES = {**GOOD_LINES, "ebitda": Decimal("800")}


@pytest.fixture
def monitor(make_user: Callable[..., User]) -> User:
    return make_user("monitor1", Role.PORTFOLIO_MONITOR)


@pytest.fixture
def monitor2(make_user: Callable[..., User]) -> User:
    return make_user("monitor2", Role.PORTFOLIO_MONITOR)


@pytest.fixture
def approver(make_user: Callable[..., User]) -> User:
    return make_user("approver1", Role.CREDIT_APPROVER)


@pytest.fixture
def facility(db: Any) -> Facility:
    """A three-year term loan started about 200 days ago, drawn in full."""
    return booked_facility(start_date=TODAY - timedelta(days=200), tenor_months=36)
