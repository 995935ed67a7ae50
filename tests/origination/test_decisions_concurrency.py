"""Two approvers deciding one application at the same moment, each on its own thread and database
connection (committed transactions, as in production): one decision is written, the other gets 409.

The first approver is held inside its transaction, after it has locked the application, until the second
has started; the second must wait for the lock (PostgreSQL's row lock, SQLite's single writer) and then
finds the application decided."""

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from lendcrm.core import errors
from lendcrm.core.models import User
from lendcrm.origination import authority
from lendcrm.origination.models import Application, CommitteeVote, Decision, Outcome, Status, Vote
from lendcrm.origination.services import decisions
from tests.origination.authority_fixtures import CreditBank, bank_fixture, delegate  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 10  # seconds any thread waits for another before the test fails


def _race(first: Callable[[], Any], second: Callable[[], Any], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Run `first` until it holds the application's lock, start `second`, let `first` finish; the outcome
    of each (a result or the exception)."""
    locked, second_started = threading.Event(), threading.Event()
    real = authority.authorise

    def held(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "first":
            locked.set()
            second_started.wait(WAIT)
            time.sleep(0.3)  # give the second time to reach the lock
        return real(*args, **kwargs)

    monkeypatch.setattr(authority, "authorise", held)
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


def test_two_approvers_at_once_make_one_decision(bank: CreditBank, monkeypatch: pytest.MonkeyPatch) -> None:
    application = bank.application()
    officer, regional = bank.approvers["branch_credit_officer"], bank.approvers["regional_head"]

    def approve(user: User, outcome: str) -> Callable[[], Decision]:
        return lambda: decisions.decide(
            actor=user, application_id=application.pk, outcome=outcome, comment="concurrent"
        )

    first, second = _race(
        approve(officer, Outcome.APPROVED), approve(regional, Outcome.DECLINED), monkeypatch
    )
    assert isinstance(first, Decision), first
    assert isinstance(second, errors.Conflict), second
    assert second.code == "not_awaiting_decision"
    assert list(Decision.objects.values_list("decided_by", "outcome")) == [(officer.pk, Outcome.APPROVED)]
    assert Application.objects.get(pk=application.pk).status == Status.APPROVED


def test_the_vote_that_completes_a_quorum_and_a_late_vote(
    bank: CreditBank, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = bank.application(grade=10)
    for member in bank.committee[:2]:
        decisions.cast_vote(actor=member, application_id=application.pk, vote=Vote.APPROVE)

    def vote(user: User) -> Callable[[], CommitteeVote]:
        return lambda: decisions.cast_vote(actor=user, application_id=application.pk, vote=Vote.APPROVE)

    first, second = _race(vote(bank.committee[2]), vote(bank.committee[3]), monkeypatch)
    assert isinstance(first, CommitteeVote), first
    assert isinstance(second, errors.Conflict), second
    assert Decision.objects.get().decided_by_id == bank.committee[2].pk
    assert CommitteeVote.objects.count() == 3
