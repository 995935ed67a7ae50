"""Two drawdowns of one facility at the same moment, each on its own thread and database connection
(committed transactions, as in production): the limit holds — one is paid out, the other gets 409.

The first is held inside its transaction, after it has locked the facility, until the second has
started; the second waits for the lock (PostgreSQL's row lock, SQLite's single writer) and then sees
what the first drew."""

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from lendcrm.core import errors
from lendcrm.servicing.models import Drawdown, Facility
from lendcrm.servicing.services import drawdowns
from tests.servicing import factories

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 10  # seconds any thread waits for another before the test fails


def _race(first: Callable[[], Any], second: Callable[[], Any], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    locked, second_started = threading.Event(), threading.Event()
    real = drawdowns._check_drawable

    def held(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "first":
            locked.set()
            second_started.wait(WAIT)
            time.sleep(0.3)  # give the second time to reach the lock
        return real(*args, **kwargs)

    monkeypatch.setattr(drawdowns, "_check_drawable", held)
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
        threading.Thread(target=run, args=(name, call), name=name)
        for name, call in (("first", first), ("second", second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * WAIT)
    assert not any(thread.is_alive() for thread in threads)
    return [outcomes["first"], outcomes["second"]]


def test_two_drawdowns_at_once_stay_within_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    facility = factories.booked_facility(drawn=False)
    ops = factories.ops()

    def pay(reference: str) -> Callable[[], Drawdown]:
        return lambda: drawdowns.draw(
            actor=ops,
            facility_id=facility.pk,
            amount=Decimal("600000.00"),
            value_date=factories.START,
            reference=reference,
        )

    first, second = _race(pay("RACE-1"), pay("RACE-2"), monkeypatch)
    assert isinstance(first, Drawdown), first
    assert isinstance(second, errors.Conflict), second
    assert second.code == "over_limit"
    stored = Facility.objects.get(pk=facility.pk)
    assert stored.drawn == Decimal("600000.00")
    assert stored.schedule_version == 1
    assert list(Drawdown.objects.filter(facility=facility).values_list("reference", flat=True)) == ["RACE-1"]
