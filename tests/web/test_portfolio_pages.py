"""The portfolio page: health, exposure by each dimension, delinquency, the watchlist, what comes up in the
window, breaches; scoped to the viewer; a fixed number of queries whatever the size of the book."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from lendcrm.core.models import Branch, User
from lendcrm.core.roles import Role
from lendcrm.monitoring.models import Covenant, CovenantTest, Review, WatchlistEntry
from lendcrm.parties.models import Party
from lendcrm.servicing.models import Category, Facility, Instalment
from tests.servicing import factories
from tests.web.conftest import html

pytestmark = pytest.mark.django_db
URL = "/portfolio/"


def _monitor() -> User:
    return factories.staff("pf_monitor", Role.PORTFOLIO_MONITOR)


def _add_book(n: int, *, tag: str) -> list[Facility]:
    """`n` facilities at the factory's branch, each with a covenant test coming up, a breach, a review due
    and its borrower on the watchlist; the first two days late."""
    today = timezone.localdate()
    monitor = _monitor()
    made = []
    for i in range(n):
        party = factories.borrower_party(f"Borrower {tag}{i}")
        Party.objects.filter(pk=party.pk).update(segment="sme", industry_code=f"C{20 + i}")
        facility = factories.booked_facility(borrower=party, start_date=today - timedelta(days=100))
        covenant = Covenant.objects.create(
            facility=facility,
            kind="financial",
            name=f"Minimum DSCR {tag}{i}",
            metric="dscr",
            bound="min",
            threshold=Decimal("1.20"),
            first_test_date=today - timedelta(days=365),
            created_by=monitor,
        )
        CovenantTest.objects.create(
            covenant=covenant, period_end=today - timedelta(days=5), due_date=today + timedelta(days=20)
        )
        CovenantTest.objects.create(
            covenant=covenant,
            period_end=today - timedelta(days=370),
            due_date=today - timedelta(days=250),
            status="breach",
            value=Decimal("0.95"),
            threshold=Decimal("1.20"),
        )
        Review.objects.create(
            party=party, kind="annual_review", due_date=today + timedelta(days=40), assigned_to=monitor
        )
        WatchlistEntry.objects.create(
            party=party,
            source="manual",
            reason=f"Falling DSCR {tag}{i}",
            owner=monitor,
            review_date=today + timedelta(days=14),
            added_at=timezone.now(),
        )
        made.append(facility)
    # The first one is 5 days late: one unpaid instalment due before today.
    first = made[0]
    line = (
        Instalment.objects.filter(facility=first, schedule_version=first.schedule_version)
        .order_by("number")
        .first()
    )
    assert line is not None
    Instalment.objects.filter(pk=line.pk).update(due_date=today - timedelta(days=5))
    Facility.objects.filter(pk=first.pk).update(days_past_due=5, category=Category.SPECIAL_MENTION)
    return made


def test_the_monitor_sees_the_whole_book(web: Callable[[User], Client]) -> None:
    _add_book(2, tag="A")
    response = web(_monitor()).get(URL)
    assert response.status_code == 200
    page = html(response)
    assert 'id="exposure-table"' in page
    assert "Special mention" in page
    assert "Normal" in page
    assert "1\N{EN DASH}30" in page
    assert "90+" in page
    assert "Falling DSCR A0" in page
    assert "Falling DSCR A1" in page
    assert "Minimum DSCR A0" in page  # due within 30 days, and in breach
    assert "Borrower A0" in page
    assert "reviews and visits due" in page or "review or visit due" in page
    assert 'aria-current="page">Portfolio</a>' in page  # the nav line


def test_windows_and_dimensions(web: Callable[[User], Client]) -> None:
    [facility] = _add_book(1, tag="B")
    client = web(_monitor())
    in_30 = html(client.get(URL, {"within": "30"}))
    assert "0 reviews and visits due" in in_30
    in_60 = html(client.get(URL, {"within": "60"}))
    assert "1 review or visit due" in in_60
    # An overdue visit is due in every window, first, and counted apart.
    Review.objects.create(
        party_id=facility.borrower_id,
        kind="site_visit",
        due_date=timezone.localdate() - timedelta(days=10),
        assigned_to=_monitor(),
    )
    in_30 = html(client.get(URL, {"within": "30"}))
    assert "1 review or visit due" in in_30
    assert "1 of them overdue" in in_30
    assert "2 reviews and visits due" in html(client.get(URL, {"within": "60"}))
    for by, expected in (
        ("branch", "Lujiazui Lending Centre"),
        ("segment", "SME"),
        ("industry", "C20"),
        ("grade", "Grade 4"),
    ):
        page = html(client.get(URL, {"by": by}))
        assert expected in page, by
    # Unknown values fall back to the defaults rather than failing.
    assert client.get(URL, {"by": "colour", "within": "45"}).status_code == 200


def test_an_rm_sees_only_their_parties(web: Callable[[User], Client]) -> None:
    _add_book(1, tag="C")
    far = Branch.objects.create(code="XA01", name="Xi'an Gaoxin")
    other = Party.objects.create(kind="corporate", legal_name="Qinling Mining", branch=far)
    factories.booked_facility(borrower=other)
    rm_page = html(web(factories.relationship_manager()).get(URL, {"by": "branch"}))
    assert "Lujiazui Lending Centre" in rm_page
    assert "Xi&#x27;an Gaoxin" not in rm_page
    monitor_page = html(web(_monitor()).get(URL, {"by": "branch"}))
    assert "Xi&#x27;an Gaoxin" in monitor_page


def test_a_role_without_customers_is_refused(web: Callable[[User], Client]) -> None:
    admin = factories.staff("pf_admin", Role.ADMINISTRATOR)
    assert web(admin).get(URL).status_code == 403


def _count(client: Client, django_assert_num_queries: Any, expected: int) -> None:
    with django_assert_num_queries(expected):
        assert client.get(URL, {"by": "grade"}).status_code == 200


def test_the_page_reads_a_fixed_number_of_queries(
    web: Callable[[User], Client], django_assert_num_queries: Any
) -> None:
    _add_book(1, tag="D")
    client = web(_monitor())
    client.get(URL)  # warm: session, user
    _count(client, django_assert_num_queries, QUERIES)
    _add_book(3, tag="E")
    _count(client, django_assert_num_queries, QUERIES)


# session, user, roles; exposure by grade and by category; buckets; four lists and their counts;
# overdue reviews; the last run
QUERIES = 16
