"""The classification rules, without the database: five-category floors from days past due, the
restructured floor with its observation period, debtor-level contagion and the IFRS 9 stage beside them.

Rules only ever set a floor: the daily job worsens a facility to its floor and never improves it; an
upgrade is a manual decision by two people, and it may not go below the floor these rules give.
"""

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings

from lendcrm.servicing.classification_models import Category, ClassificationBasis, Stage

ORDER: tuple[str, ...] = (
    Category.NORMAL,
    Category.SPECIAL_MENTION,
    Category.SUBSTANDARD,
    Category.DOUBTFUL,
    Category.LOSS,
)
NON_PERFORMING = frozenset({Category.SUBSTANDARD, Category.DOUBTFUL, Category.LOSS})
_RANK = {category: position for position, category in enumerate(ORDER)}


@dataclass(frozen=True)
class Policy:
    """The bank's thresholds (DOMAIN.md defaults; settings `LENDCRM_CLASSIFICATION_*` override them)."""

    substandard_dpd: int = 90  # more than this many days past due: at least substandard
    doubtful_dpd: int = 270
    loss_dpd: int = 360
    stage_two_dpd: int = 30  # IFRS 9 rebuttable presumption of a significant increase in credit risk
    stage_three_dpd: int = 90
    observation_months: int = 12  # a restructured facility stays at least special mention this long
    contagion_share: Decimal = Decimal("0.10")  # more than this share non-performing taints the debtor


def policy() -> Policy:
    """The policy in force, from settings."""
    return Policy(
        substandard_dpd=settings.LENDCRM_CLASSIFICATION_SUBSTANDARD_DPD,
        doubtful_dpd=settings.LENDCRM_CLASSIFICATION_DOUBTFUL_DPD,
        loss_dpd=settings.LENDCRM_CLASSIFICATION_LOSS_DPD,
        stage_two_dpd=settings.LENDCRM_STAGE_TWO_DPD,
        stage_three_dpd=settings.LENDCRM_STAGE_THREE_DPD,
        observation_months=settings.LENDCRM_RESTRUCTURED_OBSERVATION_MONTHS,
        contagion_share=settings.LENDCRM_CONTAGION_SHARE,
    )


def rank(category: str) -> int:
    """0 for normal up to 4 for loss; raises KeyError for an unknown value."""
    return _RANK[category]


def worst(*categories: str) -> str:
    return max(categories, key=rank)


def is_non_performing(category: str) -> bool:
    return category in NON_PERFORMING


def dpd_floor(days_past_due: int, rules: Policy) -> str:
    """Any overdue amount is at least special mention; then substandard, doubtful and loss by age."""
    if days_past_due > rules.loss_dpd:
        return Category.LOSS
    if days_past_due > rules.doubtful_dpd:
        return Category.DOUBTFUL
    if days_past_due > rules.substandard_dpd:
        return Category.SUBSTANDARD
    if days_past_due > 0:
        return Category.SPECIAL_MENTION
    return Category.NORMAL


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it has fewer days."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def observation_ends(restructured_on: date, rules: Policy) -> date:
    """The first day after the observation period of a facility restructured on `restructured_on`."""
    return add_months(restructured_on, rules.observation_months)


def in_observation(restructured_on: date | None, as_of: date, rules: Policy) -> bool:
    return restructured_on is not None and restructured_on <= as_of < observation_ends(restructured_on, rules)


def restructured_floor(restructured_on: date | None, as_of: date, rules: Policy) -> str:
    return Category.SPECIAL_MENTION if in_observation(restructured_on, as_of, rules) else Category.NORMAL


def stage_floor(category: str, days_past_due: int, rules: Policy) -> int:
    """IFRS 9: stage 3 when non-performing or beyond the default DPD, 2 when special mention or beyond
    the significant-increase DPD, else 1."""
    if is_non_performing(category) or days_past_due > rules.stage_three_dpd:
        return Stage.THREE
    if category == Category.SPECIAL_MENTION or days_past_due > rules.stage_two_dpd:
        return Stage.TWO
    return Stage.ONE


def contagion_triggered(total: Decimal, non_performing: Decimal, rules: Policy) -> bool:
    """More than the policy's share of the debtor's claims (outstanding) is non-performing."""
    return total > 0 and non_performing > total * rules.contagion_share


@dataclass(frozen=True)
class Floor:
    """The lowest category the rules allow and the rule that sets it."""

    category: str
    basis: str


def rule_floor(
    *, days_past_due: int, restructured_on: date | None, as_of: date, contagion: bool, rules: Policy
) -> Floor:
    """The worst of the floors; on a tie days past due names the basis, then contagion, then restructuring."""
    candidates = [
        Floor(dpd_floor(days_past_due, rules), ClassificationBasis.DAYS_PAST_DUE),
        Floor(Category.SUBSTANDARD if contagion else Category.NORMAL, ClassificationBasis.CONTAGION),
        Floor(restructured_floor(restructured_on, as_of, rules), ClassificationBasis.RESTRUCTURED),
    ]
    best = candidates[0]
    for candidate in candidates[1:]:
        if rank(candidate.category) > rank(best.category):
            best = candidate
    return best


@dataclass(frozen=True)
class FacilityState:
    """What the rules read of one facility."""

    id: int
    category: str
    stage: int
    days_past_due: int
    outstanding: Decimal
    restructured_on: date | None = None


@dataclass(frozen=True)
class Outcome:
    """A change the rules make: the new category and stage, and the rule behind it."""

    id: int
    category: str
    stage: int
    basis: str
    days_past_due: int


def worsen(state: FacilityState, floor: Floor, rules: Policy) -> Outcome | None:
    """The facility moved down to `floor` (never up), its stage at least what the category and DPD give;
    None when nothing changes."""
    category = worst(state.category, floor.category)
    stage = max(state.stage, stage_floor(category, state.days_past_due, rules))
    if category == state.category and stage == state.stage:
        return None
    return Outcome(state.id, category, stage, floor.basis, state.days_past_due)


def classify_debtor(
    facilities: Sequence[FacilityState], *, as_of: date, retail: bool, rules: Policy
) -> list[Outcome]:
    """The changes for all active facilities of one debtor: each facility's own floor first, then — for a
    non-retail debtor whose non-performing share (after those floors) passes the policy's — substandard
    for every facility."""
    own = {
        f.id: rule_floor(
            days_past_due=f.days_past_due,
            restructured_on=f.restructured_on,
            as_of=as_of,
            contagion=False,
            rules=rules,
        )
        for f in facilities
    }
    contagion = not retail and contagion_triggered(
        sum((f.outstanding for f in facilities), Decimal(0)),
        sum(
            (f.outstanding for f in facilities if is_non_performing(worst(f.category, own[f.id].category))),
            Decimal(0),
        ),
        rules,
    )
    changes = []
    for f in facilities:
        floor = own[f.id]
        if contagion and rank(floor.category) < rank(Category.SUBSTANDARD):
            floor = Floor(Category.SUBSTANDARD, ClassificationBasis.CONTAGION)
        outcome = worsen(f, floor, rules)
        if outcome is not None:
            changes.append(outcome)
    return changes


def debtor_floor(
    facility: FacilityState,
    others: Iterable[FacilityState],
    *,
    proposed_category: str,
    as_of: date,
    retail: bool,
    rules: Policy,
) -> Floor:
    """The floor a manual change of `facility` to `proposed_category` must respect: its own rules, and
    contagion computed as if the change were made (the debtor's other facilities as they stand)."""
    others = list(others)
    non_performing = sum((o.outstanding for o in others if is_non_performing(o.category)), Decimal(0))
    if is_non_performing(proposed_category):
        non_performing += facility.outstanding
    total = facility.outstanding + sum((o.outstanding for o in others), Decimal(0))
    return rule_floor(
        days_past_due=facility.days_past_due,
        restructured_on=facility.restructured_on,
        as_of=as_of,
        contagion=not retail and contagion_triggered(total, non_performing, rules),
        rules=rules,
    )
