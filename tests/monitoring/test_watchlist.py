"""The watchlist: by hand (monitoring officer), by rule (a high signal), and leaving it only with a second
person's approval."""

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import translation

from lendcrm.core import errors
from lendcrm.core.models import AuditEvent, User
from lendcrm.monitoring.oversight_models import (
    Severity,
    Signal,
    SignalRule,
    WatchlistEntry,
    WatchSource,
    WatchStatus,
)
from lendcrm.monitoring.oversight_selectors import watchlist
from lendcrm.monitoring.services.watchlist import (
    add_to_watchlist,
    apply_watch_rules,
    decide_exit,
    request_exit,
    update_watch_plan,
)
from lendcrm.monitoring.signal_rules import watch_reason_text
from lendcrm.parties.models import Party
from tests.monitoring.oversight_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 29)


def _add(actor: User, party: Party, owner: User, **kw: Any) -> WatchlistEntry:
    return add_to_watchlist(
        actor=actor,
        party_id=party.pk,
        reason=kw.pop("reason", "Main customer lost"),
        owner_id=owner.pk,
        review_date=kw.pop("review_date", TODAY + timedelta(days=30)),
        action_plan=kw.pop("action_plan", "Monthly call; new management accounts"),
        today=TODAY,
        **kw,
    )


def _signal(party: Party, severity: int, raised_on: date = TODAY, **kw: Any) -> Signal:
    return Signal.objects.create(
        party=party,
        rule=kw.pop("rule", SignalRule.COVENANT_BREACH),
        subject=kw.pop("subject", "test:1"),
        severity=severity,
        detail=kw.pop("detail", "Minimum DSCR breached for the period to 2026-06-30."),
        detail_key=kw.pop("detail_key", "covenant_breach"),
        detail_params=kw.pop("detail_params", {"name": "Minimum DSCR", "period": "2026-06-30"}),
        raised_on=raised_on,
        last_seen_on=raised_on,
    )


def test_monitor_adds_a_party_by_hand_with_plan_owner_and_review_date(
    monitor: User, rm_a: User, customer: Party
) -> None:
    entry = _add(monitor, customer, rm_a)
    assert (entry.source, entry.status, entry.owner, entry.added_by) == (
        WatchSource.MANUAL,
        WatchStatus.ACTIVE,
        rm_a,
        monitor,
    )
    assert AuditEvent.objects.filter(action="watchlist.added", party_id=customer.pk).count() == 1
    with pytest.raises(errors.Conflict):
        _add(monitor, customer, rm_a)


def test_only_monitors_add_and_bad_input_changes_nothing(
    monitor: User, rm_a: User, approver: User, customer: Party, other_customer: Party
) -> None:
    with pytest.raises(errors.PermissionDenied):
        _add(rm_a, customer, rm_a)
    with pytest.raises(errors.PermissionDenied):
        _add(approver, customer, rm_a)
    with pytest.raises(errors.ValidationFailed) as refused:
        _add(monitor, customer, rm_a, reason=" ", review_date=TODAY - timedelta(days=1))
    assert set(refused.value.field_errors) == {"reason", "review_date"}
    with pytest.raises(errors.ValidationFailed):
        add_to_watchlist(
            actor=monitor, party_id=customer.pk, reason="x", owner_id=999999, review_date=TODAY, today=TODAY
        )
    with pytest.raises(errors.NotFound):
        add_to_watchlist(
            actor=monitor, party_id=987654, reason="x", owner_id=rm_a.pk, review_date=TODAY, today=TODAY
        )
    assert not WatchlistEntry.objects.exists()


def test_leaving_needs_a_request_and_someone_else_s_approval(
    monitor: User, monitor2: User, approver: User, rm_a: User, customer: Party
) -> None:
    entry = _add(monitor, customer, rm_a)
    with pytest.raises(errors.Conflict):
        decide_exit(actor=monitor2, entry_id=entry.pk, approve=True)
    with pytest.raises(errors.ValidationFailed):
        request_exit(actor=rm_a, entry_id=entry.pk, reason="")
    entry = request_exit(
        actor=rm_a, entry_id=entry.pk, reason="Two clean quarters", expected_version=entry.version
    )
    assert entry.status == WatchStatus.EXIT_REQUESTED
    with pytest.raises(errors.PermissionDenied):
        decide_exit(actor=rm_a, entry_id=entry.pk, approve=True)  # not an approver
    entry = decide_exit(actor=monitor2, entry_id=entry.pk, approve=False, note="One more quarter")
    assert (entry.status, entry.exit_requested_by) == (WatchStatus.ACTIVE, None)
    entry = request_exit(actor=monitor, entry_id=entry.pk, reason="Two clean quarters")
    with pytest.raises(errors.PermissionDenied) as refused:
        decide_exit(actor=monitor, entry_id=entry.pk, approve=True)
    assert refused.value.code == "four_eyes"
    entry = decide_exit(actor=approver, entry_id=entry.pk, approve=True)
    assert (entry.status, entry.exit_approved_by) == (WatchStatus.EXITED, approver)
    assert entry.exited_at is not None
    with pytest.raises(errors.Conflict):
        request_exit(actor=monitor, entry_id=entry.pk, reason="again")
    # Once left, the party may be put on watch again.
    assert _add(monitor, customer, rm_a).status == WatchStatus.ACTIVE


def test_stale_version_is_refused(monitor: User, rm_a: User, customer: Party) -> None:
    entry = _add(monitor, customer, rm_a)
    with pytest.raises(errors.PreconditionFailed):
        request_exit(actor=monitor, entry_id=entry.pk, reason="ok", expected_version=entry.version + 1)


def test_the_database_refuses_self_approval_and_two_live_entries(
    monitor: User, rm_a: User, customer: Party
) -> None:
    entry = _add(monitor, customer, rm_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        WatchlistEntry.objects.filter(pk=entry.pk).update(exit_requested_by=monitor, exit_approved_by=monitor)
    with pytest.raises(IntegrityError), transaction.atomic():
        WatchlistEntry.objects.create(
            party=customer,
            source="manual",
            reason="x",
            owner=rm_a,
            review_date=TODAY,
            added_at=entry.added_at,
        )


def test_owner_or_monitor_updates_the_plan(
    monitor: User, rm_a: User, make_user: Any, customer: Party
) -> None:
    entry = _add(monitor, customer, rm_a)
    entry = update_watch_plan(
        actor=rm_a,
        entry_id=entry.pk,
        action_plan="Weekly cash report",
        owner_id=rm_a.pk,
        review_date=TODAY + timedelta(days=7),
        today=TODAY,
    )
    assert entry.action_plan == "Weekly cash report"
    assert entry.version == 2
    other_rm = make_user("rm_other")
    with pytest.raises(errors.PermissionDenied):
        update_watch_plan(
            actor=other_rm,
            entry_id=entry.pk,
            action_plan="x",
            owner_id=rm_a.pk,
            review_date=TODAY,
            today=TODAY,
        )


def test_a_high_signal_puts_the_party_on_watch_once(
    rm_a: User, customer: Party, other_customer: Party
) -> None:
    signal = _signal(customer, Severity.HIGH)
    _signal(other_customer, Severity.MEDIUM, rule=SignalRule.KYC_OVERDUE, subject="kyc")
    assert apply_watch_rules(as_of=TODAY) == 1
    entry = WatchlistEntry.objects.get()
    assert (entry.party, entry.source, entry.owner, entry.signal) == (
        customer,
        WatchSource.RULE,
        rm_a,
        signal,
    )
    assert entry.reason == signal.detail
    assert (entry.reason_key, entry.reason_params) == (signal.detail_key, signal.detail_params)
    assert entry.review_date == TODAY + timedelta(days=90)
    event = AuditEvent.objects.get(action="watchlist.added_by_rule")
    assert (event.object_id, event.party_id, event.actor_id) == (str(entry.pk), customer.pk, None)
    assert (event.changes["signal"], event.changes["owner"]) == (signal.pk, rm_a.pk)
    events = AuditEvent.objects.count()
    assert apply_watch_rules(as_of=TODAY) == 0
    assert AuditEvent.objects.count() == events
    # The reason reads in the reader's language; the stored sentence stays as written.
    with translation.override("zh-hans"):
        assert watch_reason_text(entry) == "Minimum DSCR在截至2026-06-30的期间内违约。"
    with translation.override("en"):
        assert watch_reason_text(entry) == "Minimum DSCR breached for the period to 2026-06-30."


def test_a_party_that_left_comes_back_only_for_a_newer_signal(
    monitor: User, approver: User, rm_a: User, customer: Party
) -> None:
    _signal(customer, Severity.CRITICAL, raised_on=TODAY - timedelta(days=5))
    apply_watch_rules(as_of=TODAY - timedelta(days=5))
    entry = WatchlistEntry.objects.get()
    request_exit(actor=monitor, entry_id=entry.pk, reason="Explained")
    decide_exit(actor=approver, entry_id=entry.pk, approve=True)
    assert apply_watch_rules(as_of=TODAY) == 0
    _signal(customer, Severity.HIGH, raised_on=TODAY + timedelta(days=1), subject="test:2")
    assert apply_watch_rules(as_of=TODAY + timedelta(days=1)) == 1


def test_without_anyone_responsible_no_entry_is_made(branch_a: Any) -> None:
    lonely = Party.objects.create(kind="corporate", legal_name="Nobody Covers Ltd", branch=branch_a)
    _signal(lonely, Severity.HIGH)
    assert apply_watch_rules(as_of=TODAY) == 0


def test_rm_sees_only_their_scope(
    monitor: User, rm_a: User, rm_b: User, customer: Party, other_customer: Party
) -> None:
    _add(monitor, customer, rm_a)
    _add(monitor, other_customer, rm_b)
    assert [e.party for e in watchlist(viewer=rm_a)] == [customer]
    assert watchlist(viewer=monitor).count() == 2
    with pytest.raises(errors.NotFound):
        request_exit(actor=rm_a, entry_id=WatchlistEntry.objects.get(party=other_customer).pk, reason="x")


def test_two_adds_at_once_make_one_entry_and_a_409(
    monitor: User, rm_a: User, customer: Party, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add(monitor, customer, rm_a)
    # The second request passed its check before the first committed: the constraint decides.
    monkeypatch.setattr("lendcrm.monitoring.services.watchlist.LIVE_WATCH", ())
    with pytest.raises(errors.Conflict) as refused:
        _add(monitor, customer, rm_a)
    assert refused.value.code == "already_on_watch"
    assert WatchlistEntry.objects.count() == 1
