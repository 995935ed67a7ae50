"""The conversion funnel and time in stage, per relationship manager and overall, read from the
`StageChange` history of the opportunities the viewer may see, in two queries whatever their number.

Funnel: for each stage of qualify → needs analysis → proposal → application → won, how many
opportunities entered it (in the window, when `since` is given) and their amount in the base currency
(LENDCRM_BASE_CURRENCY, converted at LENDCRM_FX_TO_BASE; no amount counts as zero); and how many of
those later entered a further stage of that sequence (conversion = converted / entered). Won and lost
count the opportunities that closed so in the window.

Time in stage: each entry into a stage lasts until the next move (or until now while the opportunity
is still open in it); won and lost are final and have no duration. Average and median in hours."""

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from lendcrm.core.models import User
from lendcrm.core.selectors import given, staff_names
from lendcrm.pipeline.models import Stage, StageChange
from lendcrm.pipeline.scope import visible_opportunities

FUNNEL_STAGES: tuple[str, ...] = (
    Stage.QUALIFY,
    Stage.NEEDS_ANALYSIS,
    Stage.PROPOSAL,
    Stage.APPLICATION,
    Stage.WON,
)
TIMED_STAGES: tuple[str, ...] = (Stage.QUALIFY, Stage.NEEDS_ANALYSIS, Stage.PROPOSAL, Stage.APPLICATION)
_RATE = Decimal("0.0001")
_HOURS = Decimal("0.01")
_CENTS = Decimal("0.01")


@dataclass
class FunnelStage:
    stage: str
    entered: int = 0
    amount: Decimal = Decimal(0)
    converted: int = 0

    @property
    def conversion_rate(self) -> Decimal | None:
        """Share of the entries that went on to a further stage (None when nothing entered)."""
        return (Decimal(self.converted) / self.entered).quantize(_RATE) if self.entered else None


@dataclass
class Funnel:
    owner_id: int | None  # None: everyone the viewer may see
    owner_name: str
    stages: list[FunnelStage] = field(default_factory=lambda: [FunnelStage(s) for s in FUNNEL_STAGES])
    won: int = 0
    lost: int = 0


@dataclass
class FunnelReport:
    currency: str
    overall: Funnel
    by_owner: list[Funnel]


@dataclass
class StageTime:
    stage: str
    count: int
    average_hours: Decimal | None
    median_hours: Decimal | None


@dataclass
class OwnerTimes:
    owner_id: int | None
    owner_name: str
    stages: list[StageTime]


@dataclass
class TimeInStageReport:
    overall: OwnerTimes
    by_owner: list[OwnerTimes]


def _history(viewer: User, owner: int | None) -> dict[int, dict[str, Any]]:
    """Per visible opportunity: its owner, amount, currency, stage and moves (oldest first); one query."""
    rows = (
        StageChange.objects.filter(
            opportunity__in=given(visible_opportunities(viewer=viewer), owner_id=owner).values("pk")
        )
        .order_by("opportunity_id", "changed_at", "id")
        .values_list(
            "opportunity_id",
            "to_stage",
            "changed_at",
            "opportunity__owner_id",
            "opportunity__amount",
            "opportunity__currency",
            "opportunity__stage",
        )
    )
    found: dict[int, dict[str, Any]] = {}
    for opp_id, to_stage, at, owner_id, amount, currency, stage in rows:
        entry = found.setdefault(
            opp_id, {"owner": owner_id, "amount": amount, "currency": currency, "stage": stage, "moves": []}
        )
        entry["moves"].append((to_stage, at))
    return found


def _in_base(amount: Decimal | None, currency: str) -> Decimal:
    if amount is None:
        return Decimal(0)
    rate = Decimal(settings.LENDCRM_FX_TO_BASE.get(currency, "0"))
    return amount * rate


def _count(funnel: Funnel, opp: dict[str, Any], since: datetime | None) -> None:
    order = {stage: index for index, stage in enumerate(FUNNEL_STAGES)}
    moves: list[tuple[str, datetime]] = opp["moves"]
    value = _in_base(opp["amount"], opp["currency"])
    for index, (stage, at) in enumerate(moves):
        if since is not None and at < since:
            continue
        if stage == Stage.LOST:
            funnel.lost += 1
            continue
        if stage == Stage.WON:
            funnel.won += 1
        row = funnel.stages[order[stage]]
        row.entered += 1
        row.amount += value
        if any(order.get(later, -1) > order[stage] for later, _at in moves[index + 1 :]):
            row.converted += 1


def funnel(*, viewer: User, owner: int | None = None, since: datetime | None = None) -> FunnelReport:
    """The conversion funnel over the opportunities the viewer may see (of one owner if given)."""
    history = _history(viewer, owner)
    overall = Funnel(None, "")
    per_owner: dict[int, Funnel] = {}
    for opp in history.values():
        _count(overall, opp, since)
        _count(per_owner.setdefault(opp["owner"], Funnel(opp["owner"], "")), opp, since)
    names = staff_names(per_owner)
    for report in (overall, *per_owner.values()):
        for row in report.stages:
            row.amount = row.amount.quantize(_CENTS)
    by_owner = sorted(per_owner.values(), key=lambda f: (names.get(f.owner_id or 0, ""), f.owner_id or 0))
    for report in by_owner:
        report.owner_name = names.get(report.owner_id or 0, "")
    return FunnelReport(settings.LENDCRM_BASE_CURRENCY, overall, by_owner)


def _stays(opp: dict[str, Any], now: datetime) -> list[tuple[str, Decimal]]:
    """(stage, hours) of each stay in an open stage."""
    moves: list[tuple[str, datetime]] = opp["moves"]
    out: list[tuple[str, Decimal]] = []
    for index, (stage, at) in enumerate(moves):
        if stage not in TIMED_STAGES:
            continue
        end = moves[index + 1][1] if index + 1 < len(moves) else now
        out.append((stage, Decimal((end - at).total_seconds()) / 3600))
    return out


def _times(owner_id: int | None, name: str, hours: dict[str, list[Decimal]]) -> OwnerTimes:
    return OwnerTimes(
        owner_id,
        name,
        [
            StageTime(
                stage,
                len(hours[stage]),
                (sum(hours[stage], Decimal(0)) / len(hours[stage])).quantize(_HOURS)
                if hours[stage]
                else None,
                Decimal(statistics.median(hours[stage])).quantize(_HOURS) if hours[stage] else None,
            )
            for stage in TIMED_STAGES
        ],
    )


def time_in_stage(
    *, viewer: User, owner: int | None = None, now: datetime | None = None
) -> TimeInStageReport:
    """Average and median hours per open stage over the opportunities the viewer may see."""
    now = now or timezone.now()
    overall: dict[str, list[Decimal]] = defaultdict(list)
    per_owner: dict[int, dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    for opp in _history(viewer, owner).values():
        for stage, hours in _stays(opp, now):
            overall[stage].append(hours)
            per_owner[opp["owner"]][stage].append(hours)
    names = staff_names(per_owner)
    by_owner = sorted(
        (_times(owner_id, names.get(owner_id, ""), hours) for owner_id, hours in per_owner.items()),
        key=lambda t: (t.owner_name, t.owner_id or 0),
    )
    return TimeInStageReport(_times(None, "", overall), by_owner)
