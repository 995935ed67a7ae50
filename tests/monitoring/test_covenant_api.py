"""The covenant and project API: create, list, tests, attestations, waivers, cash flows, ratios."""

from datetime import timedelta

import pytest

from lendcrm.monitoring.models import Covenant, CovenantTest
from tests.monitoring.covenant_fixtures import (
    NEXT_END,
    TODAY,
    WEAK_LINES,
    approver,
    facility,
    monitor,
    monitor2,
)
from tests.servicing.factories import borrower_party, relationship_manager

__all__ = ["approver", "facility", "monitor", "monitor2"]

COVENANTS = "/api/v1/covenants/"
TESTS = "/api/v1/covenant-tests/"
PROJECTS = "/api/v1/projects/"


def dscr_body(facility, **overrides):
    return {
        "facility": facility.pk,
        "kind": "financial",
        "name": "Minimum DSCR 1.20x",
        "metric": "dscr",
        "bound": "min",
        "threshold": "1.20",
        "frequency_months": 3,
        "first_test_date": NEXT_END.isoformat(),
        "due_days": 30,
        **overrides,
    }


def test_create_list_and_read_a_covenant(api_client, monitor, facility):
    client = api_client(monitor)
    response = client.post(COVENANTS, dscr_body(facility), format="json", HTTP_IDEMPOTENCY_KEY="cov-1")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["threshold"], body["facility_reference"], body["kind"]) == (
        "1.2000",
        facility.reference,
        "financial",
    )
    assert response["ETag"] == f'"{body["id"]}-1"'
    replay = client.post(COVENANTS, dscr_body(facility), format="json", HTTP_IDEMPOTENCY_KEY="cov-1")
    assert replay.json()["id"] == body["id"]
    assert Covenant.objects.count() == 1
    listed = client.get(COVENANTS, {"facility": facility.pk}).json()
    assert [c["id"] for c in listed["results"]] == [body["id"]]
    tests = client.get(f"{COVENANTS}{body['id']}/tests/").json()
    assert [t["status"] for t in tests["results"]] == ["not_due"]
    assert tests["results"][0]["detail_text"] == "Awaiting data"


def test_bad_input_is_400_and_unknown_fields_refused(api_client, monitor, facility):
    client = api_client(monitor)
    assert client.post(COVENANTS, dscr_body(facility, threshold=1.2), format="json").status_code == 400
    assert client.post(COVENANTS, dscr_body(facility, colour="red"), format="json").status_code == 400
    response = client.post(COVENANTS, dscr_body(facility, metric=""), format="json")
    assert response.status_code == 400
    assert "metric" in response.json()["errors"]
    assert not Covenant.objects.exists()


def test_rms_may_not_add_covenants_and_out_of_scope_is_404(api_client, monitor, facility, rm_b):
    assert (
        api_client(relationship_manager()).post(COVENANTS, dscr_body(facility), format="json").status_code
        == 403
    )
    assert api_client(rm_b).post(COVENANTS, dscr_body(facility), format="json").status_code == 404
    covenant_id = api_client(monitor).post(COVENANTS, dscr_body(facility), format="json").json()["id"]
    assert api_client(rm_b).get(f"{COVENANTS}{covenant_id}/").status_code == 404
    assert api_client(rm_b).get(COVENANTS).json()["count"] == 0


def test_deactivate_needs_if_match(api_client, monitor, facility):
    client = api_client(monitor)
    covenant_id = client.post(COVENANTS, dscr_body(facility), format="json").json()["id"]
    url = f"{COVENANTS}{covenant_id}/"
    assert client.patch(url, {"is_active": False}, format="json").status_code == 428
    assert client.patch(url, {"is_active": False}, format="json", HTTP_IF_MATCH='"1-9"').status_code == 412
    etag = client.get(url)["ETag"]
    response = client.patch(url, {"is_active": False}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200
    assert response.json()["is_active"] is False


def test_statement_api_runs_the_tests_and_waiver_endpoints(api_client, monitor, monitor2, facility):
    client = api_client(monitor)
    client.post(COVENANTS, dscr_body(facility), format="json")
    statement = {
        "party": facility.borrower_id,
        "period_end": NEXT_END.isoformat(),
        "period_months": 3,
        "kind": "management",
        "currency": "CNY",
        "lines": {code: str(amount) for code, amount in WEAK_LINES.items()},
    }
    assert client.post("/api/v1/financial-statements/", statement, format="json").status_code == 201
    breaches = client.get(TESTS, {"status": "breach"}).json()["results"]
    assert [(t["period_end"], t["value"]) for t in breaches] == [(NEXT_END.isoformat(), "0.9333")]
    test_id = breaches[0]["id"]
    assert breaches[0]["action"] is not None
    waiver = client.post(f"{TESTS}{test_id}/waiver/", {"reason": "Sponsor support letter"}, format="json")
    assert waiver.json()["status"] == "waiver_requested"
    decision = f"{TESTS}{test_id}/waiver/decision/"
    assert client.post(decision, {"approve": True}, format="json").status_code == 403  # the requester
    decided = api_client(monitor2).post(decision, {"approve": True, "note": "ok"}, format="json")
    assert decided.status_code == 200
    assert decided.json()["status"] == "waived"
    assert client.post(decision, {"approve": True}, format="json").status_code == 409


def test_attestation_endpoint(api_client, monitor, facility):
    client = api_client(monitor)
    covenant_id = client.post(
        COVENANTS,
        {
            "facility": facility.pk,
            "kind": "undertaking",
            "name": "Negative pledge",
            "first_test_date": NEXT_END.isoformat(),
        },
        format="json",
    ).json()["id"]
    url = f"{COVENANTS}{covenant_id}/attestations/"
    response = client.post(url, {"period_end": NEXT_END.isoformat(), "complied": True}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["attested_on"]) == ("pass", TODAY.isoformat())
    future = (TODAY + timedelta(days=2)).isoformat()
    bad = client.post(
        url, {"period_end": NEXT_END.isoformat(), "complied": True, "attested_on": future}, format="json"
    )
    assert bad.status_code == 400
    assert CovenantTest.objects.get(covenant_id=covenant_id, period_end=NEXT_END).attested_on == TODAY


def test_projects_cash_flows_and_ratios(api_client, monitor):
    client = api_client(monitor)
    party = borrower_party("Gansu Wind SPV")
    created = client.post(
        PROJECTS,
        {
            "party": party.pk,
            "name": "Gansu 100 MW wind",
            "currency": "CNY",
            "discount_rate_pct": "10",
            "lockup_dscr": "1.15",
            "default_dscr": "1.05",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    project = created.json()
    url = f"{PROJECTS}{project['id']}/cash-flows/"
    # The worked example of test_project_ratios: CFADS as revenue with no costs.
    rows = [
        ("2025-12-31", "1430", "800", "300"),
        ("2026-12-31", "1342", "1000", "220"),
        ("2027-12-31", "1584", "1200", "120"),
        ("2028-12-31", "1500", "0", "0"),
    ]
    body = {
        "rows": [
            {
                "period_end": end,
                "revenue": revenue,
                "operating_costs": "0",
                "tax": "0",
                "maintenance_capex": "0",
                "working_capital_change": "0",
                "reserve_movement": "0",
                "principal": principal,
                "interest": interest,
            }
            for end, revenue, principal, interest in rows
        ]
    }
    assert client.put(url, body, format="json").status_code == 428
    saved = client.put(url, body, format="json", HTTP_IF_MATCH=created["ETag"])
    assert saved.status_code == 200, saved.json()
    assert [r["cfads"] for r in saved.json()["rows"]] == ["1430.00", "1342.00", "1584.00", "1500.00"]
    assert client.get(url)["ETag"] == f'"{project["id"]}-2"'
    ratios = client.get(f"{PROJECTS}{project['id']}/ratios/", {"at": "2024-12-31"}).json()
    assert (ratios["min_dscr"], ratios["avg_dscr"], ratios["llcr"], ratios["plcr"]) == (
        "1.1000",
        "1.2000",
        "1.1997",
        "1.5412",
    )
    assert ratios["discount_rate_pct"] == "10.00000"
    assert [p["dscr"] for p in ratios["periods"]] == ["1.3000", "1.1000", "1.2000", None]
    later = client.get(f"{PROJECTS}{project['id']}/ratios/", {"at": "2026-12-31"}).json()
    assert (later["lockup"], later["default"], later["tested_dscr"]) == (True, False, "1.1000")
    assert client.get(f"{PROJECTS}{project['id']}/ratios/", {"at": "31/12/2026"}).status_code == 400
    patched = client.patch(
        f"{PROJECTS}{project['id']}/",
        {"lockup_dscr": "1.20"},
        format="json",
        HTTP_IF_MATCH=f'"{project["id"]}-2"',
    )
    assert patched.json()["lockup_dscr"] == "1.2000"


@pytest.mark.parametrize("path", [COVENANTS, TESTS, PROJECTS])
def test_lists_need_authentication(api_client, path, db):
    assert api_client(None).get(path).status_code == 401


def test_extreme_dates_and_numbers_are_4xx_never_500(api_client, monitor, facility):
    client = api_client(monitor)
    for overrides in (
        {"first_test_date": "9999-12-31"},
        {"first_test_date": "0001-01-01"},
        {"threshold": "100000000000000000"},
        {"threshold": "-1e20"},
        {"due_days": 100000},
        {"frequency_months": 0},
    ):
        assert client.post(COVENANTS, dscr_body(facility, **overrides), format="json").status_code == 400, (
            overrides
        )
    covenant_id = client.post(
        COVENANTS,
        {
            "facility": facility.pk,
            "kind": "undertaking",
            "name": "Pledge",
            "first_test_date": NEXT_END.isoformat(),
        },
        format="json",
    ).json()["id"]
    for day in ("0001-01-01", "9999-12-31"):
        response = client.post(
            f"{COVENANTS}{covenant_id}/attestations/", {"period_end": day, "complied": True}, format="json"
        )
        assert response.status_code == 400
    party = borrower_party("Edge SPV")
    project = client.post(
        PROJECTS,
        {"party": party.pk, "name": "Edge", "currency": "CNY", "discount_rate_pct": "5"},
        format="json",
    )
    assert project.status_code == 201
    project_id = project.json()["id"]
    for day in ("0001-01-01", "9999-12-31"):
        assert client.get(f"{PROJECTS}{project_id}/ratios/", {"at": day}).status_code == 200
    rows = {
        "rows": [
            {
                "period_end": day,
                "revenue": "99999999999999999.99",
                "operating_costs": "0",
                "tax": "0",
                "maintenance_capex": "0",
                "working_capital_change": "-99999999999999999.99",
                "reserve_movement": "99999999999999999.99",
            }
            for day in ("0001-01-01", "9999-12-31")
        ]
    }
    response = client.put(
        f"{PROJECTS}{project_id}/cash-flows/", rows, format="json", HTTP_IF_MATCH=project["ETag"]
    )
    assert response.status_code in (200, 400), response.json()
    for day in ("0001-01-01", "9999-12-31"):
        assert client.get(f"{PROJECTS}{project_id}/ratios/", {"at": day}).status_code == 200
    for body in ({"discount_rate_pct": "-1"}, {"lockup_dscr": "1000"}, {"currency": "XXX"}):
        bad = client.post(
            PROJECTS, {"party": party.pk, "name": "Edge", "currency": "CNY", **body}, format="json"
        )
        assert bad.status_code == 400, body


def test_out_of_scope_ids_are_404_before_the_body_is_read(api_client, monitor, facility, rm_b):
    client = api_client(monitor)
    covenant_id = client.post(
        COVENANTS,
        {
            "facility": facility.pk,
            "kind": "undertaking",
            "name": "Pledge",
            "first_test_date": NEXT_END.isoformat(),
        },
        format="json",
    ).json()["id"]
    test_id = CovenantTest.objects.get(covenant_id=covenant_id).pk
    party = facility.borrower
    project_id = client.post(
        PROJECTS, {"party": party.pk, "facility": facility.pk, "name": "P"}, format="json"
    ).json()["id"]
    outsider = api_client(rm_b)
    paths = [
        ("get", f"{COVENANTS}{covenant_id}/"),
        ("patch", f"{COVENANTS}{covenant_id}/"),
        ("get", f"{COVENANTS}{covenant_id}/tests/"),
        ("post", f"{COVENANTS}{covenant_id}/attestations/"),
        ("get", f"{TESTS}{test_id}/"),
        ("post", f"{TESTS}{test_id}/waiver/"),
        ("post", f"{TESTS}{test_id}/waiver/decision/"),
        ("get", f"{PROJECTS}{project_id}/"),
        ("patch", f"{PROJECTS}{project_id}/"),
        ("get", f"{PROJECTS}{project_id}/cash-flows/"),
        ("put", f"{PROJECTS}{project_id}/cash-flows/"),
        ("get", f"{PROJECTS}{project_id}/ratios/"),
    ]
    for method, path in paths:
        response = getattr(outsider, method)(path, data={}, format="json", HTTP_IF_MATCH="*")
        assert response.status_code == 404, (method, path, response.status_code)


def test_statement_ratios_endpoint(api_client, monitor, facility, rm_b):
    client = api_client(monitor)
    body = {
        "party": facility.borrower_id,
        "period_months": 3,
        "kind": "management",
        "currency": "CNY",
        "lines": {"revenue": "1000", **{code: str(amount) for code, amount in WEAK_LINES.items()}},
    }
    earlier = NEXT_END - timedelta(days=92)
    client.post("/api/v1/financial-statements/", {**body, "period_end": earlier.isoformat()}, format="json")
    later = client.post(
        "/api/v1/financial-statements/",
        {**body, "period_end": NEXT_END.isoformat(), "lines": {**body["lines"], "revenue": "1100"}},
        format="json",
    ).json()
    response = client.get(f"/api/v1/financial-statements/{later['id']}/ratios/")
    assert response.status_code == 200
    ratios = response.json()["ratios"]
    assert (ratios["dscr"], ratios["revenue_growth"]) == ("0.9333", "0.1000")
    assert api_client(rm_b).get(f"/api/v1/financial-statements/{later['id']}/ratios/").status_code == 404
