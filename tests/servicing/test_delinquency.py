"""Arrears and days past due, kept set-based by refresh_delinquency (idempotent, constant queries per
chunk), and rolled up to the party, its group and the delinquency buckets."""

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lendcrm.core.models import AuditEvent, User
from lendcrm.origination.risk import to_base
from lendcrm.parties.models import Relationship, RelationshipKind
from lendcrm.servicing.models import Facility, Instalment
from lendcrm.servicing.services.delinquency import (
    bucket_of,
    delinquency_buckets,
    group_delinquency,
    party_delinquency,
    refresh_delinquency,
)
from lendcrm.servicing.services.repayments import post_repayment
from tests.servicing.factories import booked_facility, borrower_party, ops

pytestmark = pytest.mark.django_db
D = Decimal


def schedule(facility: Facility) -> list[Instalment]:
    return list(
        Instalment.objects.filter(facility=facility, schedule_version=facility.schedule_version).order_by(
            "number"
        )
    )


def test_days_past_due_count_from_the_oldest_unpaid_due_date() -> None:
    loan = booked_facility()
    first, second = schedule(loan)[:2]
    as_of = second.due_date + timedelta(days=5)
    assert refresh_delinquency(as_of=as_of) == 1
    loan.refresh_from_db()
    assert loan.days_past_due == (as_of - first.due_date).days
    assert loan.arrears_principal == first.principal + second.principal
    assert loan.arrears_interest == first.interest + second.interest
    assert loan.outstanding_principal == D("1000000.00")
    # an instalment due on the day is not overdue yet
    refresh_delinquency(as_of=first.due_date)
    loan.refresh_from_db()
    assert loan.days_past_due == 0
    assert loan.arrears_principal == 0


def test_a_re_run_changes_nothing_and_writes_nothing() -> None:
    loan = booked_facility()
    as_of = schedule(loan)[2].due_date
    assert refresh_delinquency(as_of=as_of) == 1
    loan.refresh_from_db()
    version = loan.version
    events = AuditEvent.objects.count()
    assert refresh_delinquency(as_of=as_of) == 0
    loan.refresh_from_db()
    assert loan.version == version
    assert AuditEvent.objects.count() == events
    assert AuditEvent.objects.filter(action="delinquency.refreshed", actor=None).count() == 1


def test_paying_the_arrears_clears_them() -> None:
    loan = booked_facility()
    first = schedule(loan)[0]
    as_of = first.due_date + timedelta(days=40)
    refresh_delinquency(as_of=as_of)
    owed = first.principal + first.interest + first.fees
    post_repayment(
        actor=ops(), facility_id=loan.pk, amount=owed, value_date=as_of, reference="R1", today=as_of
    )
    loan.refresh_from_db()
    second = schedule(loan)[1]
    assert loan.days_past_due == (as_of - second.due_date).days
    assert refresh_delinquency(as_of=as_of) == 0


def test_queries_per_chunk_are_constant() -> None:
    loans = [booked_facility(borrower=borrower_party(f"Chunk {i}")) for i in range(4)]
    as_of = schedule(loans[0])[1].due_date
    with CaptureQueriesContext(connection) as one:
        refresh_delinquency(as_of=as_of, facility_ids=[loans[0].pk], chunk_size=2)
    as_of += timedelta(days=1)
    with CaptureQueriesContext(connection) as two:
        refresh_delinquency(as_of=as_of, facility_ids=[f.pk for f in loans[:2]], chunk_size=2)
    assert len(one) == len(two)  # more facilities in a chunk, the same queries
    as_of += timedelta(days=1)
    with CaptureQueriesContext(connection) as one_chunk:
        assert refresh_delinquency(as_of=as_of, chunk_size=4) == 4
    as_of += timedelta(days=1)
    with CaptureQueriesContext(connection) as two_chunks:
        assert refresh_delinquency(as_of=as_of, chunk_size=2) == 4
    # a chunk: its ids, lock and read, the aggregate, one bulk update (+ the savepoint pair in a test)
    assert len(two_chunks) - len(one_chunk) == 6


def test_buckets_by_days_past_due_in_the_base_currency(make_user: Callable[..., User], rm_b: User) -> None:
    cny = booked_facility(borrower=borrower_party("Bucket CNY"))
    usd = booked_facility(borrower=borrower_party("Bucket USD"), currency="USD", amount=D("100000.00"))
    first = schedule(cny)[0]
    as_of = first.due_date + timedelta(days=45)
    buckets = delinquency_buckets(viewer=ops(), as_of=as_of)
    assert [b.label for b in buckets] == ["1\N{EN DASH}30", "31\N{EN DASH}60", "61\N{EN DASH}90", "90+"]
    usd_first = schedule(usd)[0]
    assert buckets[1].facilities == 2
    assert buckets[1].outstanding == D("1000000.00") + to_base(D("100000.00"), "USD")
    owed_cny = sum((line.principal + line.interest for line in schedule(cny) if line.due_date < as_of), D(0))
    owed_usd = sum((line.principal + line.interest for line in schedule(usd) if line.due_date < as_of), D(0))
    assert usd_first.due_date == first.due_date
    assert buckets[1].arrears == owed_cny + to_base(owed_usd, "USD")
    assert [b.facilities for b in buckets] == [0, 2, 0, 0]
    # a viewer who sees neither borrower sees empty buckets
    assert [b.facilities for b in delinquency_buckets(viewer=rm_b, as_of=as_of)] == [0, 0, 0, 0]


@pytest.mark.parametrize(
    ("dpd", "index"), [(0, None), (1, 0), (30, 0), (31, 1), (60, 1), (61, 2), (90, 2), (91, 3), (4000, 3)]
)
def test_bucket_edges(dpd: int, index: int | None) -> None:
    assert bucket_of(dpd) == index


def test_party_and_group_roll_ups(rm_b: User) -> None:
    parent = borrower_party("Roll-up Holdings")
    child = borrower_party("Roll-up Subsidiary")
    Relationship.objects.create(
        from_party=parent, to_party=child, kind=RelationshipKind.PARENT_OF, ownership_pct=D("80")
    )
    a = booked_facility(borrower=parent)
    b = booked_facility(borrower=child, currency="USD", amount=D("200000.00"))
    as_of = schedule(a)[0].due_date + timedelta(days=12)
    refresh_delinquency(as_of=as_of)
    a.refresh_from_db()
    b.refresh_from_db()
    mine = party_delinquency(viewer=ops(), party_id=parent.pk)
    assert (mine.facilities, mine.max_days_past_due, mine.currency) == (1, 12, "CNY")
    assert mine.outstanding == D("1000000.00")
    assert mine.arrears == a.arrears_principal + a.arrears_interest + a.arrears_fees
    group = group_delinquency(viewer=ops(), party_id=child.pk)
    assert group.facilities == 2
    assert group.outstanding == D("1000000.00") + to_base(D("200000.00"), "USD")
    assert group.arrears == mine.arrears + to_base(b.arrears_principal + b.arrears_interest, "USD")
    from lendcrm.core import errors

    with pytest.raises(errors.NotFound):
        party_delinquency(viewer=rm_b, party_id=parent.pk)


def test_capitalised_grace_interest_counts_once_it_is_capitalised() -> None:
    loan = booked_facility(
        borrower=borrower_party("Grace Builder"),
        kind="project_finance",
        profile="sculpted",
        tenor_months=60,
        frequency_months=6,
        booking={
            "construction_end": date(2027, 1, 15),
            "target_dscr": D("1.30"),
            "cfads": [D("190000.00")] * 10,
        },
    )
    lines = schedule(loan)
    grace = [line for line in lines if line.principal == 0 and line.closing_balance > line.opening_balance]
    assert grace  # construction: interest capitalised
    refresh_delinquency(as_of=grace[0].due_date - timedelta(days=1))
    loan.refresh_from_db()
    assert loan.outstanding_principal == D("1000000.00")
    refresh_delinquency(as_of=grace[0].due_date)
    loan.refresh_from_db()
    assert loan.outstanding_principal == grace[0].closing_balance
    assert loan.days_past_due == 0  # nothing was due in cash
