"""Oversight pages: the watchlist (add by hand, plan, leave with a second person's approval), signals
(dismiss), reviews (the visit report), the 360 monitoring panel and the RM's and monitor's home; query
counts do not grow with the rows."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.monitoring.oversight_models import Review, Signal, SignalStatus, WatchlistEntry, WatchStatus
from lendcrm.parties.models import Party
from tests.monitoring.oversight_fixtures import *  # noqa: F403
from tests.web.conftest import html

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
Web = Callable[[User], Client]


def _signal(party: Party, severity: int = 3, subject: str = "test:1", **kw: Any) -> Signal:
    return Signal.objects.create(
        party=party,
        rule=kw.pop("rule", "covenant_breach"),
        subject=subject,
        severity=severity,
        detail=kw.pop("detail", "Minimum DSCR 1.20x breached for the period to 2026-06-30."),
        detail_key=kw.pop("detail_key", ""),
        detail_params=kw.pop("detail_params", {}),
        raised_on=TODAY,
        last_seen_on=TODAY,
    )


def _entry(party: Party, owner: User, **kw: Any) -> WatchlistEntry:
    return WatchlistEntry.objects.create(
        party=party,
        source=kw.pop("source", "manual"),
        reason=kw.pop("reason", "Main customer lost"),
        owner=owner,
        review_date=kw.pop("review_date", TODAY + timedelta(days=7)),
        added_at=timezone.now(),
        **kw,
    )


def test_monitor_puts_a_party_on_watch_from_the_360(
    web: Web, monitor: User, rm_a: User, customer: Party
) -> None:
    client = web(monitor)
    page = html(client.get(f"/parties/{customer.pk}/"))
    assert 'id="party-monitoring"' in page
    assert f"/watchlist/new/?party={customer.pk}" in page
    form = client.get(f"/watchlist/new/?party={customer.pk}")
    assert form.status_code == 200
    refused = client.post(f"/watchlist/new/?party={customer.pk}", {"reason": "", "owner": rm_a.pk})
    assert refused.status_code == 400
    assert not WatchlistEntry.objects.exists()
    done = client.post(
        f"/watchlist/new/?party={customer.pk}",
        {
            "reason": "Main customer lost",
            "action_plan": "Monthly call",
            "owner": rm_a.pk,
            "review_date": (TODAY + timedelta(days=30)).isoformat(),
        },
    )
    entry = WatchlistEntry.objects.get()
    assert done.status_code == 302
    assert done["Location"] == f"/watchlist/{entry.pk}/"
    again = client.post(
        f"/watchlist/new/?party={customer.pk}",
        {"reason": "x", "owner": rm_a.pk, "review_date": TODAY.isoformat()},
    )
    assert again.status_code == 409
    assert "already on the watchlist" in html(again)
    assert "Main customer lost" in html(client.get(f"/parties/{customer.pk}/"))


def test_rm_may_not_add_and_out_of_scope_is_404(
    web: Web, rm_a: User, monitor: User, other_customer: Party, customer: Party
) -> None:
    assert web(rm_a).get(f"/watchlist/new/?party={customer.pk}").status_code == 403
    assert web(monitor).get("/watchlist/new/?party=999999").status_code == 404
    entry = _entry(other_customer, monitor)
    assert web(rm_a).get(f"/watchlist/{entry.pk}/").status_code == 404


def test_leaving_the_watchlist_takes_two_people(
    web: Web, monitor: User, monitor2: User, rm_a: User, customer: Party
) -> None:
    entry = _entry(customer, rm_a)
    owner = web(rm_a)
    page = html(owner.get(f"/watchlist/{entry.pk}/"))
    assert 'id="watch-exit"' in page
    assert 'id="exit-decision"' not in page
    assert owner.post(f"/watchlist/{entry.pk}/exit/", {"reason": "", "version": 1}).status_code == 400
    stale = owner.post(f"/watchlist/{entry.pk}/exit/", {"reason": "Recovered", "version": 7})
    assert stale.status_code == 409
    assert (
        owner.post(f"/watchlist/{entry.pk}/exit/", {"reason": "Recovered", "version": 1}).status_code == 302
    )
    assert 'id="exit-decision"' not in html(owner.get(f"/watchlist/{entry.pk}/"))
    decider = web(monitor2)
    assert 'id="exit-decision"' in html(decider.get(f"/watchlist/{entry.pk}/"))
    assert (
        decider.post(f"/watchlist/{entry.pk}/exit/decision/", {"approve": "yes", "version": 2}).status_code
        == 302
    )
    entry.refresh_from_db()
    assert (entry.status, entry.exit_approved_by) == (WatchStatus.EXITED, monitor2)


def test_plan_update_by_the_owner(web: Web, rm_a: User, customer: Party) -> None:
    entry = _entry(customer, rm_a)
    response = web(rm_a).post(
        f"/watchlist/{entry.pk}/plan/",
        {
            "action_plan": "Weekly cash report",
            "owner": rm_a.pk,
            "review_date": TODAY.isoformat(),
            "version": 1,
        },
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.action_plan == "Weekly cash report"


def test_signals_list_and_dismiss(web: Web, monitor: User, rm_a: User, customer: Party) -> None:
    signal = _signal(customer)
    listed = html(web(monitor).get("/signals/"))
    assert "Minimum DSCR 1.20x breached" in listed
    assert f"/signals/{signal.pk}/dismiss/" in listed
    assert f"/signals/{signal.pk}/dismiss/" not in html(web(rm_a).get("/signals/"))
    assert web(monitor).get("/signals/?min_severity=9").status_code == 400
    assert web(rm_a).post(f"/signals/{signal.pk}/dismiss/", {"reason": "x"}).status_code == 403
    assert web(monitor).post(f"/signals/{signal.pk}/dismiss/", {"reason": ""}).status_code == 400
    assert web(monitor).post(f"/signals/{signal.pk}/dismiss/", {"reason": "Waiver agreed"}).status_code == 302
    signal.refresh_from_db()
    assert signal.status == SignalStatus.DISMISSED


def test_a_signal_reads_in_the_readers_language(web: Web, monitor: User, customer: Party) -> None:
    """The same stored signal: English for an English reader, Chinese for a Chinese one (list, dismiss
    page, the 360 panel), and a watchlist entry by rule gives its reason the same way."""
    params = {"name": "Minimum DSCR 1.20x", "period": "2026-06-30"}
    signal = _signal(customer, detail_key="covenant_breach", detail_params=params)
    _entry(
        customer,
        monitor,
        source="rule",
        reason=signal.detail,
        reason_key="covenant_breach",
        reason_params=params,
    )
    english, chinese = web(monitor), web(monitor)
    chinese.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    said = {
        "en": "Minimum DSCR 1.20x breached for the period to 2026-06-30.",
        "zh": "Minimum DSCR 1.20x在截至2026-06-30的期间内违约。",
    }
    for url in ("/signals/", f"/signals/{signal.pk}/dismiss/", f"/parties/{customer.pk}/", "/watchlist/"):
        in_english, in_chinese = html(english.get(url)), html(chinese.get(url))
        assert said["en"] in in_english, url
        assert said["zh"] not in in_english, url
        assert said["zh"] in in_chinese, url
        assert said["en"] not in in_chinese, url


def test_visit_report_completes_the_review(web: Web, rm_a: User, monitor: User, customer: Party) -> None:
    review = Review.objects.create(
        party=customer, kind="site_visit", due_date=TODAY - timedelta(days=2), assigned_to=rm_a
    )
    client = web(rm_a)
    page = html(client.get(f"/reviews/{review.pk}/"))
    assert 'id="visit-report"' in page
    assert "overdue" in page
    future = (TODAY + timedelta(days=3)).isoformat()
    refused = client.post(f"/reviews/{review.pk}/", {"visited_on": future, "findings": "ok", "version": 1})
    assert refused.status_code == 400
    done = client.post(
        f"/reviews/{review.pk}/",
        {
            "visited_on": TODAY.isoformat(),
            "findings": "Two shifts running",
            "people_met": "CFO",
            "version": 1,
        },
    )
    assert done.status_code == 302
    review.refresh_from_db()
    assert review.status == "completed"
    assert "Two shifts running" in html(client.get(f"/reviews/{review.pk}/"))
    assert 'id="visit-report"' not in html(client.get(f"/reviews/{review.pk}/"))
    assert "Two shifts" not in html(web(monitor).get("/reviews/"))  # the list shows scheduled ones


def test_rm_home_shows_their_parties_signals_watch_and_reviews(
    web: Web, rm_a: User, monitor: User, customer: Party, other_customer: Party
) -> None:
    _signal(customer)
    _signal(other_customer, detail="Someone else's breach")
    _entry(customer, monitor)
    Review.objects.create(
        party=customer, kind="annual_review", due_date=TODAY - timedelta(days=1), assigned_to=rm_a
    )
    page = html(web(rm_a).get("/"))
    assert 'id="my-signals"' in page
    assert "Minimum DSCR 1.20x breached" in page
    assert "Someone else" not in page
    assert 'id="my-watchlist"' in page
    assert 'id="my-reviews"' in page
    assert 'id="count-reviews"' in page
    assert 'id="covenant-breaches"' not in page
    monitor_page = html(web(monitor).get("/"))
    assert 'id="watch-due"' in monitor_page
    assert 'id="count-breaches"' in monitor_page


def test_list_pages_do_not_grow_with_the_rows(
    web: Web, monitor: User, customer: Party, branch_a: Any
) -> None:
    client = web(monitor)

    def counts() -> list[int]:
        out = []
        for url in ("/watchlist/", "/signals/", "/reviews/", "/", f"/parties/{customer.pk}/"):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            out.append(len(ctx.captured_queries))
        return out

    _signal(customer)
    _entry(customer, monitor)
    Review.objects.create(party=customer, kind="annual_review", due_date=TODAY, assigned_to=monitor)
    counts()  # the first request of a session reads more (the session, the roles)
    before = counts()
    for n in range(5):
        party = Party.objects.create(kind="corporate", legal_name=f"Party {n}", branch=branch_a)
        _signal(party, subject=f"test:{n}")
        _signal(customer, subject=f"extra:{n}")
        _entry(party, monitor)
        Review.objects.create(party=party, kind="site_visit", due_date=TODAY, assigned_to=monitor)
    assert counts() == before
