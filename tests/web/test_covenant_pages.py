"""The covenant pages: a facility's covenants and tests (add, attest, waive), a party's statements
entered in monitoring, projects with their cash flows and ratios; query counts pinned."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from lendcrm.monitoring.models import Covenant, CovenantTest, ProjectCashFlow
from lendcrm.monitoring.services import covenants, projects
from lendcrm.monitoring.services.statements import submit_statement
from tests.monitoring.covenant_fixtures import (
    NEXT_END,
    TODAY,
    WEAK_LINES,
    approver,
    facility,
    monitor,
    monitor2,
)
from tests.servicing.factories import booked_facility, borrower_party, relationship_manager
from tests.web.conftest import html
from tests.web.origination_fixtures import page_queries
from tests.web.test_accessibility import _check

__all__ = ["approver", "facility", "monitor", "monitor2"]

pytestmark = pytest.mark.django_db


def add_dscr(monitor, facility, name="Minimum DSCR 1.20x"):
    return covenants.add_covenant(
        actor=monitor,
        facility_id=facility.pk,
        kind="financial",
        name=name,
        metric="dscr",
        bound="min",
        threshold=Decimal("1.20"),
        frequency_months=3,
        first_test_date=NEXT_END,
        due_days=30,
    )


def weak_statement(monitor, facility):
    submit_statement(
        actor=monitor,
        party_id=facility.borrower_id,
        period_end=NEXT_END,
        period_months=3,
        kind="management",
        currency="CNY",
        lines=WEAK_LINES,
    )


def test_covenant_page_adds_a_covenant_and_shows_tests(monitor, facility, web: Any):
    client = web(monitor)
    url = f"/facilities/{facility.pk}/covenants/"
    page = html(client.get(url))
    _check(page, url)
    assert 'id="no-covenants"' in page
    form = {
        "kind": "financial",
        "name": "Leverage at most 3.5x",
        "metric": "leverage",
        "bound": "max",
        "threshold": "3.5",
        "frequency_months": "12",
        "first_test_date": NEXT_END.isoformat(),
        "due_days": "90",
    }
    response = client.post(f"/facilities/{facility.pk}/covenants/new/", form)
    assert response.status_code == 302
    page = html(client.get(url))
    assert "Leverage at most 3.5x" in page
    assert 'data-status="not_due"' in page
    _check(page, url)


def test_a_refused_covenant_shows_its_field_errors(monitor, facility, web: Any):
    response = web(monitor).post(
        f"/facilities/{facility.pk}/covenants/new/",
        {
            "kind": "financial",
            "name": "x",
            "frequency_months": "12",
            "first_test_date": NEXT_END.isoformat(),
            "due_days": "0",
        },
    )
    assert response.status_code == 400
    assert "Choose what the covenant measures." in html(response)
    assert not Covenant.objects.exists()


def test_rm_reads_but_may_not_add_and_out_of_scope_is_404(monitor, facility, web: Any, rm_b):
    add_dscr(monitor, facility)
    page = html(web(relationship_manager()).get(f"/facilities/{facility.pk}/covenants/"))
    assert "Minimum DSCR 1.20x" in page
    assert 'id="covenant-form"' not in page
    assert web(relationship_manager()).post(f"/facilities/{facility.pk}/covenants/new/", {}).status_code in (
        400,
        403,
    )
    assert web(rm_b).get(f"/facilities/{facility.pk}/covenants/").status_code == 404


def test_breach_waiver_asked_and_decided_by_someone_else(monitor, monitor2, facility, web: Any):
    add_dscr(monitor, facility)
    weak_statement(monitor, facility)
    test = CovenantTest.objects.get(period_end=NEXT_END)
    url = f"/facilities/{facility.pk}/covenants/"
    page = html(web(monitor).get(url))
    assert 'data-status="breach"' in page
    assert f'action="/covenant-tests/{test.pk}/waiver/"' in page
    response = web(monitor).post(
        f"/covenant-tests/{test.pk}/waiver/", {f"waiver-{test.pk}-reason": "Equity cure"}
    )
    assert response.status_code == 302
    # The requester is not offered the decision; a second monitor is.
    assert f'action="/covenant-tests/{test.pk}/waiver/decision/"' not in html(web(monitor).get(url))
    assert f'action="/covenant-tests/{test.pk}/waiver/decision/"' in html(web(monitor2).get(url))
    refused = web(monitor).post(
        f"/covenant-tests/{test.pk}/waiver/decision/", {f"decide-{test.pk}-approve": "approve"}
    )
    assert refused.status_code == 403
    done = web(monitor2).post(
        f"/covenant-tests/{test.pk}/waiver/decision/",
        {f"decide-{test.pk}-approve": "approve", f"decide-{test.pk}-note": "ok"},
    )
    assert done.status_code == 302
    test.refresh_from_db()
    assert test.status == "waived"


def test_attest_an_undertaking(monitor, facility, web: Any):
    covenant = covenants.add_covenant(
        actor=monitor,
        facility_id=facility.pk,
        kind="undertaking",
        name="Negative pledge",
        first_test_date=NEXT_END,
    )
    prefix = f"attest-{covenant.pk}"
    response = web(monitor).post(
        f"/covenants/{covenant.pk}/attest/",
        {
            f"{prefix}-period_end": NEXT_END.isoformat(),
            f"{prefix}-complied": "no",
            f"{prefix}-attested_on": TODAY.isoformat(),
        },
    )
    assert response.status_code == 302
    assert CovenantTest.objects.get(covenant=covenant, period_end=NEXT_END).status == "breach"
    bad = web(monitor).post(
        f"/covenants/{covenant.pk}/attest/",
        {f"{prefix}-period_end": (NEXT_END + timedelta(days=3)).isoformat(), f"{prefix}-complied": "yes"},
    )
    assert bad.status_code == 400
    assert "Not a test date of this covenant." in html(bad)


def test_covenant_page_queries_do_not_grow(monitor, facility, web: Any):
    add_dscr(monitor, facility)
    client = web(monitor)
    url = f"/facilities/{facility.pk}/covenants/"
    page_queries(client, url)  # the session's first request writes it
    small = page_queries(client, url)
    for index in range(3):
        add_dscr(monitor, facility, name=f"Covenant {index}")
    weak_statement(monitor, facility)
    covenants.run_tests(as_of=NEXT_END + timedelta(days=400))
    assert CovenantTest.objects.count() > 10
    assert page_queries(client, url) == small


def test_statement_page_submits_and_tests(monitor, facility, web: Any):
    add_dscr(monitor, facility)
    client = web(monitor)
    url = f"/parties/{facility.borrower_id}/statements/"
    page = html(client.get(url))
    _check(page, url)
    form = {
        "period_end": NEXT_END.isoformat(),
        "period_months": "3",
        "kind": "management",
        "currency": "CNY",
        **{f"line_{code}": str(amount) for code, amount in WEAK_LINES.items()},
    }
    response = client.post(url, form)
    assert response.status_code == 302
    page = html(client.get(url))
    assert 'data-status="breach"' in page
    assert "0.93\u00d7" in page
    bad = client.post(url, {**form, "period_months": "13"})
    assert bad.status_code == 400
    # An RM sees the page but not the form.
    rm_page = html(web(relationship_manager()).get(url))
    assert 'id="statement-form"' not in rm_page
    small = page_queries(client, url)
    submit_statement(
        actor=monitor,
        party_id=facility.borrower_id,
        period_end=NEXT_END - timedelta(days=92),
        period_months=3,
        kind="management",
        currency="CNY",
        lines=WEAK_LINES,
    )
    assert page_queries(client, url) == small


def test_project_pages(monitor, web: Any):
    client = web(monitor)
    party = borrower_party("Ningxia Solar SPV")
    page = html(client.get("/projects/"))
    _check(page, "/projects/")
    response = client.post(
        "/projects/",
        {
            "party": str(party.pk),
            "name": "Ningxia 50 MW",
            "currency": "CNY",
            "discount_rate_pct": "10",
            "lockup_dscr": "1.15",
            "default_dscr": "1.05",
        },
    )
    assert response.status_code == 302
    project_url = response["Location"]
    project_id = int(project_url.rstrip("/").split("/")[-1])
    page = html(client.get(project_url))
    _check(page, project_url)
    rows = [
        ("2025-12-31", "1430", "800", "300"),
        ("2026-12-31", "1342", "1000", "220"),
        ("2027-12-31", "1584", "1200", "120"),
    ]
    data = {
        "version": "1",
        "cf-TOTAL_FORMS": "4",
        "cf-INITIAL_FORMS": "0",
        "cf-MIN_NUM_FORMS": "0",
        "cf-MAX_NUM_FORMS": "600",
    }
    for index, (end, revenue, principal, interest) in enumerate(rows):
        data.update(
            {
                f"cf-{index}-period_end": end,
                f"cf-{index}-revenue": revenue,
                f"cf-{index}-principal": principal,
                f"cf-{index}-interest": interest,
            }
        )
    saved = client.post(f"/projects/{project_id}/cash-flows/", data)
    assert saved.status_code == 302, html(saved)
    assert ProjectCashFlow.objects.filter(project_id=project_id).count() == 3
    page = html(client.get(f"{project_url}?at=2024-12-31"))
    assert 'id="llcr">1.20\u00d7' in page
    assert 'id="min-dscr">1.10\u00d7' in page
    stale = client.post(f"/projects/{project_id}/cash-flows/", data)
    assert stale.status_code == 409
    small = page_queries(client, project_url)
    projects.save_cash_flows(
        actor=monitor,
        project_id=project_id,
        rows=[
            {
                "period_end": NEXT_END + timedelta(days=365 * n),
                "revenue": Decimal("100"),
                "operating_costs": Decimal("0"),
                "tax": Decimal("0"),
                "maintenance_capex": Decimal("0"),
                "working_capital_change": Decimal("0"),
                "reserve_movement": Decimal("0"),
            }
            for n in range(12)
        ],
    )
    assert page_queries(client, project_url) == small
    assert page_queries(client, "/projects/") == page_queries(client, "/projects/")


def test_project_list_refuses_bad_input(monitor, web: Any):
    response = web(monitor).post(
        "/projects/", {"party": "999999", "name": "x", "currency": "CNY", "discount_rate_pct": "5"}
    )
    assert response.status_code == 404


def test_rm_out_of_scope_gets_404_on_projects(monitor, web: Any, rm_b):
    party = borrower_party("Tibet Hydro SPV")
    facility = booked_facility(borrower=party, start_date=TODAY - timedelta(days=30))
    project = projects.create_project(actor=monitor, party_id=party.pk, facility_id=facility.pk, name="Hydro")
    assert web(rm_b).get(f"/projects/{project.pk}/").status_code == 404
    assert web(relationship_manager()).get(f"/projects/{project.pk}/").status_code == 200


def test_the_facility_page_links_its_projects_and_prefills_a_new_one(monitor, facility, web: Any):
    project = projects.create_project(
        actor=monitor, party_id=facility.borrower_id, facility_id=facility.pk, name="Wind"
    )
    client = web(monitor)
    page = html(client.get(f"/facilities/{facility.pk}/covenants/"))
    assert f'href="/projects/{project.pk}/"' in page
    form = html(client.get(f"/projects/?party={facility.borrower_id}&facility={facility.pk}"))
    assert f'value="{facility.pk}"' in form
