"""Two repayments on one facility at the same moment, each on its own thread and database connection
(committed transactions): the second waits for the facility's lock and allocates against what the first
left, so no instalment is paid twice and the books agree."""

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from lendcrm.servicing.models import Facility, Instalment, Repayment
from lendcrm.servicing.services import repayments
from tests.servicing.factories import booked_facility, ops

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 10


def _race(first: Callable[[], Any], second: Callable[[], Any], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Hold `first` inside its transaction once it has locked the facility, start `second`, then let go."""
    locked, second_started = threading.Event(), threading.Event()
    real = repayments.check_facility

    def held(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "first":
            locked.set()
            second_started.wait(WAIT)
            time.sleep(0.3)  # the second reaches the lock meanwhile
        return real(*args, **kwargs)

    monkeypatch.setattr(repayments, "check_facility", held)
    outcomes: dict[str, Any] = {}

    def run(name: str, call: Callable[[], Any]) -> None:
        try:
            if name == "second":
                assert locked.wait(WAIT)
                second_started.set()
            outcomes[name] = call()
        except BaseException as exc:  # collected and asserted by the test
            outcomes[name] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(n, c), name=n) for n, c in (("first", first), ("second", second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * WAIT)
    assert not any(thread.is_alive() for thread in threads)
    return [outcomes["first"], outcomes["second"]]


def test_two_payments_at_once_never_pay_an_instalment_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    loan = booked_facility()
    first_line = Instalment.objects.filter(facility=loan).order_by("number")[0]
    amount = first_line.principal + first_line.interest
    actor = ops()

    def pay(reference: str) -> Callable[[], Repayment]:
        return lambda: repayments.post_repayment(
            actor=actor,
            facility_id=loan.pk,
            amount=amount,
            value_date=first_line.due_date,
            reference=reference,
            today=first_line.due_date,
        )

    one, two = _race(pay("C-1"), pay("C-2"), monkeypatch)
    assert isinstance(one, Repayment), one
    assert isinstance(two, Repayment), two
    lines = list(Instalment.objects.filter(facility=loan, schedule_version=1).order_by("number"))
    # the first settled instalment 1; the second found it settled and paid instalment 2 ahead
    assert lines[0].settled_on == first_line.due_date
    assert lines[1].interest_paid == lines[1].interest
    allocated = sum((r.to_principal for r in Repayment.objects.all()), Decimal(0))
    assert allocated == sum((line.principal_paid for line in lines), Decimal(0))
    facility = Facility.objects.get(pk=loan.pk)
    assert facility.outstanding_principal == Decimal("1000000.00") - allocated


def test_the_same_repayment_sent_twice_at_once_is_posted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    loan = booked_facility()
    due = Instalment.objects.filter(facility=loan).order_by("number")[0].due_date
    actor = ops()

    def pay() -> Repayment:
        return repayments.post_repayment(
            actor=actor,
            facility_id=loan.pk,
            amount=Decimal("500.00"),
            value_date=due,
            reference="SAME",
            today=due,
        )

    one, two = _race(pay, pay, monkeypatch)
    assert isinstance(one, Repayment), one
    assert isinstance(two, Repayment), two
    assert one.pk == two.pk
    assert Repayment.objects.count() == 1
