"""Two runs testing the same covenants at the same moment, each on its own thread and connection
(committed transactions): they take turns on the covenants' row locks, so each test is written once and
neither run fails."""

import threading
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from lendcrm.monitoring.models import CovenantTest
from lendcrm.monitoring.services import covenants
from tests.monitoring.covenant_fixtures import NEXT_END, facility, monitor

__all__ = ["facility", "monitor"]

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 10


def test_concurrent_runs_write_each_test_once(monitor, facility, monkeypatch: pytest.MonkeyPatch) -> None:
    covenants.add_covenant(
        actor=monitor,
        facility_id=facility.pk,
        kind="financial",
        name="Minimum DSCR",
        metric="dscr",
        bound="min",
        threshold=Decimal("1.2"),
        frequency_months=3,
        first_test_date=NEXT_END,
        due_days=30,
    )
    as_of = NEXT_END + timedelta(days=300)
    locked, second_started = threading.Event(), threading.Event()
    real = covenants._load

    def held(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "first":
            locked.set()
            second_started.wait(WAIT)
            time.sleep(0.3)  # the second reaches the lock meanwhile
        return real(*args, **kwargs)

    monkeypatch.setattr(covenants, "_load", held)
    outcomes: dict[str, Any] = {}

    def run(name: str) -> None:
        try:
            if name == "second":
                assert locked.wait(WAIT)
                second_started.set()
            outcomes[name] = covenants.run_tests(as_of=as_of)
        except BaseException as exc:  # asserted below
            outcomes[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(name,), name=name) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 3)
    assert isinstance(outcomes["first"], int), outcomes
    assert isinstance(outcomes["second"], int), outcomes
    assert outcomes["first"] > 0
    assert outcomes["second"] == 0  # it waited, then found everything tested
    ends = list(CovenantTest.objects.values_list("period_end", flat=True))
    assert len(ends) == len(set(ends)) > 3
