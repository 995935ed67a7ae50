"""The portfolio API: exposure by a dimension with the book's health, and what comes up in a window;
scoped like the page; bad input is 400, a role without customers 403."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from lendcrm.core.models import Branch, User
from lendcrm.core.roles import Role
from lendcrm.monitoring.models import Review
from lendcrm.parties.models import Party
from lendcrm.servicing.models import Category, Facility
from tests.servicing import factories

pytestmark = pytest.mark.django_db
EXPOSURE = "/api/v1/portfolio/exposure/"
UPCOMING = "/api/v1/portfolio/upcoming/"


@pytest.fixture
def book() -> dict[str, Any]:
    near = factories.booked_facility(borrower=factories.borrower_party("Songjiang Printing"), grade=3)
    Facility.objects.filter(pk=near.pk).update(category=Category.DOUBTFUL)
    far_branch = Branch.objects.create(code="CD01", name="Chengdu Hi-Tech")
    far = Party.objects.create(kind="corporate", legal_name="Tianfu Foods", branch=far_branch, segment="sme")
    factories.booked_facility(borrower=far, amount=Decimal("3000000.00"), grade=6)
    monitor = factories.staff("pa_monitor", Role.PORTFOLIO_MONITOR)
    Review.objects.create(
        party=far,
        kind="annual_review",
        due_date=timezone.localdate() + timedelta(days=45),
        assigned_to=monitor,
    )
    return {"monitor": monitor, "rm": factories.relationship_manager()}


def test_exposure_with_health(book: dict[str, Any], api_client: Callable[[User | None], APIClient]) -> None:
    response = api_client(book["monitor"]).get(EXPOSURE)
    assert response.status_code == 200
    body = response.json()
    assert body["by"] == "category"
    assert body["currency"] == "CNY"
    assert {row["key"]: row["facilities"] for row in body["rows"]} == {"normal": 1, "doubtful": 1}
    health = body["health"]
    assert health["facilities"] == 2
    assert Decimal(health["outstanding"]) == Decimal("4000000.00")
    assert Decimal(health["non_performing"]) == Decimal("1000000.00")
    assert Decimal(health["npl_ratio"]) == Decimal("25.00")
    by_grade = api_client(book["monitor"]).get(EXPOSURE, {"by": "grade"}).json()
    assert [(row["key"], row["label"]) for row in by_grade["rows"]] == [("3", "Grade 3"), ("6", "Grade 6")]
    assert by_grade["health"] == health


def test_exposure_is_scoped_and_guarded(
    book: dict[str, Any], api_client: Callable[[User | None], APIClient]
) -> None:
    rows = api_client(book["rm"]).get(EXPOSURE, {"by": "branch"}).json()["rows"]
    assert [row["label"] for row in rows] == ["Lujiazui Lending Centre"]
    admin = factories.staff("pa_admin", Role.ADMINISTRATOR)
    assert api_client(admin).get(EXPOSURE).status_code == 403
    assert api_client(None).get(EXPOSURE).status_code in (401, 403)
    assert api_client(book["monitor"]).get(EXPOSURE, {"by": "colour"}).status_code == 400
    assert api_client(book["monitor"]).get(EXPOSURE, {"by": ""}).status_code == 400
    assert api_client(book["monitor"]).get(EXPOSURE, {"sort": "x"}).status_code == 400


def test_upcoming_counts_the_window(
    book: dict[str, Any], api_client: Callable[[User | None], APIClient]
) -> None:
    client = api_client(book["monitor"])
    in_30 = client.get(UPCOMING).json()
    assert in_30["reviews_due"] == 0
    assert in_30["until"] == (timezone.localdate() + timedelta(days=30)).isoformat()
    in_60 = client.get(UPCOMING, {"within": "60"}).json()
    assert in_60["reviews_due"] == 1
    assert client.get(UPCOMING, {"within": "45"}).status_code == 400
    assert api_client(book["rm"]).get(UPCOMING, {"within": "90"}).json()["reviews_due"] == 0  # another branch
