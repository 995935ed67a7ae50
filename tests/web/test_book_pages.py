"""Loan-book pages: the list, a facility (terms, schedule, drawdowns), paying out a drawdown, booking an
application from its page, and the facilities on the party's 360."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.origination.models import Application, Status
from lendcrm.servicing.models import Drawdown, Facility
from tests.origination.conftest import facility as facility_terms
from tests.servicing import factories
from tests.web.conftest import html
from tests.web.origination_fixtures import page_queries

pytestmark = pytest.mark.django_db
Web = Callable[[User], Client]


def outsider() -> User:
    return factories.staff("bk_web_rm_b", Role.RELATIONSHIP_MANAGER, at=factories.other_branch())


def test_the_loan_book_lists_filters_and_stays_in_scope(web: Web) -> None:
    term = factories.booked_facility()
    revolving = factories.booked_facility(kind="revolving", profile="bullet")
    rm = web(factories.relationship_manager())
    page = rm.get("/facilities/")
    assert page.status_code == 200
    body = html(page)
    assert term.reference in body
    assert 'aria-current="page">Loan book' in body
    only = html(rm.get("/facilities/", {"kind": "term"}))
    assert term.reference in only
    assert revolving.reference not in only
    assert rm.get("/facilities/", {"kind": "loan"}).status_code == 400
    assert term.reference not in html(web(outsider()).get("/facilities/"))
    by_application = html(rm.get("/facilities/", {"application": term.application_id}))
    assert by_application.count('data-facility="') == 1


def test_the_list_query_count_does_not_grow(web: Web) -> None:
    factories.booked_facility()
    client = web(factories.ops())
    page_queries(client, "/facilities/")  # the first load fills per-process caches
    small = page_queries(client, "/facilities/")
    assert small == 6  # session, user, roles, branches of the filter, the count, the page
    for _ in range(3):
        factories.booked_facility(guarantors=[factories.borrower_party("Guarantor Co")])
    assert page_queries(client, "/facilities/") == small


def test_the_facility_page_shows_terms_schedule_and_drawdowns(web: Web) -> None:
    guarantor = factories.borrower_party("Lingang Holdings")
    facility = factories.booked_facility(guarantors=[guarantor], draw_amount=Decimal("600000.00"))
    page = web(factories.relationship_manager()).get(f"/facilities/{facility.pk}/")
    assert page.status_code == 200
    body = html(page)
    for text in (facility.reference, "Lingang Holdings", "DD-1", 'id="schedule-table"', "CNY 400,000.00"):
        assert text in body, text
    assert body.count('data-number="') == 24
    assert 'id="drawdown-form"' not in body  # only loan operations pays out
    assert 'id="drawdown-form"' in html(web(factories.ops()).get(f"/facilities/{facility.pk}/"))
    assert web(outsider()).get(f"/facilities/{facility.pk}/").status_code == 404


def test_earlier_schedule_versions_stay_readable(web: Web) -> None:
    facility = factories.booked_facility(draw_amount=Decimal("500000.00"))
    factories.draw_facility(facility, Decimal("500000.00"), date(2026, 3, 2))
    client = web(factories.ops())
    body = html(client.get(f"/facilities/{facility.pk}/", {"version": 1}))
    assert "Version 1" in body
    assert "Show the current version" in body
    assert client.get(f"/facilities/{facility.pk}/", {"version": 7}).status_code == 404


def test_the_detail_query_count_does_not_grow(web: Web) -> None:
    client = web(factories.ops())
    small = factories.booked_facility(tenor_months=12)
    page_queries(client, f"/facilities/{small.pk}/")  # the first load fills per-process caches
    few = page_queries(client, f"/facilities/{small.pk}/")
    # session, user, roles; facility, guarantors, drawdowns, schedule; repayments (1) and classification
    # (4) panels
    assert few == 12
    guarantors = [factories.borrower_party(f"Guarantor {i}") for i in range(3)]
    big = factories.booked_facility(tenor_months=60, guarantors=guarantors, draw_amount=Decimal("300000.00"))
    for month in (2, 3):
        factories.draw_facility(big, Decimal("100000.00"), date(2026, month, 20))
    assert page_queries(client, f"/facilities/{big.pk}/") == few


def test_loan_operations_pays_out_a_drawdown_from_the_page(web: Web) -> None:
    facility = factories.booked_facility(drawn=False)
    client = web(factories.ops())
    url = f"/facilities/{facility.pk}/drawdowns/new/"
    paid = client.post(url, {"amount": "250000", "value_date": "2026-01-20", "reference": "PAY-7"})
    assert paid.status_code == 302
    assert Drawdown.objects.filter(facility=facility, reference="PAY-7").exists()
    over = client.post(url, {"amount": "750000.01", "value_date": "2026-01-21", "reference": "PAY-8"})
    assert over.status_code == 409
    assert "is available" in html(over)
    bad = client.post(url, {"amount": "", "value_date": "soon", "reference": ""})
    assert bad.status_code == 400
    assert web(factories.relationship_manager()).post(url, {"amount": "1"}).status_code == 403
    assert Drawdown.objects.filter(facility=facility).count() == 1


def _ready(**terms: Any) -> Application:
    return factories.ready_application(
        borrower=factories.borrower_party(), facilities=[facility_terms(**terms)]
    )


def _book_data(application: Application, **values: str) -> dict[str, str]:
    prefix = f"f{application.facilities.get().pk}"
    data = {
        "start_date": "2026-01-15",
        f"{prefix}-kind": "term",
        f"{prefix}-profile": "annuity",
        f"{prefix}-frequency_months": "3",
        f"{prefix}-day_count": "act_360",
        f"{prefix}-business_day_rule": "modified_following",
    }
    data.update({f"{prefix}-{k}" if k != "start_date" else k: v for k, v in values.items()})
    return data


def test_an_application_is_booked_from_its_page(web: Web) -> None:
    application = _ready()
    ops = web(factories.ops())
    detail = html(ops.get(f"/applications/{application.pk}/"))
    assert 'id="book-link"' in detail
    assert 'id="book-link"' not in html(
        web(factories.relationship_manager()).get(f"/applications/{application.pk}/")
    )
    form = ops.get(f"/applications/{application.pk}/book/")
    assert form.status_code == 200
    assert 'id="book-form"' in html(form)
    booked = ops.post(f"/applications/{application.pk}/book/", _book_data(application))
    assert booked.status_code == 302
    facility = Facility.objects.get(application=application)
    assert booked["Location"] == f"/facilities/{facility.pk}/"
    assert facility.frequency_months == 3
    application.refresh_from_db()
    assert application.status == Status.BOOKED
    assert 'id="booked-link"' in html(ops.get(f"/applications/{application.pk}/"))
    assert ops.get(f"/applications/{application.pk}/book/").status_code == 302


def test_booking_refusals_on_the_page(web: Web) -> None:
    application = _ready()
    ops = web(factories.ops())
    late = ops.post(
        f"/applications/{application.pk}/book/", _book_data(application, availability_end="2035-01-01")
    )
    assert late.status_code == 400
    assert "Must be from the start to maturity" in html(late)
    missing = ops.post(f"/applications/{application.pk}/book/", _book_data(application, start_date=""))
    assert missing.status_code == 400
    assert (
        web(factories.relationship_manager()).get(f"/applications/{application.pk}/book/").status_code == 403
    )
    assert web(outsider()).get(f"/applications/{application.pk}/book/").status_code == 404
    application.refresh_from_db()
    assert application.status == Status.READY_TO_DISBURSE


def test_the_party_360_lists_its_facilities(web: Web) -> None:
    facility = factories.booked_facility()
    page = web(factories.relationship_manager()).get(f"/parties/{facility.borrower_id}/")
    assert page.status_code == 200
    body = html(page)
    assert 'id="party-facilities"' in body
    assert facility.reference in body


def test_the_admin_shows_facilities_read_only(web: Web) -> None:
    facility = factories.booked_facility()
    admin = web(factories.staff("bk_admin", Role.ADMINISTRATOR))
    listed = admin.get("/admin/servicing/facility/")
    assert listed.status_code == 200
    assert facility.reference in html(listed)
    change = admin.get(f"/admin/servicing/facility/{facility.pk}/change/")
    assert change.status_code == 200
    assert 'name="_save"' not in html(change)
    assert admin.get("/admin/servicing/facility/add/").status_code == 403
    assert web(factories.relationship_manager()).get("/admin/servicing/facility/").status_code in (302, 403)


def test_the_360_shows_the_party_and_group_arrears(web: Web) -> None:
    facility = factories.booked_facility()
    Facility.objects.filter(pk=facility.pk).update(
        arrears_principal=Decimal("1000.00"), arrears_interest=Decimal("50.00"), days_past_due=12
    )
    body = html(web(factories.relationship_manager()).get(f"/parties/{facility.borrower_id}/"))
    assert 'id="party-delinquency"' in body
    assert "CNY 1,050.00" in body
    assert "12 days past due" in body
