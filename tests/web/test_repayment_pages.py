"""Repayment pages: the list (scoped, filtered, constant queries), posting against a facility (field
errors, refusals, 403 for other roles), the import upload (all or nothing, refusals by line) and the panel
the facility page includes."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import Client

from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.servicing.models import Facility, Instalment, Repayment
from lendcrm.servicing.repayment_pages import repayment_panel
from lendcrm.servicing.services.repayments import post_repayment
from tests.servicing.factories import booked_facility, borrower_party, ops
from tests.web.origination_fixtures import page_queries

pytestmark = pytest.mark.django_db
D = Decimal
Web = Callable[[User], Client]
PINNED_LIST_QUERIES = 8


def due(facility: Facility) -> Any:
    return Instalment.objects.filter(facility=facility).order_by("number")[0].due_date


def pay(facility: Facility, reference: str, amount: str = "100.00") -> Repayment:
    day = due(facility)
    return post_repayment(
        actor=ops(), facility_id=facility.pk, amount=D(amount), value_date=day, reference=reference, today=day
    )


@pytest.fixture
def loan() -> Facility:
    return booked_facility()


def test_the_list_shows_repayments_in_scope(loan: Facility, web: Web, rm_b: User) -> None:
    pay(loan, "PG-1")
    page = web(ops()).get("/repayments/")
    assert page.status_code == 200
    assert "PG-1" in page.content.decode()
    assert loan.reference in page.content.decode()
    assert "PG-1" not in web(rm_b).get("/repayments/").content.decode()


def test_the_list_filters_and_refuses_a_bad_filter(loan: Facility, web: Web) -> None:
    pay(loan, "PG-1")
    client = web(ops())
    assert "PG-1" not in client.get("/repayments/?source=import").content.decode()
    assert "PG-1" in client.get(f"/repayments/?facility={loan.pk}").content.decode()
    assert client.get("/repayments/?value_from=not-a-date").status_code == 400


def test_the_list_query_count_does_not_grow(loan: Facility, web: Web) -> None:
    pay(loan, "PG-1")
    small = page_queries(web(ops()), "/repayments/")
    for i in range(4):
        other = booked_facility(borrower=borrower_party(f"Page Borrower {i}"))
        pay(other, f"PG-X{i}")
    assert page_queries(web(ops()), "/repayments/") == small
    # the signed-in user and session, the count, one page with facility, borrower and poster joined
    assert small == PINNED_LIST_QUERIES


def test_posting_from_the_form(loan: Facility, web: Web) -> None:
    client = web(ops())
    form = client.get(f"/facilities/{loan.pk}/repayments/new/")
    assert form.status_code == 200
    assert 'id="payoff"' in form.content.decode()  # what repays everything today
    day = due(loan)
    response = client.post(
        f"/facilities/{loan.pk}/repayments/new/",
        {"reference": "F-1", "value_date": str(day), "amount": "500.00"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/facilities/{loan.pk}/"
    page = client.get(response["Location"])
    assert "F-1" in page.content.decode()  # the facility page's repayments panel
    repayment = Repayment.objects.get()
    assert repayment.reference == "F-1"
    assert repayment.to_interest == D("500.00")


def test_the_form_shows_field_errors_and_refusals(loan: Facility, web: Web) -> None:
    client = web(ops())
    bad = client.post(
        f"/facilities/{loan.pk}/repayments/new/", {"reference": "", "value_date": "x", "amount": "-1"}
    )
    assert bad.status_code == 400
    future = client.post(
        f"/facilities/{loan.pk}/repayments/new/",
        {"reference": "F-2", "value_date": "2999-01-01", "amount": "1.00"},
    )
    assert future.status_code == 400
    assert "future" in future.content.decode()
    pay(loan, "F-3")
    reused = client.post(
        f"/facilities/{loan.pk}/repayments/new/",
        {"reference": "F-3", "value_date": str(due(loan)), "amount": "7.00"},
    )
    assert reused.status_code == 409
    assert Repayment.objects.count() == 1


def test_only_loan_operations_may_post_or_import(
    loan: Facility, web: Web, make_user: Callable[..., User], rm_b: User
) -> None:
    monitor = make_user("pg_monitor", Role.PORTFOLIO_MONITOR)
    assert web(monitor).get(f"/facilities/{loan.pk}/repayments/new/").status_code == 403
    assert web(monitor).get("/repayments/import/").status_code == 403
    assert web(rm_b).get(f"/facilities/{loan.pk}/repayments/new/").status_code == 404


def test_import_upload(loan: Facility, web: Web) -> None:
    client = web(ops())
    day = due(loan)
    good = f"facility,reference,value_date,amount,currency\n{loan.reference},UP-1,{day},10.00,CNY\n"
    upload = SimpleUploadedFile("cb.csv", good.encode(), content_type="text/csv")
    response = client.post("/repayments/import/", {"file": upload})
    assert response.status_code == 200
    assert "UP-1" in response.content.decode()
    bad = (
        "facility,reference,value_date,amount,currency\n"
        f"{loan.reference},UP-2,{day},10.00,CNY\n{loan.reference},UP-3,{day},oops,CNY\n"
    )
    response = client.post("/repayments/import/", {"file": SimpleUploadedFile("cb.csv", bad.encode())})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="import-refusals"' in body
    assert "amount" in body
    assert not Repayment.objects.filter(reference="UP-2").exists()
    assert client.post("/repayments/import/", {}).status_code == 400


def test_arrears_show_on_the_form(web: Web) -> None:
    loan = booked_facility(borrower=borrower_party("Late Payer"))
    later = due(loan) + timedelta(days=40)
    post_repayment(
        actor=ops(), facility_id=loan.pk, amount=D("1.00"), value_date=later, reference="L-1", today=later
    )
    loan.refresh_from_db()
    page = web(ops()).get(f"/facilities/{loan.pk}/repayments/new/").content.decode()
    assert f"<dd>{loan.days_past_due}</dd>" in page
    assert loan.days_past_due == 40


def test_the_facility_panel(loan: Facility, rm_a: User) -> None:
    pay(loan, "PN-1")
    loan.refresh_from_db()
    html = render_to_string("servicing/_repayments.html", {"facility": loan, **repayment_panel(ops(), loan)})
    assert "PN-1" in html
    assert 'id="post-repayment"' in html
    from tests.servicing.factories import relationship_manager

    rm_html = render_to_string(
        "servicing/_repayments.html", {"facility": loan, **repayment_panel(relationship_manager(), loan)}
    )
    assert "PN-1" in rm_html
    assert 'id="post-repayment"' not in rm_html
