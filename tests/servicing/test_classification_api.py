"""The classification and restructuring API: history, requests with four-eyes decisions, restructurings;
scope (out of scope is 404), strict input, idempotent creates."""

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.servicing.models import (
    Category,
    ClassificationRequest,
    Facility,
    RequestStatus,
    Restructuring,
)
from lendcrm.servicing.services import classification
from tests.servicing import factories

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)


@pytest.fixture
def monitor(make_user: Callable[..., User]) -> User:
    return make_user("monitor", Role.PORTFOLIO_MONITOR)


@pytest.fixture
def approver(make_user: Callable[..., User]) -> User:
    return make_user("approver", Role.CREDIT_APPROVER)


@pytest.fixture
def facility() -> Facility:
    return factories.booked_facility()


def test_history_list_with_filters_and_scope(
    facility: Facility, monitor: User, rm_b: User, api_client: Callable[..., Any]
) -> None:
    Facility.objects.filter(pk=facility.pk).update(days_past_due=100)
    other = factories.booked_facility(borrower=factories.borrower_party("Other Ltd"))
    Facility.objects.filter(pk=other.pk).update(days_past_due=3)
    classification.classify(as_of=AS_OF)
    client = api_client(monitor)
    body = client.get("/api/v1/classifications/").json()
    assert body["count"] == 2
    body = client.get(f"/api/v1/classifications/?facility={facility.pk}").json()
    [row] = body["results"]
    assert row["facility_reference"] == facility.reference
    assert (row["category"], row["stage"], row["basis"]) == ("substandard", 3, "days_past_due")
    assert (row["previous_category"], row["days_past_due"], row["effective_on"]) == (
        "normal",
        100,
        "2026-06-30",
    )
    assert client.get(f"/api/v1/classifications/?party={other.borrower_id}").json()["count"] == 1
    assert client.get("/api/v1/classifications/?category=special_mention").json()["count"] == 1
    assert client.get("/api/v1/classifications/?category=bad").status_code == 400
    # An RM of another branch sees none of it; the factory's RM sees their parties' rows.
    assert api_client(rm_b).get("/api/v1/classifications/").json()["count"] == 0
    assert api_client(factories.relationship_manager()).get("/api/v1/classifications/").json()["count"] == 2


def test_request_then_decide(
    facility: Facility, monitor: User, approver: User, api_client: Callable[..., Any]
) -> None:
    payload = {
        "facility": facility.pk,
        "category": "special_mention",
        "stage": 2,
        "reason": "Key customer lost",
    }
    response = api_client(monitor).post(
        "/api/v1/classifications/", payload, format="json", HTTP_IDEMPOTENCY_KEY="cls-1"
    )
    assert response.status_code == 201, response.json()
    request_id = response.json()["id"]
    assert response.json()["status"] == "pending"
    replay = api_client(monitor).post(
        "/api/v1/classifications/", payload, format="json", HTTP_IDEMPOTENCY_KEY="cls-1"
    )
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert ClassificationRequest.objects.count() == 1

    own = api_client(monitor).post(
        f"/api/v1/classifications/requests/{request_id}/decision/", {"approve": True}, format="json"
    )
    assert own.status_code == 403
    assert own.json()["code"] == "four_eyes"
    response = api_client(approver).post(
        f"/api/v1/classifications/requests/{request_id}/decision/",
        {"approve": True, "note": "Agreed"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved"
    assert Facility.objects.get(pk=facility.pk).category == Category.SPECIAL_MENTION
    listed = api_client(approver).get(
        f"/api/v1/classifications/requests/?facility={facility.pk}&status=approved"
    )
    assert listed.json()["count"] == 1
    detail = api_client(approver).get(f"/api/v1/classifications/requests/{request_id}/")
    assert detail.json()["decided_by"] == approver.pk
    again = api_client(approver).post(
        f"/api/v1/classifications/requests/{request_id}/decision/", {"approve": True}, format="json"
    )
    assert again.status_code == 409


def test_request_refusals(
    facility: Facility, monitor: User, rm_a: User, api_client: Callable[..., Any]
) -> None:
    client = api_client(monitor)
    ok = {"facility": facility.pk, "category": "special_mention", "stage": 2, "reason": "x"}
    assert client.post("/api/v1/classifications/", {**ok, "colour": "red"}, format="json").status_code == 400
    assert client.post("/api/v1/classifications/", {**ok, "stage": "2"}, format="json").status_code == 400
    assert client.post("/api/v1/classifications/", {**ok, "stage": 5}, format="json").status_code == 400
    assert (
        client.post("/api/v1/classifications/", {**ok, "facility": 987654}, format="json").status_code == 404
    )
    Facility.objects.filter(pk=facility.pk).update(days_past_due=200, category="substandard", stage=3)
    response = client.post("/api/v1/classifications/", ok, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "below_rule_floor"
    assert "category" in response.json()["errors"]
    assert api_client(rm_a).post("/api/v1/classifications/", ok, format="json").status_code == 403
    assert not ClassificationRequest.objects.exists()


def test_withdraw(facility: Facility, monitor: User, approver: User, api_client: Callable[..., Any]) -> None:
    request = classification.request_classification(
        actor=monitor, facility_id=facility.pk, category="special_mention", stage=2, reason="x"
    )
    path = f"/api/v1/classifications/requests/{request.pk}/withdraw/"
    assert api_client(approver).post(path).status_code == 403
    response = api_client(monitor).post(path)
    assert response.status_code == 200
    assert response.json()["status"] == RequestStatus.WITHDRAWN


def test_out_of_scope_ids_are_404(
    facility: Facility, monitor: User, rm_b: User, api_client: Callable[..., Any]
) -> None:
    request = classification.request_classification(
        actor=monitor, facility_id=facility.pk, category="special_mention", stage=2, reason="x"
    )
    restructuring = _restructure(api_client(monitor), facility).json()["id"]
    client = api_client(rm_b)
    for path in (
        f"/api/v1/classifications/requests/{request.pk}/",
        f"/api/v1/classifications/requests/{request.pk}/decision/",
        f"/api/v1/classifications/requests/{request.pk}/withdraw/",
        f"/api/v1/restructurings/{restructuring}/",
        f"/api/v1/restructurings/{restructuring}/decision/",
    ):
        method = client.get if path.endswith((f"{request.pk}/", f"{restructuring}/")) else client.post
        assert method(path, {}, format="json").status_code == 404, path
    assert ClassificationRequest.objects.get(pk=request.pk).status == RequestStatus.PENDING


def _restructure(client: Any, facility: Facility, **overrides: Any) -> Any:
    payload = {
        "facility": facility.pk,
        "kind": "rate_change",
        "terms": {"interest_rate_pct": "3.25"},
        "reason": "Concession agreed with the sponsor",
        "effective_on": (timezone.localdate() + timedelta(days=1)).isoformat(),
        **overrides,
    }
    return client.post("/api/v1/restructurings/", payload, format="json")


def test_restructuring_request_and_approval(
    facility: Facility, monitor: User, approver: User, api_client: Callable[..., Any]
) -> None:
    response = _restructure(api_client(monitor), facility)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["terms"] == {"interest_rate_pct": "3.25000"}
    assert body["previous_terms"] == {"interest_rate_pct": "4.35000"}
    assert body["schedule_version"] is None
    path = f"/api/v1/restructurings/{body['id']}/decision/"
    assert api_client(approver).post(path, {"approve": "yes"}, format="json").status_code == 400
    assert api_client(approver).post(path, {"approve": False}, format="json").status_code == 400  # note
    response = api_client(approver).post(path, {"approve": True}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved"
    stored = Facility.objects.get(pk=facility.pk)
    assert response.json()["schedule_version"] == stored.schedule_version
    assert stored.category == Category.SPECIAL_MENTION
    listed = api_client(monitor).get(f"/api/v1/restructurings/?facility={facility.pk}").json()
    assert listed["count"] == 1


def test_restructuring_input_is_strict(
    facility: Facility, monitor: User, api_client: Callable[..., Any]
) -> None:
    client = api_client(monitor)
    assert _restructure(client, facility, terms={"interest_rate_pct": 3.25}).status_code == 400
    assert _restructure(client, facility, terms={"colour": "red"}).status_code == 400
    assert _restructure(client, facility, kind="haircut").status_code == 400
    assert _restructure(client, facility, effective_on="2020-01-01").status_code == 400
    response = _restructure(client, facility, kind="term_extension", terms={"maturity_date": "2027-01-15"})
    assert response.status_code == 400
    assert "terms.maturity_date" in response.json()["errors"]
    assert not Restructuring.objects.exists()
