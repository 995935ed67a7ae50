"""The oversight API: /api/v1/watchlist/, /api/v1/signals/, /api/v1/reviews/ — scoping, ETags, idempotent
creates and refusals as problem+json."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.monitoring.oversight_models import Review, Signal, SignalStatus, WatchlistEntry
from lendcrm.parties.models import Party
from tests.monitoring.oversight_fixtures import *  # noqa: F403

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def _body(who: Party, owner: User, **kw: Any) -> dict[str, Any]:
    return {
        "party": who.pk,
        "reason": "Main customer lost",
        "action_plan": "Monthly call",
        "owner": owner.pk,
        "review_date": (TODAY + timedelta(days=30)).isoformat(),
        **kw,
    }


def test_watchlist_lifecycle_over_the_api(
    api_client: Callable[..., Any], monitor: User, approver: User, rm_a: User, customer: Party
) -> None:
    client = api_client(monitor)
    created = client.post(
        "/api/v1/watchlist/", _body(customer, rm_a), format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert created.status_code == 201, created.json()
    again = client.post("/api/v1/watchlist/", _body(customer, rm_a), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert WatchlistEntry.objects.count() == 1
    pk = created.json()["id"]
    conflict = client.post("/api/v1/watchlist/", _body(customer, rm_a), format="json")
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "already_on_watch"

    detail = client.get(f"/api/v1/watchlist/{pk}/")
    etag = detail["ETag"]
    stale = client.post(
        f"/api/v1/watchlist/{pk}/exit/", {"reason": "ok"}, format="json", HTTP_IF_MATCH='"1-9"'
    )
    assert stale.status_code == 412
    patched = client.patch(
        f"/api/v1/watchlist/{pk}/",
        {
            "action_plan": "Weekly call",
            "owner": rm_a.pk,
            "review_date": (TODAY + timedelta(days=10)).isoformat(),
        },
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert patched.status_code == 200
    assert patched.json()["action_plan"] == "Weekly call"
    asked = client.post(f"/api/v1/watchlist/{pk}/exit/", {"reason": "Recovered"}, format="json")
    assert asked.status_code == 200
    assert asked.json()["status"] == "exit_requested"
    own = client.post(f"/api/v1/watchlist/{pk}/exit/decision/", {"approve": True}, format="json")
    assert own.status_code == 403
    assert own.json()["code"] == "four_eyes"
    decided = api_client(approver).post(
        f"/api/v1/watchlist/{pk}/exit/decision/", {"approve": True}, format="json"
    )
    assert decided.status_code == 200
    assert decided.json()["status"] == "exited"


def test_bad_input_is_a_400_and_changes_nothing(
    api_client: Callable[..., Any], monitor: User, rm_a: User, customer: Party
) -> None:
    client = api_client(monitor)
    for body in (
        _body(customer, rm_a, review_date="yesterday"),
        _body(customer, rm_a, party="1"),
        _body(customer, rm_a, extra=1),
        _body(customer, rm_a, reason=""),
        _body(customer, rm_a, review_date=(TODAY - timedelta(days=1)).isoformat()),
    ):
        response = client.post("/api/v1/watchlist/", body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert response["Content-Type"].startswith("application/problem+json")
    assert client.get("/api/v1/watchlist/?status=nope").status_code == 400
    assert not WatchlistEntry.objects.exists()


def test_rm_cannot_add_and_sees_only_their_scope(
    api_client: Callable[..., Any],
    monitor: User,
    rm_a: User,
    rm_b: User,
    customer: Party,
    other_customer: Party,
) -> None:
    assert (
        api_client(rm_a).post("/api/v1/watchlist/", _body(customer, rm_a), format="json").status_code == 403
    )
    client = api_client(monitor)
    client.post("/api/v1/watchlist/", _body(customer, rm_a), format="json")
    hidden = client.post("/api/v1/watchlist/", _body(other_customer, rm_b), format="json").json()["id"]
    listed = api_client(rm_a).get("/api/v1/watchlist/?live=true").json()
    assert [row["party"] for row in listed["results"]] == [customer.pk]
    assert api_client(rm_a).get(f"/api/v1/watchlist/{hidden}/").status_code == 404
    assert api_client(monitor).get("/api/v1/watchlist/").json()["count"] == 2


def test_signals_list_filter_and_dismiss(
    api_client: Callable[..., Any], monitor: User, rm_a: User, customer: Party, other_customer: Party
) -> None:
    for party, severity in ((customer, 3), (other_customer, 1)):
        Signal.objects.create(
            party=party,
            rule="kyc_overdue",
            subject="kyc",
            severity=severity,
            detail="KYC due",
            raised_on=TODAY,
            last_seen_on=TODAY,
        )
    client = api_client(monitor)
    assert client.get("/api/v1/signals/?min_severity=3").json()["count"] == 1
    assert api_client(rm_a).get("/api/v1/signals/").json()["count"] == 1
    pk = Signal.objects.get(party=customer).pk
    assert (
        api_client(rm_a).post(f"/api/v1/signals/{pk}/dismiss/", {"reason": "x"}, format="json").status_code
        == 403
    )
    assert client.post(f"/api/v1/signals/{pk}/dismiss/", {}, format="json").status_code == 400
    done = client.post(f"/api/v1/signals/{pk}/dismiss/", {"reason": "Known"}, format="json")
    assert done.status_code == 200
    assert done.json()["status"] == SignalStatus.DISMISSED
    assert client.post(f"/api/v1/signals/{pk}/dismiss/", {"reason": "x"}, format="json").status_code == 409
    hidden = Signal.objects.get(party=other_customer).pk
    assert api_client(rm_a).get(f"/api/v1/signals/{hidden}/").status_code == 404


def test_a_signal_answers_in_the_requests_language(
    api_client: Callable[..., Any], monitor: User, customer: Party
) -> None:
    signal = Signal.objects.create(
        party=customer,
        rule="days_past_due",
        subject="facility:1",
        severity=2,
        detail_key="days_past_due",
        detail_params={"facility": "FAC-2026-000001", "days": 45},
        detail="FAC-2026-000001 is 45 days past due.",
        raised_on=TODAY,
        last_seen_on=TODAY,
    )
    client = api_client(monitor)
    english = client.get(f"/api/v1/signals/{signal.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    chinese = client.get(f"/api/v1/signals/{signal.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert english["detail"] == "FAC-2026-000001 is 45 days past due."
    assert chinese["detail"] == "FAC-2026-000001已逾期45天。"
    assert chinese["detail_key"] == "days_past_due"
    assert chinese["detail_params"] == {"facility": "FAC-2026-000001", "days": 45}
    listed = client.get("/api/v1/signals/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert [row["detail"] for row in listed["results"]] == ["FAC-2026-000001已逾期45天。"]


def test_reviews_list_and_complete(
    api_client: Callable[..., Any], monitor: User, rm_a: User, customer: Party
) -> None:
    review = Review.objects.create(
        party=customer, kind="site_visit", due_date=TODAY - timedelta(days=3), assigned_to=rm_a
    )
    client = api_client(rm_a)
    listed = client.get("/api/v1/reviews/?overdue=true").json()
    assert listed["count"] == 1
    assert listed["results"][0]["is_overdue"] is True
    detail = client.get(f"/api/v1/reviews/{review.pk}/")
    assert detail["ETag"] == f'"{review.pk}-1"'
    future = (TODAY + timedelta(days=1)).isoformat()
    refused = client.post(
        f"/api/v1/reviews/{review.pk}/complete/", {"visited_on": future, "findings": "ok"}, format="json"
    )
    assert refused.status_code == 400
    assert "visited_on" in refused.json()["errors"]
    body = {"visited_on": TODAY.isoformat(), "findings": "Plant running two shifts", "people_met": "CFO"}
    done = client.post(
        f"/api/v1/reviews/{review.pk}/complete/", body, format="json", HTTP_IF_MATCH=detail["ETag"]
    )
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "completed"
    assert done.json()["completed_by"] == rm_a.pk
    assert client.post(f"/api/v1/reviews/{review.pk}/complete/", body, format="json").status_code == 409


def test_unauthenticated_is_refused(api_client: Callable[..., Any]) -> None:
    for url in ("/api/v1/reviews/", "/api/v1/signals/", "/api/v1/watchlist/"):
        assert api_client(None).get(url).status_code == 401
