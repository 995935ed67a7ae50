"""Classification and restructuring pages: the panel and the facility's classification page, proposing and
deciding with four-eyes, the restructuring form and page, the approver's queue; scope, query counts,
labels and no inline code."""

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
from lendcrm.servicing.services import classification, restructuring
from tests.servicing import factories
from tests.web.conftest import html
from tests.web.origination_fixtures import page_queries
from tests.web.test_accessibility import _check

pytestmark = pytest.mark.django_db


@pytest.fixture
def monitor(make_user: Callable[..., User]) -> User:
    return make_user("monitor", Role.PORTFOLIO_MONITOR)


@pytest.fixture
def approver(make_user: Callable[..., User]) -> User:
    return make_user("approver", Role.CREDIT_APPROVER)


@pytest.fixture
def facility() -> Facility:
    return factories.booked_facility()


def _downgrade(facility: Facility, dpd: int = 100) -> None:
    Facility.objects.filter(pk=facility.pk).update(days_past_due=dpd)
    classification.classify(as_of=date(2026, 6, 30), facility_ids=[facility.pk])


def test_classification_page_shows_state_floor_and_history(
    facility: Facility, monitor: User, web: Any
) -> None:
    _downgrade(facility)
    page = html(web(monitor).get(f"/facilities/{facility.pk}/classification/"))
    assert 'data-category="substandard"' in page
    assert 'data-stage="3"' in page
    assert "Days past due" in page
    assert 'id="classification-request-form"' in page
    assert "daily run" in page


def test_propose_and_decide_through_the_pages(
    facility: Facility, monitor: User, approver: User, web: Any
) -> None:
    response = web(monitor).post(
        f"/facilities/{facility.pk}/classification/request/",
        {"category": "special_mention", "stage": "2", "reason": "Main customer insolvent"},
    )
    assert response.status_code == 302
    request = ClassificationRequest.objects.get()
    page = html(web(monitor).get(f"/facilities/{facility.pk}/classification/"))
    assert 'id="classification-withdraw-form"' in page  # the requester may withdraw, not decide
    assert 'id="classification-decide-form"' not in page
    refused = web(monitor).post(f"/classification-requests/{request.pk}/decide/", {"decision": "approve"})
    assert refused.status_code == 403
    no_note = web(approver).post(f"/classification-requests/{request.pk}/decide/", {"decision": "reject"})
    assert no_note.status_code == 400
    assert "Say why" in html(no_note)
    page = html(web(approver).get(f"/facilities/{facility.pk}/classification/"))
    assert 'id="classification-decide-form"' in page
    response = web(approver).post(f"/classification-requests/{request.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 302
    assert Facility.objects.get(pk=facility.pk).category == Category.SPECIAL_MENTION


def test_a_request_below_the_floor_shows_beside_the_field(
    facility: Facility, monitor: User, web: Any
) -> None:
    _downgrade(facility)
    response = web(monitor).post(
        f"/facilities/{facility.pk}/classification/request/",
        {"category": "normal", "stage": "1", "reason": "Paid up"},
    )
    assert response.status_code == 400
    assert 'id="id_category-errors"' in html(response)
    assert not ClassificationRequest.objects.exists()
    bad = web(monitor).post(f"/facilities/{facility.pk}/classification/request/", {"category": "great"})
    assert bad.status_code == 400


def test_withdraw_through_the_page(facility: Facility, monitor: User, web: Any) -> None:
    request = classification.request_classification(
        actor=monitor, facility_id=facility.pk, category="special_mention", stage=2, reason="x"
    )
    assert web(monitor).post(f"/classification-requests/{request.pk}/withdraw/").status_code == 302
    assert ClassificationRequest.objects.get().status == RequestStatus.WITHDRAWN


def test_restructuring_form_detail_and_decision(
    facility: Facility, monitor: User, approver: User, rm_a: User, web: Any
) -> None:
    form = web(monitor).get(f"/facilities/{facility.pk}/restructure/")
    assert form.status_code == 200
    effective = (timezone.localdate() + timedelta(days=1)).isoformat()
    bad = web(monitor).post(
        f"/facilities/{facility.pk}/restructure/",
        {"kind": "term_extension", "effective_on": effective, "maturity_date": "2027-01-15", "reason": "x"},
    )
    assert bad.status_code == 400
    assert 'id="id_maturity_date-errors"' in html(bad)
    response = web(monitor).post(
        f"/facilities/{facility.pk}/restructure/",
        {
            "kind": "rate_change",
            "effective_on": effective,
            "interest_rate_pct": "3.10",
            "reason": "Concession",
        },
    )
    assert response.status_code == 302
    row = Restructuring.objects.get()
    detail = html(web(monitor).get(f"/restructurings/{row.pk}/"))
    assert "New fixed rate %" in detail
    assert 'id="restructuring-decide-form"' not in detail  # not the requester's to decide
    assert 'id="restructuring-decide-form"' in html(web(approver).get(f"/restructurings/{row.pk}/"))
    queue = html(web(approver).get("/classification-queue/"))
    assert facility.reference in queue
    assert 'href="/classification-queue/" aria-current="page"' in queue  # in the approver's navigation
    assert 'href="/classification-queue/"' not in html(web(rm_a).get("/"))
    assert facility.reference not in html(web(monitor).get("/classification-queue/"))
    done = web(approver).post(f"/restructurings/{row.pk}/decide/", {"decision": "approve", "note": ""})
    assert done.status_code == 302
    assert Restructuring.objects.get().status == RequestStatus.APPROVED
    assert Facility.objects.get(pk=facility.pk).restructured_on is not None


def test_out_of_scope_is_404(facility: Facility, monitor: User, rm_b: User, web: Any) -> None:
    request = classification.request_classification(
        actor=monitor, facility_id=facility.pk, category="special_mention", stage=2, reason="x"
    )
    row = restructuring.request_restructuring(
        actor=monitor,
        facility_id=facility.pk,
        kind="rate_change",
        terms={"interest_rate_pct": "3"},
        reason="Secret reason",
        effective_on=timezone.localdate() + timedelta(days=1),
    )
    client = web(rm_b)
    for path in (
        f"/facilities/{facility.pk}/classification/",
        f"/facilities/{facility.pk}/restructure/",
        f"/restructurings/{row.pk}/",
    ):
        assert client.get(path).status_code == 404, path
    for path in (
        f"/facilities/{facility.pk}/classification/request/",
        f"/classification-requests/{request.pk}/decide/",
        f"/classification-requests/{request.pk}/withdraw/",
        f"/restructurings/{row.pk}/decide/",
    ):
        assert client.post(path, {"decision": "approve"}).status_code == 404, path
    assert "Secret" not in html(client.get("/classification-queue/"))


def test_query_counts_do_not_grow(monitor: User, web: Any) -> None:
    facility = factories.booked_facility()
    client = web(monitor)
    path = f"/facilities/{facility.pk}/classification/"
    _downgrade(facility, 5)
    client.get(path)  # warm the session and content types
    small = page_queries(client, path)
    # session, user, roles; facility; panel: recent history, pending request, pending restructuring, the
    # debtor's other facilities for the floor; the page: history count and rows, restructurings.
    assert small == 11
    for dpd in (95, 280):
        _downgrade(facility, dpd)
    classification.request_classification(
        actor=monitor, facility_id=facility.pk, category="loss", stage=3, reason="Fraud"
    )
    assert page_queries(client, path) == small
    client.get("/classification-queue/")
    queue = page_queries(client, "/classification-queue/")
    assert queue == 5  # session, user, roles; pending requests; pending restructurings
    for _ in range(3):
        other = factories.booked_facility()
        classification.request_classification(
            actor=monitor, facility_id=other.pk, category="special_mention", stage=2, reason="x"
        )
    assert page_queries(client, "/classification-queue/") == queue


def test_pages_are_labelled_and_free_of_inline_code(
    facility: Facility, monitor: User, approver: User, web: Any
) -> None:
    classification.request_classification(
        actor=monitor, facility_id=facility.pk, category="special_mention", stage=2, reason="x"
    )
    other = factories.booked_facility()
    row = restructuring.request_restructuring(
        actor=monitor,
        facility_id=other.pk,
        kind="rate_change",
        terms={"interest_rate_pct": "3"},
        reason="x",
        effective_on=timezone.localdate() + timedelta(days=1),
    )
    for user in (monitor, approver):
        client = web(user)
        for path in (
            f"/facilities/{facility.pk}/classification/",
            f"/facilities/{other.pk}/classification/",
            f"/facilities/{other.pk}/restructure/",
            f"/restructurings/{row.pk}/",
            "/classification-queue/",
        ):
            response = client.get(path)
            assert response.status_code == 200, path
            _check(html(response), path)
