"""The memo and financial-statement API: ratios and expected loss in the memo view, revisions, ETags,
completion, and statements entered, listed and removed."""

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from lendcrm.core.models import User
from lendcrm.origination.models import FinancialStatement, Status
from lendcrm.parties.models import Party
from tests.origination.conftest import AppFactory, facility

pytestmark = pytest.mark.django_db
Client = Callable[[User | None], APIClient]
MEMO_QUERIES = 11

STATEMENT = {
    "period_end": "2024-12-31",
    "currency": "CNY",
    "lines": {
        "revenue": "20000000.00",
        "ebitda": "3000000.00",
        "depreciation": "800000.00",
        "interest_expense": "440000.00",
        "tax": "330000.00",
        "principal_repaid": "1200000.00",
        "short_term_debt": "1000000.00",
        "long_term_debt": "5000000.00",
        "equity": "8000000.00",
    },
}


def test_statements_api(api_client: Client, analyst: User, rm_b: User, borrower: Party) -> None:
    client = api_client(analyst)
    created = client.post("/api/v1/financial-statements/", {**STATEMENT, "party": borrower.pk}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["kind"], body["period_months"]) == ("audited", 12)
    assert body["lines"]["revenue"] == "20000000.00"
    assert "cash" not in body["lines"]
    listed = client.get("/api/v1/financial-statements/", {"party": borrower.pk}).json()
    assert [s["id"] for s in listed["results"]] == [body["id"]]
    assert api_client(rm_b).get("/api/v1/financial-statements/").json()["count"] == 0
    assert api_client(rm_b).get(f"/api/v1/financial-statements/{body['id']}/").status_code == 404
    bad = client.post(
        "/api/v1/financial-statements/",
        {**STATEMENT, "party": borrower.pk, "lines": {"goodwill_magic": "1.00"}},
        format="json",
    )
    assert bad.status_code == 400
    assert "lines.goodwill_magic" in bad.json()["errors"]
    stale = client.delete(f"/api/v1/financial-statements/{body['id']}/", HTTP_IF_MATCH=f'"{body["id"]}-5"')
    assert stale.status_code == 412
    assert client.delete(f"/api/v1/financial-statements/{body['id']}/").status_code == 204
    assert not FinancialStatement.objects.exists()


def test_statement_for_a_hidden_party_is_404(api_client: Client, rm_b: User, borrower: Party) -> None:
    response = api_client(rm_b).post(
        "/api/v1/financial-statements/", {**STATEMENT, "party": borrower.pk}, format="json"
    )
    assert response.status_code == 404
    assert not FinancialStatement.objects.exists()


def test_memo_api_round_trip(
    api_client: Client, analyst: User, rm_a: User, apps: AppFactory, borrower: Party
) -> None:
    application = apps.at(Status.CREDIT_ANALYSIS)
    client = api_client(analyst)
    client.post("/api/v1/financial-statements/", {**STATEMENT, "party": borrower.pk}, format="json")
    path = f"/api/v1/applications/{application.pk}/memo/"
    empty = client.get(path)
    assert empty.status_code == 200
    assert empty.json()["memo"] is None
    assert empty.json()["ratios"][0]["ratios"]["leverage"] == "2.0000"
    assert empty.json()["expected_loss"]["total_base"] is None
    assert "ETag" not in empty
    assert client.patch(path, {"risk_grade": 4}, format="json", HTTP_IF_MATCH='"1-1"').status_code == 412
    saved = client.patch(path, {"risk_grade": 4, "business": "Castings"}, format="json")
    assert saved.status_code == 200, saved.json()
    memo = saved.json()
    assert memo["memo"]["version"] == 1
    assert memo["memo"]["pd"] == "0.004200"
    assert memo["expected_loss"]["facilities"][0]["expected_loss"] == "8400.00"
    assert memo["expected_loss"]["total_base"] == "8400.00"
    assert [r["version"] for r in memo["revisions"]] == [1]
    etag = saved["ETag"]
    incomplete = client.post(f"{path}complete/", HTTP_IF_MATCH=etag)
    assert incomplete.status_code == 409
    assert set(incomplete.json()["errors"]) == {"recommendation"}
    whole = {
        "business": "Castings",
        "industry": "Autos",
        "financial_analysis": "Sound",
        "security_analysis": "Pledge",
        "risks": "Cyclical",
        "recommendation": "Approve",
        "grade_rationale": "Peers",
        "risk_grade": 4,
    }
    assert client.put(path, {"business": "only"}, format="json").status_code == 400
    put = client.put(path, whole, format="json", HTTP_IF_MATCH=etag)
    assert put.status_code == 200
    done = client.post(f"{path}complete/", HTTP_IF_MATCH=put["ETag"])
    assert done.status_code == 200
    assert done.json()["memo"]["completed_at"] is not None
    assert [r["version"] for r in done.json()["revisions"]] == [1, 2, 3]
    assert api_client(rm_a).patch(path, {"risks": "x"}, format="json").status_code == 403


def test_memo_view_queries_are_pinned(
    api_client: Client, analyst: User, apps: AppFactory, borrower: Party
) -> None:
    """Token and roles (2), the application with its memo and five prefetches (6), the statements and
    their lines (2), the revisions (1): the same whatever the number of facilities, periods and revisions."""
    client = api_client(analyst)
    client.get("/api/v1/me/")
    client.post("/api/v1/financial-statements/", {**STATEMENT, "party": borrower.pk}, format="json")
    small = apps.at(Status.CREDIT_ANALYSIS)
    apps.write_memo(small)

    def count(application_id: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/api/v1/applications/{application_id}/memo/").status_code == 200
        return len(ctx.captured_queries)

    assert count(small.pk) == MEMO_QUERIES
    for year in (2021, 2022, 2023):
        client.post(
            "/api/v1/financial-statements/",
            {**STATEMENT, "period_end": f"{year}-12-31", "party": borrower.pk},
            format="json",
        )
    big = apps.at(Status.PENDING_DECISION, facilities=[facility() for _ in range(4)])
    assert count(big.pk) == MEMO_QUERIES
