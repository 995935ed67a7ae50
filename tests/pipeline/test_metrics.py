"""The funnel and time in stage, checked against figures worked out by hand from a fixed history."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.parties.models import Party
from lendcrm.pipeline import selectors, services
from lendcrm.pipeline.metrics import Funnel, OwnerTimes
from tests.pipeline.conftest import opportunity_data

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, tzinfo=UTC)
NOW = T0 + timedelta(hours=200)


@pytest.fixture
def history(
    rm_a: User, rm_a2: User, party_a: Party, monkeypatch: pytest.MonkeyPatch, settings: object
) -> dict[str, int]:
    """Four opportunities whose moves happen at fixed hours after T0:

    O1 (rm_a, CNY 100):   qualify 0h, needs analysis 24h, proposal 72h, won 120h
    O2 (rm_a, USD 10):    qualify 12h, lost 36h
    O3 (rm_a, no amount): qualify 48h, proposal 60h (still open)
    O4 (rm_a2, CNY 1000): qualify 0h, needs analysis 10h (still open)
    """
    clock = {"now": T0}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: T0.date())

    def at(hours: int, action: Callable[[], Any]) -> Any:
        clock["now"] = T0 + timedelta(hours=hours)
        return action()

    def create(owner: User, amount: str | None, currency: str = "CNY") -> int:
        data = opportunity_data(owner=owner, expected_close=None)
        data |= (
            {"amount": Decimal(amount), "currency": currency} if amount else {"amount": None, "currency": ""}
        )
        return services.create_opportunity(actor=owner, party_id=party_a.pk, data=data).pk

    def move(opportunity_id: int, stage: str, lost_reason: str = "") -> Callable[[], object]:
        return lambda: services.move_opportunity(
            actor=rm_a, opportunity_id=opportunity_id, stage=stage, lost_reason=lost_reason
        )

    o1 = at(0, lambda: create(rm_a, "100.00"))
    o4 = at(0, lambda: create(rm_a2, "1000.00"))
    at(10, move(o4, "needs_analysis"))
    o2 = at(12, lambda: create(rm_a, "10.00", "USD"))
    at(24, move(o1, "needs_analysis"))
    at(36, move(o2, "lost", lost_reason="price"))
    o3 = at(48, lambda: create(rm_a, None))
    at(60, move(o3, "proposal"))
    at(72, move(o1, "proposal"))
    at(120, move(o1, "won"))
    clock["now"] = NOW
    return {"o1": o1, "o2": o2, "o3": o3, "o4": o4}


def rows(funnel: Funnel) -> list[tuple[str, int, str, int, str | None]]:
    return [
        (
            s.stage,
            s.entered,
            str(s.amount),
            s.converted,
            None if s.conversion_rate is None else str(s.conversion_rate),
        )
        for s in funnel.stages
    ]


def test_the_overall_funnel(history: dict[str, int], rm_a: User, analyst: User) -> None:
    report = selectors.funnel(viewer=analyst)

    assert report.currency == "CNY"
    # USD 10 converts at 7.10: 100 + 71 + 0 + 1000 entered qualify.
    assert rows(report.overall) == [
        ("qualify", 4, "1171.00", 3, "0.7500"),
        ("needs_analysis", 2, "1100.00", 1, "0.5000"),
        ("proposal", 2, "100.00", 1, "0.5000"),
        ("application", 0, "0.00", 0, None),
        ("won", 1, "100.00", 0, "0.0000"),
    ]
    assert (report.overall.won, report.overall.lost) == (1, 1)


def test_the_funnel_per_rm(history: dict[str, int], rm_a: User, rm_a2: User, analyst: User) -> None:
    by_owner = selectors.funnel(viewer=analyst).by_owner

    assert [(f.owner_id, f.owner_name) for f in by_owner] == [(rm_a.pk, "rm_a"), (rm_a2.pk, "rm_a2")]
    assert rows(by_owner[0])[:3] == [
        ("qualify", 3, "171.00", 2, "0.6667"),
        ("needs_analysis", 1, "100.00", 1, "1.0000"),
        ("proposal", 2, "100.00", 1, "0.5000"),
    ]
    assert rows(by_owner[1])[:2] == [
        ("qualify", 1, "1000.00", 1, "1.0000"),
        ("needs_analysis", 1, "1000.00", 0, "0.0000"),
    ]
    only = selectors.funnel(viewer=analyst, owner=rm_a2.pk)
    assert rows(only.overall) == rows(by_owner[1])


def test_the_funnel_since_a_date_counts_only_later_entries(history: dict[str, int], analyst: User) -> None:
    report = selectors.funnel(viewer=analyst, since=T0 + timedelta(hours=20))

    assert rows(report.overall) == [
        ("qualify", 1, "0.00", 1, "1.0000"),
        ("needs_analysis", 1, "100.00", 1, "1.0000"),
        ("proposal", 2, "100.00", 1, "0.5000"),
        ("application", 0, "0.00", 0, None),
        ("won", 1, "100.00", 0, "0.0000"),
    ]
    assert (report.overall.won, report.overall.lost) == (1, 1)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def times(report: OwnerTimes) -> list[tuple[str, int, str | None, str | None]]:
    return [(s.stage, s.count, _text(s.average_hours), _text(s.median_hours)) for s in report.stages]


def test_time_in_stage(history: dict[str, int], rm_a: User, rm_a2: User, analyst: User) -> None:
    report = selectors.time_in_stage(viewer=analyst, now=NOW)

    # qualify: O1 24h, O2 24h, O3 12h, O4 10h; needs analysis: O1 48h, O4 190h (open until now);
    # proposal: O1 48h, O3 140h (open until now); won and lost are final.
    assert times(report.overall) == [
        ("qualify", 4, "17.50", "18.00"),
        ("needs_analysis", 2, "119.00", "119.00"),
        ("proposal", 2, "94.00", "94.00"),
        ("application", 0, None, None),
    ]
    assert [t.owner_id for t in report.by_owner] == [rm_a.pk, rm_a2.pk]
    assert times(report.by_owner[0])[:3] == [
        ("qualify", 3, "20.00", "24.00"),
        ("needs_analysis", 1, "48.00", "48.00"),
        ("proposal", 2, "94.00", "94.00"),
    ]
    assert times(report.by_owner[1])[:2] == [
        ("qualify", 1, "10.00", "10.00"),
        ("needs_analysis", 1, "190.00", "190.00"),
    ]


def test_reports_cover_only_what_the_viewer_sees(history: dict[str, int], rm_b: User) -> None:
    funnel = selectors.funnel(viewer=rm_b)
    assert funnel.by_owner == []
    assert [s.entered for s in funnel.overall.stages] == [0, 0, 0, 0, 0]
    assert selectors.time_in_stage(viewer=rm_b, now=NOW).by_owner == []
