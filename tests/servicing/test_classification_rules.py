"""The pure classification rules: DPD floors, the restructured observation period, contagion, IFRS 9."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcrm.servicing import classification as rules
from lendcrm.servicing.classification_models import Category, ClassificationBasis

P = rules.Policy()
AS_OF = date(2026, 6, 30)
N, SM, SUB, DBT, LOSS = rules.ORDER


@pytest.mark.parametrize(
    ("dpd", "expected"),
    [
        (0, N),
        (1, SM),
        (30, SM),
        (90, SM),  # "more than 90 days": day 90 is still special mention
        (91, SUB),
        (270, SUB),
        (271, DBT),
        (360, DBT),
        (361, LOSS),
        (5000, LOSS),
    ],
)
def test_dpd_floor_boundaries(dpd: int, expected: str) -> None:
    assert rules.dpd_floor(dpd, P) == expected


@pytest.mark.parametrize(
    ("category", "dpd", "stage"),
    [
        (N, 0, 1),
        (N, 30, 1),
        (N, 31, 2),  # more than 30 DPD: significant increase in credit risk
        (SM, 0, 2),
        (SM, 90, 2),
        (SM, 91, 3),
        (SUB, 0, 3),
        (DBT, 0, 3),
        (LOSS, 400, 3),
    ],
)
def test_stage_floor(category: str, dpd: int, stage: int) -> None:
    assert rules.stage_floor(category, dpd, P) == stage


def test_thresholds_are_policy() -> None:
    lenient = rules.Policy(substandard_dpd=120, stage_two_dpd=60)
    assert rules.dpd_floor(100, lenient) == SM
    assert rules.stage_floor(N, 45, lenient) == 1


def test_settings_give_the_domain_defaults() -> None:
    assert rules.policy() == rules.Policy()


def test_observation_period_is_a_year_from_restructuring_clamped_at_month_end() -> None:
    assert rules.observation_ends(date(2026, 3, 15), P) == date(2027, 3, 15)
    assert rules.observation_ends(date(2024, 2, 29), P) == date(2025, 2, 28)
    assert rules.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert rules.add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_restructured_floor_holds_during_observation_only() -> None:
    on = date(2025, 7, 1)
    assert rules.restructured_floor(on, date(2025, 7, 1), P) == SM
    assert rules.restructured_floor(on, date(2026, 6, 30), P) == SM
    assert rules.restructured_floor(on, date(2026, 7, 1), P) == N
    assert rules.restructured_floor(on, date(2025, 6, 30), P) == N  # not yet restructured on that day
    assert rules.restructured_floor(None, AS_OF, P) == N


def test_contagion_needs_more_than_the_share() -> None:
    assert not rules.contagion_triggered(Decimal(1000), Decimal(100), P)  # exactly 10 %
    assert rules.contagion_triggered(Decimal(1000), Decimal("100.01"), P)
    assert not rules.contagion_triggered(Decimal(0), Decimal(0), P)


def test_rule_floor_takes_the_worst_and_names_its_basis() -> None:
    floor = rules.rule_floor(days_past_due=10, restructured_on=None, as_of=AS_OF, contagion=True, rules=P)
    assert floor == rules.Floor(SUB, ClassificationBasis.CONTAGION)
    floor = rules.rule_floor(
        days_past_due=5, restructured_on=date(2026, 1, 1), as_of=AS_OF, contagion=False, rules=P
    )
    assert floor == rules.Floor(SM, ClassificationBasis.DAYS_PAST_DUE)  # tie: DPD names it
    floor = rules.rule_floor(
        days_past_due=0, restructured_on=date(2026, 1, 1), as_of=AS_OF, contagion=False, rules=P
    )
    assert floor == rules.Floor(SM, ClassificationBasis.RESTRUCTURED)


def state(
    fid: int, category: str = N, dpd: int = 0, outstanding: str = "100", stage: int | None = None
) -> rules.FacilityState:
    return rules.FacilityState(
        id=fid,
        category=category,
        stage=stage if stage is not None else rules.stage_floor(category, dpd, P),
        days_past_due=dpd,
        outstanding=Decimal(outstanding),
    )


def test_worsen_never_improves() -> None:
    assert rules.worsen(state(1, DBT), rules.Floor(SM, ClassificationBasis.DAYS_PAST_DUE), P) is None
    outcome = rules.worsen(state(1, SM, dpd=95), rules.Floor(SUB, ClassificationBasis.DAYS_PAST_DUE), P)
    assert outcome == rules.Outcome(1, SUB, 3, ClassificationBasis.DAYS_PAST_DUE, 95)


def test_stage_alone_can_worsen() -> None:
    outcome = rules.worsen(state(1, N, stage=1), rules.Floor(N, ClassificationBasis.DAYS_PAST_DUE), P)
    assert outcome is None
    outcome = rules.worsen(state(1, SM, dpd=0, stage=1), rules.Floor(N, ClassificationBasis.DAYS_PAST_DUE), P)
    assert outcome is not None
    assert (outcome.category, outcome.stage) == (SM, 2)


def test_contagion_taints_every_facility_of_a_non_retail_debtor() -> None:
    # 95 DPD on 150 of 1,000 outstanding: 15 % non-performing -> all at least substandard.
    facilities = [state(1, dpd=95, outstanding="150"), state(2, outstanding="850"), state(3, outstanding="0")]
    changes = {c.id: c for c in rules.classify_debtor(facilities, as_of=AS_OF, retail=False, rules=P)}
    assert changes[1].category == SUB
    assert changes[1].basis == ClassificationBasis.DAYS_PAST_DUE
    assert (changes[2].category, changes[2].stage, changes[2].basis) == (
        SUB,
        3,
        ClassificationBasis.CONTAGION,
    )
    assert changes[3].category == SUB  # an undrawn facility is a claim of the debtor too


def test_no_contagion_at_ten_percent_or_for_retail() -> None:
    facilities = [state(1, dpd=95, outstanding="100"), state(2, outstanding="900")]
    changes = rules.classify_debtor(facilities, as_of=AS_OF, retail=False, rules=P)
    assert [c.id for c in changes] == [1]
    facilities = [state(1, dpd=95, outstanding="500"), state(2, outstanding="500")]
    changes = rules.classify_debtor(facilities, as_of=AS_OF, retail=True, rules=P)
    assert [c.id for c in changes] == [1]


def test_an_already_non_performing_facility_counts_for_contagion() -> None:
    facilities = [state(1, DBT, outstanding="300"), state(2, outstanding="700")]
    changes = rules.classify_debtor(facilities, as_of=AS_OF, retail=False, rules=P)
    assert [(c.id, c.category) for c in changes] == [(2, SUB)]


def test_classify_debtor_is_idempotent_on_its_own_result() -> None:
    facilities = [state(1, dpd=300, outstanding="150"), state(2, dpd=10, outstanding="850")]
    changes = {c.id: c for c in rules.classify_debtor(facilities, as_of=AS_OF, retail=False, rules=P)}
    again = [
        rules.FacilityState(f.id, changes[f.id].category, changes[f.id].stage, f.days_past_due, f.outstanding)
        for f in facilities
    ]
    assert rules.classify_debtor(again, as_of=AS_OF, retail=False, rules=P) == []


def test_debtor_floor_counts_the_proposed_category() -> None:
    facility = state(1, SUB, outstanding="500")
    other = state(2, SUB, outstanding="500")
    floor = rules.debtor_floor(facility, [other], proposed_category=N, as_of=AS_OF, retail=False, rules=P)
    assert floor.category == SUB  # the other half is still non-performing
    other = state(2, N, outstanding="500")
    floor = rules.debtor_floor(facility, [other], proposed_category=N, as_of=AS_OF, retail=False, rules=P)
    assert floor.category == N


categories = st.sampled_from(rules.ORDER)
facility_states = st.builds(
    lambda fid, category, dpd, outstanding, stage: rules.FacilityState(
        fid, category, max(stage, rules.stage_floor(category, 0, P)), dpd, Decimal(outstanding)
    ),
    st.integers(1, 10_000),
    categories,
    st.integers(0, 800),
    st.integers(0, 10_000_000),
    st.integers(1, 3),
)


@given(st.lists(facility_states, min_size=1, max_size=8, unique_by=lambda f: f.id), st.booleans())
def test_properties_of_classify_debtor(facilities: list[rules.FacilityState], retail: bool) -> None:
    changes = rules.classify_debtor(facilities, as_of=AS_OF, retail=retail, rules=P)
    by_id = {f.id: f for f in facilities}
    for change in changes:
        before = by_id[change.id]
        # only downgrades, consistent with the floors
        assert rules.rank(change.category) >= rules.rank(before.category)
        assert change.stage >= before.stage
        assert rules.rank(change.category) >= rules.rank(rules.dpd_floor(before.days_past_due, P))
        assert change.stage >= rules.stage_floor(change.category, before.days_past_due, P)
    after = [
        rules.FacilityState(f.id, c.category, c.stage, f.days_past_due, f.outstanding)
        if (c := next((x for x in changes if x.id == f.id), None))
        else f
        for f in facilities
    ]
    assert rules.classify_debtor(after, as_of=AS_OF, retail=retail, rules=P) == []


def test_category_values_are_the_model_choices() -> None:
    assert set(rules.ORDER) == set(Category.values)
