"""Early-warning signals on parties alone: KYC overdue and review overdue, the evaluator's idempotency,
clearing, dismissal, the chunking, and scoping."""

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import translation

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, User
from lendcrm.monitoring.oversight_models import Review, Severity, Signal, SignalRule, SignalStatus
from lendcrm.monitoring.oversight_selectors import get_signal, signal_list
from lendcrm.monitoring.services import signals as signal_service
from lendcrm.monitoring.services.signals import dismiss_signal, evaluate_signals
from lendcrm.monitoring.signal_rules import describe, signal_text
from lendcrm.parties.models import Lifecycle, Party
from tests.monitoring.oversight_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 29)


def _kyc_due(party: Party, day: date) -> None:
    Party.objects.filter(pk=party.pk).update(kyc_next_review=day)


def test_kyc_overdue_is_raised_refreshed_and_cleared(customer: Party) -> None:
    _kyc_due(customer, TODAY - timedelta(days=10))
    assert evaluate_signals(as_of=TODAY) == 1
    signal = Signal.objects.get()
    assert (signal.rule, signal.subject, signal.severity, signal.status) == (
        SignalRule.KYC_OVERDUE,
        "kyc",
        Severity.LOW,
        SignalStatus.OPEN,
    )
    assert signal.raised_on == signal.last_seen_on == TODAY
    assert (signal.detail_key, signal.detail_params) == (
        "kyc_overdue",
        {"day": (TODAY - timedelta(days=10)).isoformat()},
    )
    # One event for the signal raised, on the party's timeline.
    raised = AuditEvent.objects.get(action="signal.raised")
    assert (raised.object_id, raised.party_id, raised.actor_id) == (str(signal.pk), customer.pk, None)
    assert raised.changes["message"] == {"key": "kyc_overdue", "params": signal.detail_params}
    # The same day again: nothing changes, no new audit event.
    events = AuditEvent.objects.count()
    assert evaluate_signals(as_of=TODAY) == 0
    assert AuditEvent.objects.count() == events
    # Later: the same signal is refreshed (last seen, then a worse severity), never duplicated; only
    # seeing it again is not an event, the worse severity is one.
    assert evaluate_signals(as_of=TODAY + timedelta(days=1)) == 1
    assert AuditEvent.objects.count() == events
    assert evaluate_signals(as_of=TODAY + timedelta(days=100)) == 1
    signal.refresh_from_db()
    assert (signal.severity, signal.last_seen_on, signal.raised_on) == (
        Severity.MEDIUM,
        TODAY + timedelta(days=100),
        TODAY,
    )
    changed = AuditEvent.objects.get(action="signal.changed")
    assert changed.party_id == customer.pk
    assert (changed.changes["before"], changed.changes["after"]) == (
        {"severity": Severity.LOW},
        {"severity": Severity.MEDIUM},
    )
    assert AuditEvent.objects.count() == events + 1
    # The review is done: the signal is cleared, once.
    _kyc_due(customer, TODAY + timedelta(days=365))
    assert evaluate_signals(as_of=TODAY + timedelta(days=101)) == 1
    signal.refresh_from_db()
    assert (signal.status, signal.closed_on) == (SignalStatus.CLEARED, TODAY + timedelta(days=101))
    assert evaluate_signals(as_of=TODAY + timedelta(days=101)) == 0
    assert Signal.objects.count() == 1
    cleared = AuditEvent.objects.get(action="signal.cleared")
    assert (cleared.object_id, cleared.party_id) == (str(signal.pk), customer.pk)
    assert AuditEvent.objects.count() == events + 2


def test_the_stored_signal_reads_in_each_readers_language(customer: Party) -> None:
    """Raised by a job running in Chinese, the signal keeps its message key and parameters and the
    sentence in the site's language; each reader sees it in theirs, and a re-run in another language
    changes nothing."""
    _kyc_due(customer, TODAY - timedelta(days=10))
    day = (TODAY - timedelta(days=10)).isoformat()
    with translation.override("zh-hans"):
        assert evaluate_signals(as_of=TODAY) == 1
    signal = Signal.objects.get()
    assert (signal.detail_key, signal.detail_params) == ("kyc_overdue", {"day": day})
    assert signal.detail == f"The KYC review was due on {day}."
    with translation.override("zh-hans"):
        assert signal_text(signal) == f"KYC复查应于{day}完成。"
    with translation.override("en"):
        assert signal_text(signal) == f"The KYC review was due on {day}."
        events = AuditEvent.objects.count()
        assert evaluate_signals(as_of=TODAY) == 0
        assert AuditEvent.objects.count() == events
    # A signal written without a key (by hand, older rows) reads as stored.
    signal.detail_key, signal.detail_params = "", {}
    with translation.override("zh-hans"):
        assert signal_text(signal) == signal.detail
    # Codes become labels in the reader's language.
    with translation.override("zh-hans"):
        said = describe("review_overdue", {"kind": "site_visit", "day": day})
    assert said == f"应于{day}完成的实地走访尚未完成。"


def test_prospects_are_not_evaluated_but_their_open_signals_are_cleared(customer: Party) -> None:
    _kyc_due(customer, TODAY - timedelta(days=1))
    evaluate_signals(as_of=TODAY)
    Party.objects.filter(pk=customer.pk).update(lifecycle=Lifecycle.FORMER)
    assert evaluate_signals(as_of=TODAY) == 1
    assert Signal.objects.get().status == SignalStatus.CLEARED


def test_review_overdue(customer: Party, rm_a: User) -> None:
    review = Review.objects.create(
        party=customer, kind="annual_review", due_date=TODAY - timedelta(days=1), assigned_to=rm_a
    )
    assert evaluate_signals(as_of=TODAY) == 1
    signal = Signal.objects.get()
    assert (signal.rule, signal.subject, signal.severity) == (
        SignalRule.REVIEW_OVERDUE,
        f"review:{review.pk}",
        Severity.MEDIUM,
    )
    assert "annual credit review" in signal.detail
    assert evaluate_signals(as_of=TODAY + timedelta(days=91)) == 1
    signal.refresh_from_db()
    assert signal.severity == Severity.HIGH


def test_dismissed_signal_stays_away_until_it_gets_worse(monitor: User, rm_a: User, customer: Party) -> None:
    _kyc_due(customer, TODAY - timedelta(days=10))
    evaluate_signals(as_of=TODAY)
    signal = Signal.objects.get()
    with pytest.raises(errors.PermissionDenied):
        dismiss_signal(actor=rm_a, signal_id=signal.pk, reason="Known")
    with pytest.raises(errors.ValidationFailed):
        dismiss_signal(actor=monitor, signal_id=signal.pk, reason=" ")
    signal = dismiss_signal(
        actor=monitor, signal_id=signal.pk, reason="Documents are with compliance", today=TODAY
    )
    assert (signal.status, signal.closed_by, signal.dismissal_reason) == (
        SignalStatus.DISMISSED,
        monitor,
        "Documents are with compliance",
    )
    with pytest.raises(errors.Conflict):
        dismiss_signal(actor=monitor, signal_id=signal.pk, reason="again")
    assert evaluate_signals(as_of=TODAY + timedelta(days=1)) == 0
    assert evaluate_signals(as_of=TODAY + timedelta(days=100)) == 1  # now medium: raised again
    assert Signal.objects.filter(status=SignalStatus.OPEN, severity=Severity.MEDIUM).count() == 1
    assert AuditEvent.objects.filter(action="signal.dismissed", party_id=customer.pk).count() == 1


def test_party_ids_limit_the_evaluation(customer: Party, other_customer: Party) -> None:
    _kyc_due(customer, TODAY - timedelta(days=1))
    _kyc_due(other_customer, TODAY - timedelta(days=1))
    assert evaluate_signals(as_of=TODAY, party_ids=[customer.pk]) == 1
    assert list(Signal.objects.values_list("party_id", flat=True)) == [customer.pk]


def test_chunks_take_a_fixed_number_of_queries(
    branch_a: Any, monkeypatch: pytest.MonkeyPatch, django_assert_max_num_queries: Any
) -> None:
    Party.objects.bulk_create(
        Party(
            kind="corporate",
            legal_name=f"Party {i}",
            branch=branch_a,
            lifecycle=Lifecycle.ACTIVE,
            kyc_next_review=TODAY - timedelta(days=i % 3),
        )
        for i in range(30)
    )
    monkeypatch.setattr("lendcrm.monitoring.services.reviews.CHUNK", 10)
    monkeypatch.setattr(
        signal_service, "chunks", lambda ids: (ids[i : i + 10] for i in range(0, len(ids), 10))
    )
    with django_assert_max_num_queries(60):
        assert evaluate_signals(as_of=TODAY) == 20
    # One audit event per signal, written in bulk within the same queries per chunk.
    raised = AuditEvent.objects.filter(action="signal.raised")
    assert raised.count() == 20
    assert set(raised.values_list("party_id", flat=True)) == set(
        Signal.objects.values_list("party_id", flat=True)
    )
    assert evaluate_signals(as_of=TODAY) == 0


def test_scope(monitor: User, rm_a: User, customer: Party, other_customer: Party) -> None:
    _kyc_due(customer, TODAY - timedelta(days=1))
    _kyc_due(other_customer, TODAY - timedelta(days=1))
    evaluate_signals(as_of=TODAY)
    assert [s.party for s in signal_list(viewer=rm_a)] == [customer]
    assert signal_list(viewer=monitor).count() == 2
    hidden = Signal.objects.get(party=other_customer)
    with pytest.raises(errors.NotFound):
        get_signal(viewer=rm_a, signal_id=hidden.pk)
    with pytest.raises(errors.NotFound):
        dismiss_signal(actor=monitor, signal_id=987654, reason="x")
