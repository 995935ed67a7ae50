"""The loan-book API: booking an application, facilities scoped to the viewer, schedules, drawdowns."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.origination.models import Application, Status
from lendcrm.servicing.models import Drawdown
from tests.origination.conftest import facility as facility_terms
from tests.servicing import factories

pytestmark = pytest.mark.django_db
Client = Callable[[User | None], APIClient]


def _ready() -> Application:
    return factories.ready_application(borrower=factories.borrower_party(), facilities=[facility_terms()])


def test_book_an_application(api_client: Client) -> None:
    application = _ready()
    body = {
        "start_date": "2026-01-15",
        "facilities": [
            {
                "application_facility": application.facilities.get().pk,
                "frequency_months": 3,
                "day_count": "act_365f",
            }
        ],
    }
    client = api_client(factories.ops())
    response = client.post(
        f"/api/v1/applications/{application.pk}/book/", body, format="json", HTTP_IDEMPOTENCY_KEY="b1"
    )
    assert response.status_code == 201, response.json()
    [row] = response.json()
    assert row["reference"].startswith("FAC-")
    assert row["limit"] == "5000000.00"
    assert row["maturity_date"] == "2029-01-15"
    again = client.post(
        f"/api/v1/applications/{application.pk}/book/", body, format="json", HTTP_IDEMPOTENCY_KEY="b1"
    )
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    refused = client.post(f"/api/v1/applications/{application.pk}/book/", body, format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "not_ready_to_disburse"


def test_booking_refusals(api_client: Client) -> None:
    application = _ready()
    url = f"/api/v1/applications/{application.pk}/book/"
    entry = {"application_facility": application.facilities.get().pk}
    ops = api_client(factories.ops())
    bad = ops.post(
        url, {"start_date": "2026-01-15", "facilities": [{**entry, "frequency_months": 5}]}, format="json"
    )
    assert bad.status_code == 400
    assert "facilities.0.frequency_months" in bad.json()["errors"]
    unknown = ops.post(url, {"start_date": "2026-01-15", "facilities": [{**entry, "x": 1}]}, format="json")
    assert unknown.status_code == 400
    rm = api_client(factories.relationship_manager())
    assert rm.post(url, {"start_date": "2026-01-15", "facilities": [entry]}, format="json").status_code == 403
    outsider = api_client(
        factories.staff("bk_api_rm_b", Role.RELATIONSHIP_MANAGER, at=factories.other_branch())
    )
    assert (
        outsider.post(url, {"start_date": "2026-01-15", "facilities": [entry]}, format="json").status_code
        == 404
    )
    application.refresh_from_db()
    assert application.status == Status.READY_TO_DISBURSE


def test_facilities_are_listed_and_read_in_scope(api_client: Client) -> None:
    facility = factories.booked_facility()
    factories.booked_facility(kind="revolving", profile="bullet")
    rm = api_client(factories.relationship_manager())
    listed = rm.get("/api/v1/facilities/").json()
    assert listed["count"] == 2
    only = rm.get(
        "/api/v1/facilities/", {"kind": "term", "status": "active", "borrower": str(facility.borrower_id)}
    )
    assert [row["id"] for row in only.json()["results"]] == [facility.pk]
    assert rm.get("/api/v1/facilities/", {"kind": "loan"}).status_code == 400
    detail = rm.get(f"/api/v1/facilities/{facility.pk}/")
    assert detail.status_code == 200
    assert detail["ETag"] == f'"{facility.pk}-{facility.version}"'
    body = detail.json()
    assert body["available"] == "0.00"
    assert [d["amount"] for d in body["drawdowns"]] == ["1000000.00"]
    outsider = api_client(
        factories.staff("bk_api_rm_c", Role.RELATIONSHIP_MANAGER, at=factories.other_branch())
    )
    assert outsider.get("/api/v1/facilities/").json()["count"] == 0
    assert outsider.get(f"/api/v1/facilities/{facility.pk}/").status_code == 404
    assert outsider.get(f"/api/v1/facilities/{facility.pk}/schedule/").status_code == 404
    assert outsider.get(f"/api/v1/facilities/{facility.pk}/drawdowns/").status_code == 404


def test_schedule_versions(api_client: Client) -> None:
    facility = factories.booked_facility(drawn=False)
    factories.draw_facility(facility, Decimal("500000.00"), factories.START)
    factories.draw_facility(facility, Decimal("500000.00"), factories.START.replace(month=3))
    client = api_client(factories.ops())
    current = client.get(f"/api/v1/facilities/{facility.pk}/schedule/").json()
    assert (current["schedule_version"], current["current_version"]) == (2, 2)
    assert sum(Decimal(line["principal"]) for line in current["lines"]) == Decimal("1000000.00")
    first = client.get(f"/api/v1/facilities/{facility.pk}/schedule/", {"version": 1}).json()
    assert sum(Decimal(line["principal"]) for line in first["lines"]) == Decimal("500000.00")
    assert client.get(f"/api/v1/facilities/{facility.pk}/schedule/", {"version": 3}).status_code == 404
    assert client.get(f"/api/v1/facilities/{facility.pk}/schedule/", {"version": "x"}).status_code == 400


def test_drawdowns_are_paid_out_once(api_client: Client) -> None:
    facility = factories.booked_facility(drawn=False)
    client = api_client(factories.ops())
    url = f"/api/v1/facilities/{facility.pk}/drawdowns/"
    body = {"amount": "250000.00", "value_date": "2026-01-20", "reference": "PAY-1"}
    created = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="d1")
    assert created.status_code == 201, created.json()
    assert created.json()["reference"] == "PAY-1"
    assert client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="d1").status_code == 201
    over = client.post(url, {**body, "reference": "PAY-2", "amount": "750000.01"}, format="json")
    assert over.status_code == 409
    assert over.json()["code"] == "over_limit"
    assert over.json()["available"] == "750000.00"
    number = client.post(url, {**body, "amount": 5}, format="json")
    assert number.status_code == 400
    assert Drawdown.objects.filter(facility=facility).count() == 1
    listed = client.get(url).json()
    assert [row["reference"] for row in listed["results"]] == ["PAY-1"]
    rm = api_client(factories.relationship_manager())
    assert rm.post(url, {**body, "reference": "PAY-3"}, format="json").status_code == 403


def test_out_of_scope_is_404_before_the_body_is_read(api_client: Client) -> None:
    facility = factories.booked_facility(drawn=False)
    application = _ready()
    outsider = api_client(
        factories.staff("bk_api_rm_d", Role.RELATIONSHIP_MANAGER, at=factories.other_branch())
    )
    assert outsider.post(f"/api/v1/applications/{application.pk}/book/", {}, format="json").status_code == 404
    assert outsider.post(f"/api/v1/facilities/{facility.pk}/drawdowns/", {}, format="json").status_code == 404
    assert outsider.post("/api/v1/facilities/987654/drawdowns/", {}, format="json").status_code == 404
