"""Two approvers deciding one restructuring (and one classification request) at the same moment, each on
its own thread and connection with committed transactions: one decision stands, the other gets 409 and the
facility gets one new schedule version.

The first approver is held inside its transaction, after it has locked the facility, until the second has
started; the second waits for the lock (PostgreSQL's row lock, SQLite's single writer) and then finds the
request decided."""

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from lendcrm.core import errors
from lendcrm.core.models import User
from lendcrm.core.roles import Role
from lendcrm.servicing import classification as rules
from lendcrm.servicing.models import ClassificationChange, Facility, Instalment, RequestStatus, Restructuring
from lendcrm.servicing.services import classification, restructuring
from tests.servicing import factories

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 10  # seconds any thread waits for another before the test fails


def _race(
    first: Callable[[], Any],
    second: Callable[[], Any],
    hold: tuple[Any, str],
    monkeypatch: pytest.MonkeyPatch,
) -> list[Any]:
    """Run `first` until it reaches `hold` (module, function: called under the facility's lock), start
    `second`, let `first` finish; the outcome of each (a result or the exception)."""
    locked, second_started = threading.Event(), threading.Event()
    module, name = hold
    real = getattr(module, name)

    def held(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "first":
            locked.set()
            second_started.wait(WAIT)
            time.sleep(0.3)  # give the second time to reach the lock
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, held)
    outcomes: dict[str, Any] = {}

    def run(thread_name: str, call: Callable[[], Any]) -> None:
        try:
            if thread_name == "second":
                assert locked.wait(WAIT)
                second_started.set()
            outcomes[thread_name] = call()
        except BaseException as exc:  # collected and asserted by the test
            outcomes[thread_name] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(n, call), name=n)
        for n, call in (("first", first), ("second", second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * WAIT)
    assert not any(thread.is_alive() for thread in threads)
    return [outcomes["first"], outcomes["second"]]


@pytest.fixture
def people(make_user: Callable[..., User]) -> tuple[User, User, User]:
    return (
        make_user("monitor", Role.PORTFOLIO_MONITOR),
        make_user("approver_1", Role.CREDIT_APPROVER),
        make_user("approver_2", Role.PORTFOLIO_MONITOR),
    )


def test_two_approvers_at_once_restructure_once(
    people: tuple[User, User, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    monitor, one, two = people
    facility = factories.booked_facility()
    row = restructuring.request_restructuring(
        actor=monitor,
        facility_id=facility.pk,
        kind="rate_change",
        terms={"interest_rate_pct": "3"},
        reason="Concession",
        effective_on=timezone.localdate() + timedelta(days=1),
    )
    first, second = _race(
        lambda: restructuring.decide_restructuring(actor=one, restructuring_id=row.pk, approve=True),
        lambda: restructuring.decide_restructuring(
            actor=two, restructuring_id=row.pk, approve=False, note="No"
        ),
        (restructuring, "plan"),
        monkeypatch,
    )
    assert isinstance(first, Restructuring), first
    assert isinstance(second, errors.Conflict), second
    assert second.code == "request_decided"
    assert Restructuring.objects.get(pk=row.pk).status == RequestStatus.APPROVED
    stored = Facility.objects.get(pk=facility.pk)
    assert stored.schedule_version == facility.schedule_version + 1
    assert Instalment.objects.filter(facility=facility).values("schedule_version").distinct().count() == 2


def test_two_approvers_at_once_change_the_classification_once(
    people: tuple[User, User, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    monitor, one, two = people
    facility = factories.booked_facility()
    request = classification.request_classification(
        actor=monitor, facility_id=facility.pk, category="special_mention", stage=2, reason="Watch"
    )
    first, second = _race(
        lambda: classification.decide_classification_request(actor=one, request_id=request.pk, approve=True),
        lambda: classification.decide_classification_request(actor=two, request_id=request.pk, approve=True),
        (rules, "debtor_floor"),
        monkeypatch,
    )
    assert not isinstance(first, BaseException), first
    assert isinstance(second, errors.Conflict), second
    assert ClassificationChange.objects.filter(facility=facility).count() == 1
