"""The core-banking import (all or nothing, errors by line, idempotent by reference) and the repayment and
delinquency API (scope, strict input, idempotent creates, problem+json)."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from lendcrm.core import errors
from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.servicing.models import Facility, Instalment, Repayment, RepaymentSource
from lendcrm.servicing.repayment_import import import_repayments
from tests.servicing.factories import booked_facility, borrower_party, ops

pytestmark = pytest.mark.django_db
D = Decimal
Client = Callable[[User | None], APIClient]


def first_line(facility: Facility) -> Instalment:
    return Instalment.objects.filter(facility=facility, schedule_version=facility.schedule_version).order_by(
        "number"
    )[0]


@pytest.fixture
def loan() -> Facility:
    return booked_facility()


def csv_for(*rows: str, header: str = "facility,reference,value_date,amount,currency") -> str:
    return "\n".join([header, *rows]) + "\n"


def test_a_file_is_posted_in_value_date_order(loan: Facility) -> None:
    other = booked_facility(borrower=borrower_party("Import Two"))
    due = first_line(loan).due_date
    text = csv_for(
        f"{loan.reference},CB-2,{due + timedelta(days=1)},100.00,CNY",
        f"{loan.reference},CB-1,{due},200.00,cny",
        f"{other.reference},CB-1,{due},300.00,CNY",
    )
    rows = import_repayments(actor=ops(), content=text.encode("utf-8-sig"), today=due + timedelta(days=2))
    assert [(r.line, r.reference, r.already_posted) for r in rows] == [
        (2, "CB-2", False),
        (3, "CB-1", False),
        (4, "CB-1", False),
    ]
    stored = Repayment.objects.filter(facility=loan).order_by("pk")
    assert [r.reference for r in stored] == ["CB-1", "CB-2"]  # the earlier value date went first
    assert {r.source for r in Repayment.objects.all()} == {RepaymentSource.IMPORT}
    # the same file again changes nothing and says so
    again = import_repayments(actor=ops(), content=text, today=due + timedelta(days=2))
    assert all(r.already_posted for r in again)
    assert Repayment.objects.count() == 3


def test_one_bad_row_keeps_nothing_and_every_problem_is_named_by_line(loan: Facility) -> None:
    due = first_line(loan).due_date
    text = csv_for(
        f"{loan.reference},CB-1,{due},200.00,CNY",
        f"{loan.reference},CB-2,31/01/2026,abc,CNY",
        f"FAC-NOPE,CB-3,{due},10.00,CNY",
        f"{loan.reference},CB-4,{due},10.00,USD",
        f"{loan.reference},CB-5,{due}",
    )
    with pytest.raises(errors.ValidationFailed) as caught:
        import_repayments(actor=ops(), content=text, today=due)
    assert set(caught.value.field_errors) == {
        "rows.3.value_date",
        "rows.3.amount",
        "rows.4.facility",
        "rows.5.currency",
        "rows.6",
    }
    assert caught.value.code == "import_refused"
    assert not Repayment.objects.exists()
    assert first_line(loan).interest_paid == 0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "facility,reference,amount\nX,Y,1\n",
        "facility,reference,value_date,amount,currency,colour\n",
        "facility,reference,value_date,amount,currency\n",
    ],
)
def test_a_file_without_the_columns_or_rows_is_refused(text: str) -> None:
    with pytest.raises(errors.ValidationFailed) as caught:
        import_repayments(actor=ops(), content=text)
    assert "file" in caught.value.field_errors


def test_too_many_rows_and_non_utf8_are_refused(loan: Facility, settings: Any) -> None:
    settings.LENDCRM_REPAYMENT_IMPORT_MAX_ROWS = 1
    text = csv_for(f"{loan.reference},A,2026-02-16,1.00,CNY", f"{loan.reference},B,2026-02-16,1.00,CNY")
    with pytest.raises(errors.ValidationFailed):
        import_repayments(actor=ops(), content=text)
    with pytest.raises(errors.ValidationFailed):
        import_repayments(actor=ops(), content=b"\xff\xfe\x00")


def test_only_loan_operations_imports(loan: Facility, rm_a: User) -> None:
    with pytest.raises(errors.PermissionDenied):
        import_repayments(actor=rm_a, content=csv_for(f"{loan.reference},A,2026-02-16,1.00,CNY"))


# --- API ---------------------------------------------------------------------------------------------
def test_post_list_and_read_a_repayment(loan: Facility, api_client: Client, rm_b: User) -> None:
    client = api_client(ops())
    due = first_line(loan).due_date
    body = {
        "facility": loan.pk,
        "reference": "API-1",
        "value_date": str(due),
        "amount": "1000.00",
        "currency": "CNY",
    }
    created = client.post("/api/v1/repayments/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert created.status_code == 201, created.content
    assert D(created.data["to_interest"]) == D("1000.00")  # the first instalment's interest exceeds it
    assert D(created.data["amount"]) == D("1000.00")
    replay = client.post("/api/v1/repayments/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert replay["Idempotent-Replayed"] == "true"
    again = client.post("/api/v1/repayments/", body, format="json")
    assert again.status_code == 200
    assert again.data["id"] == created.data["id"]
    changed = client.post("/api/v1/repayments/", {**body, "amount": "999.00"}, format="json")
    assert changed.status_code == 409
    assert changed["Content-Type"] == "application/problem+json"
    assert changed.json()["code"] == "repayment_reference_reused"
    listed = client.get("/api/v1/repayments/", {"facility": loan.pk})
    assert listed.status_code == 200
    assert [r["reference"] for r in listed.data["results"]] == ["API-1"]
    assert (
        client.get(f"/api/v1/repayments/{created.data['id']}/").data["facility_reference"] == loan.reference
    )
    # out of scope: not in the list, 404 on the detail
    other = api_client(rm_b)
    assert other.get("/api/v1/repayments/").data["count"] == 0
    assert other.get(f"/api/v1/repayments/{created.data['id']}/").status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 10}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"value_date": "2026-13-01"}, "value_date"),
        ({"colour": "red"}, "colour"),
        ({"is_prepayment": "yes"}, "is_prepayment"),
        ({"currency": "USD"}, "currency"),
    ],
)
def test_bad_input_is_400_with_the_field(
    loan: Facility, api_client: Client, changes: dict[str, Any], field: str
) -> None:
    body = {"facility": loan.pk, "reference": "B-1", "value_date": "2026-02-16", "amount": "10.00", **changes}
    response = api_client(ops()).post("/api/v1/repayments/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Repayment.objects.exists()


def test_who_may_post(loan: Facility, api_client: Client, make_user: Callable[..., User]) -> None:
    body = {"facility": loan.pk, "reference": "W-1", "value_date": "2026-02-16", "amount": "10.00"}
    monitor = make_user("mon_api", Role.PORTFOLIO_MONITOR)
    assert api_client(monitor).post("/api/v1/repayments/", body, format="json").status_code == 403
    assert api_client(None).post("/api/v1/repayments/", body, format="json").status_code == 401
    assert (
        api_client(ops()).post("/api/v1/repayments/", {**body, "facility": 10**9}, format="json").status_code
        == 404
    )


def test_import_endpoint(loan: Facility, api_client: Client) -> None:
    due = first_line(loan).due_date
    text = csv_for(f"{loan.reference},F-1,{due},50.00,CNY")
    client = api_client(ops())
    response = client.post("/api/v1/repayments/import/", {"csv": text}, format="json")
    assert response.status_code == 200, response.content
    assert response.data["posted"] == 1
    assert response.data["rows"][0]["line"] == 2
    again = client.post("/api/v1/repayments/import/", {"csv": text}, format="json")
    assert (again.data["posted"], again.data["already_posted"]) == (0, 1)
    bad = client.post(
        "/api/v1/repayments/import/", {"csv": csv_for(f"{loan.reference},F-2,{due},x,CNY")}, format="json"
    )
    assert bad.status_code == 400
    assert "rows.2.amount" in bad.json()["errors"]


def test_delinquency_endpoints(loan: Facility, api_client: Client, rm_b: User) -> None:
    as_of = first_line(loan).due_date + timedelta(days=40)
    client = api_client(ops())
    buckets = client.get("/api/v1/delinquency/buckets/", {"as_of": str(as_of)})
    assert buckets.status_code == 200
    assert [b["facilities"] for b in buckets.data["buckets"]] == [0, 1, 0, 0]
    assert buckets.data["currency"] == "CNY"
    party = client.get(f"/api/v1/parties/{loan.borrower_id}/delinquency/")
    assert party.status_code == 200
    assert party.data["party"]["facilities"] == 1
    assert D(party.data["group"]["outstanding"]) == D("1000000.00")
    assert api_client(rm_b).get(f"/api/v1/parties/{loan.borrower_id}/delinquency/").status_code == 404
    assert client.get("/api/v1/delinquency/buckets/", {"as_of": "nope"}).status_code == 400


def test_payoff_endpoint(loan: Facility, api_client: Client, rm_b: User) -> None:
    day = first_line(loan).due_date + timedelta(days=3)
    response = api_client(ops()).get(f"/api/v1/facilities/{loan.pk}/payoff/", {"value_date": str(day)})
    assert response.status_code == 200
    data = response.data
    line = first_line(loan)
    assert D(data["arrears"]) == line.principal + line.interest
    assert D(data["principal"]) == line.closing_balance
    assert D(data["total"]) == D(data["arrears"]) + D(data["accrued_interest"]) + D(data["principal"]) + D(
        data["fee"]
    )
    assert api_client(rm_b).get(f"/api/v1/facilities/{loan.pk}/payoff/").status_code == 404
    assert (
        api_client(ops()).get(f"/api/v1/facilities/{loan.pk}/payoff/", {"value_date": "x"}).status_code == 400
    )


@pytest.mark.parametrize("flag", ["", "maybe"])
def test_a_bad_list_filter_is_400(loan: Facility, api_client: Client, flag: str) -> None:
    response = api_client(ops()).get("/api/v1/repayments/", {"is_prepayment": flag})
    assert response.status_code == 400
    assert "is_prepayment" in response.json()["errors"]


def test_the_list_filters_by_early_repayment(loan: Facility, api_client: Client) -> None:
    client = api_client(ops())
    body = {"facility": loan.pk, "reference": "F-1", "value_date": "2026-02-16", "amount": "10.00"}
    assert client.post("/api/v1/repayments/", body, format="json").status_code == 201
    assert client.get("/api/v1/repayments/", {"is_prepayment": "false"}).json()["count"] == 1
    assert client.get("/api/v1/repayments/", {"is_prepayment": "true"}).json()["count"] == 0
