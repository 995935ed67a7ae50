"""Hypothesis properties of build_schedule over thousands of random terms.

Whatever the terms: principal portions sum to the principal (plus capitalised interest) exactly; balances
never go negative; closing = opening - principal + capitalised; the dates strictly increase and the last
is the adjusted maturity; every amount is in the currency's minor unit; a sculpted schedule's debt
service is CFADS / target DSCR on every period but the last.
"""

from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal, localcontext
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lendcrm.core import errors
from lendcrm.core.money import CURRENCIES
from lendcrm.servicing.daycount import add_months, adjust, day_count_parts, is_business_day, year_fraction
from lendcrm.servicing.schedules import (
    ScheduleLine,
    ScheduleTerms,
    build_schedule,
    minor_unit,
    payment_dates,
    round_money,
)

pytestmark = pytest.mark.slow

PROFILES = ["annuity", "equal_principal", "bullet", "balloon"]
DAY_COUNTS = ["act_360", "act_365f", "30_360"]
RULES = ["none", "following", "modified_following"]
# Refusals random terms may meet: a grace period reaching maturity, a maturity adjusted onto the start.
EXPECTED_REFUSALS = {"grace_months", "maturity_date"}
PROPERTY_SETTINGS = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def schedule_terms(draw: st.DrawFn, profiles: list[str] = PROFILES) -> ScheduleTerms:
    currency = draw(st.sampled_from(CURRENCIES))
    unit = minor_unit(currency)
    principal = draw(st.integers(1, 10**12)) * unit
    anchor = draw(st.dates(date(2000, 1, 1), date(2060, 12, 31)))
    start = anchor + timedelta(days=draw(st.sampled_from([0, 0, draw(st.integers(1, 800))])))
    maturity = add_months(start, draw(st.integers(1, 30 * 12))) + timedelta(days=draw(st.integers(-20, 20)))
    maturity = max(maturity, start + timedelta(days=1))
    profile = draw(st.sampled_from(profiles))
    balloon = None
    if profile == "balloon":
        balloon = max(unit, round_money(principal * Decimal(draw(st.integers(1, 120))) / 100, currency))
    return ScheduleTerms(
        principal=principal,
        currency=currency,
        annual_rate_pct=Decimal(draw(st.integers(0, 3000))) / 100,
        start_date=start,
        maturity_date=maturity,
        frequency_months=draw(st.sampled_from([1, 3, 6, 12])),
        profile=profile,
        day_count=draw(st.sampled_from(DAY_COUNTS)),
        business_day_rule=draw(st.sampled_from(RULES)),
        anchor_date=anchor if anchor != start or draw(st.booleans()) else None,
        grace_months=draw(st.sampled_from([0, 0, draw(st.integers(1, 36))])),
        grace_kind=draw(st.sampled_from(["interest_only", "capitalised"])),
        balloon_amount=balloon,
        holidays=draw(st.frozensets(st.dates(start, maturity + timedelta(days=10)), max_size=15)),
    )


def build_or_expected_refusal(terms: ScheduleTerms, allowed: set[str]) -> list[ScheduleLine] | None:
    """The schedule, or None when the terms are refused for one of the allowed reasons."""
    try:
        lines = build_schedule(terms)
    except errors.ValidationFailed as refused:
        problems = set(refused.field_errors)
    else:
        event(f"built {terms.profile}")
        return lines
    event(f"refused: {sorted(problems)}")
    assert problems <= allowed, problems
    return None


def check_invariants(terms: ScheduleTerms, lines: list[ScheduleLine]) -> None:
    """The properties every schedule has, whatever its profile."""
    unit = minor_unit(terms.currency)
    assert lines
    assert sum(line.principal for line in lines) == terms.principal + sum(
        line.capitalised_interest for line in lines
    )
    assert lines[0].opening_balance == terms.principal
    assert lines[-1].closing_balance == 0
    assert lines[0].period_start == terms.start_date
    holidays = terms.holidays  # settings.LENDCRM_HOLIDAYS is empty in tests
    assert lines[-1].due_date == adjust(terms.maturity_date, terms.business_day_rule, holidays)
    previous: ScheduleLine | None = None
    for line in lines:
        amounts = (line.opening_balance, line.principal, line.interest, line.closing_balance)
        assert all(amount >= 0 for amount in (*amounts, line.capitalised_interest))
        assert all(amount.as_tuple().exponent == unit.as_tuple().exponent for amount in amounts)
        assert line.closing_balance == line.opening_balance - line.principal + line.capitalised_interest
        assert line.period_start < line.due_date
        assert line.days == (line.due_date - line.period_start).days
        if terms.business_day_rule != "none":
            assert is_business_day(line.due_date, holidays)
        days, basis = day_count_parts(line.period_start, line.due_date, terms.day_count)
        assert year_fraction(line.period_start, line.due_date, terms.day_count) == Decimal(days) / basis
        with localcontext() as ctx:
            ctx.prec = 60  # the numerator is exact; one division, then half-up to the minor unit
            accrued = line.opening_balance * terms.annual_rate_pct * days / (100 * basis)
        assert line.interest + line.capitalised_interest == round_money(accrued, terms.currency)
        assert line.capitalised_interest == 0 or (line.interest == 0 and line.principal == 0)
        if previous is not None:
            assert line.number == previous.number + 1
            assert line.period_start == previous.due_date
            assert line.opening_balance == previous.closing_balance
        previous = line


@PROPERTY_SETTINGS
@given(schedule_terms())
def test_every_schedule_repays_exactly(terms: ScheduleTerms) -> None:
    lines = build_or_expected_refusal(terms, EXPECTED_REFUSALS)
    if lines is None:
        return
    check_invariants(terms, lines)
    body = lines[:-1]  # the last line takes the rest
    moving = [line for line in body if 0 < line.principal < line.opening_balance]
    if terms.profile == "annuity" or terms.profile == "balloon":
        assert len({line.instalment for line in moving}) <= 1  # a level instalment
    if terms.profile == "equal_principal":
        assert len({line.principal for line in moving}) <= 1  # equal shares
    if terms.profile == "bullet":
        assert all(line.principal == 0 for line in body)
    if terms.profile == "balloon" and terms.balloon_amount is not None:
        assert lines[-1].principal >= min(terms.balloon_amount, lines[-1].opening_balance)


def feasible_cfads(terms: ScheduleTerms, target: Decimal, headroom: Decimal) -> tuple[Decimal, ...]:
    """CFADS that cover an equal-principal schedule of the same terms at the target DSCR (with headroom),
    so sculpting on them always repays: a sculpted balance never exceeds the equal-principal one."""
    plain = build_schedule(replace(terms, profile="equal_principal", balloon_amount=None))
    unit = minor_unit(terms.currency)
    return tuple(
        (line.instalment * target * headroom).quantize(unit, rounding=ROUND_CEILING) for line in plain
    )


@st.composite
def sculpted_terms(draw: st.DrawFn) -> ScheduleTerms:
    terms = draw(schedule_terms(profiles=["equal_principal"]))
    target = Decimal(draw(st.integers(100, 250))) / 100
    try:
        cfads = feasible_cfads(terms, target, Decimal(draw(st.integers(100, 200))) / 100)
    except errors.ValidationFailed:
        cfads = ()
    return replace(terms, profile="sculpted", target_dscr=target, cfads=cfads)


@PROPERTY_SETTINGS
@given(sculpted_terms())
def test_sculpted_debt_service_is_cfads_over_target(terms: ScheduleTerms) -> None:
    allowed = EXPECTED_REFUSALS if terms.cfads else EXPECTED_REFUSALS | {"cfads"}
    lines = build_or_expected_refusal(terms, allowed)
    if lines is None:
        return
    check_invariants(terms, lines)
    target = terms.target_dscr or Decimal(1)
    for line, cfads in zip(lines[:-1], terms.cfads, strict=False):
        if line.capitalised_interest or line.closing_balance == 0:
            continue  # a capitalised grace period, or the loan already repaid (principal = the balance)
        debt_service = round_money(cfads / target, terms.currency)
        if terms.grace_months:
            assert line.instalment == debt_service or line.principal == 0  # or an interest-only grace period
        else:
            assert line.instalment == debt_service  # DSCR = target
    assert lines[-1].instalment <= terms.cfads[-1]


@settings(max_examples=500, deadline=None)
@given(schedule_terms(profiles=["equal_principal"]), st.data())
def test_sculpted_on_any_cfads_repays_or_is_refused(terms: ScheduleTerms, data: Any) -> None:
    try:
        count = len(payment_dates(terms))
    except errors.ValidationFailed:
        return
    unit = minor_unit(terms.currency)
    cfads = tuple(data.draw(st.integers(-10, 10**13)) * unit for _ in range(count))
    target = Decimal(data.draw(st.integers(100, 300))) / 100
    sculpted = replace(terms, profile="sculpted", target_dscr=target, cfads=cfads)
    lines = build_or_expected_refusal(sculpted, EXPECTED_REFUSALS | {"cfads"})
    if lines is not None:
        check_invariants(sculpted, lines)
        assert lines[-1].instalment <= cfads[-1]


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(schedule_terms(profiles=["bullet"]), sculpted_terms()), st.data())
def test_a_rebuild_from_a_due_date_continues_the_same_schedule(terms: ScheduleTerms, data: Any) -> None:
    # What booking, drawdowns, prepayments and restructurings rely on: a schedule rebuilt from one of its
    # due dates on that line's closing balance (same anchor, whole-grid CFADS) has the remaining dates and,
    # for bullet and sculpted schedules (which depend only on the balance), the very same lines.
    lines = build_or_expected_refusal(terms, EXPECTED_REFUSALS | {"cfads"})
    if lines is None or len(lines) < 2:
        return
    k = data.draw(st.integers(0, len(lines) - 2))
    if lines[k].closing_balance == 0:
        return  # repaid early: nothing left to rebuild
    anchor = terms.anchor_date or terms.start_date
    rest = replace(
        terms, principal=lines[k].closing_balance, start_date=lines[k].due_date, anchor_date=anchor
    )
    assert [(line.due_date, line.principal, line.interest) for line in build_schedule(rest)] == [
        (line.due_date, line.principal, line.interest) for line in lines[k + 1 :]
    ]
