"""Day counts, business days and the payment-date grid, each case worked out by hand."""

from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest

from lendcrm.servicing.daycount import add_months, adjust, grid_date, year_fraction
from lendcrm.servicing.schedules import ScheduleTerms, build_schedule, payment_dates

NO_HOLIDAYS: frozenset[date] = frozenset()
GOLDEN_WEEK = frozenset(date(2026, 10, day) for day in range(1, 8))  # Thu 1 Oct - Wed 7 Oct 2026


@pytest.mark.parametrize(
    ("start", "end", "day_count", "fraction"),
    [
        # ACT/360: actual days over 360. 1 Jan -> 1 Jul 2026 = 31+28+31+30+31+30 = 181 days.
        (date(2026, 1, 1), date(2026, 7, 1), "act_360", D(181) / 360),
        # ACT/365F: actual days over 365 even in a leap year: 1 Jan 2024 -> 1 Jan 2025 = 366 days.
        (date(2024, 1, 1), date(2025, 1, 1), "act_365f", D(366) / 365),
        (date(2026, 2, 1), date(2026, 3, 1), "act_365f", D(28) / 365),
        # 30/360 US bond basis (ISDA 2006 4.16(f)): 360·(Y2-Y1) + 30·(M2-M1) + (D2-D1), with
        # D1 = 31 -> 30, and D2 = 31 -> 30 only when D1 is (then) 30; no special rule for February.
        (date(2026, 1, 15), date(2026, 4, 15), "30_360", D(90) / 360),
        (date(2026, 1, 31), date(2026, 2, 28), "30_360", D(28) / 360),  # 30 + (28 - 30)
        (date(2026, 1, 30), date(2026, 3, 31), "30_360", D(60) / 360),  # D1 30 -> D2 30: 60 + 0
        (date(2026, 3, 31), date(2026, 4, 30), "30_360", D(30) / 360),  # D1 31 -> 30: 30 + 0
        # D1 = 15 is not 30, so D2 = 31 stays: 60 + 16 = 76 (30E/360 would count 75 - the variant shows)
        (date(2026, 1, 15), date(2026, 3, 31), "30_360", D(76) / 360),
        # End of February is not moved: 28 Feb -> 31 Mar = 30 + (31 - 28) = 33
        (date(2026, 2, 28), date(2026, 3, 31), "30_360", D(33) / 360),
        (date(2025, 12, 15), date(2027, 1, 15), "30_360", D(390) / 360),  # 360·2 + 30·(1 - 12) + 0 = 390
    ],
)
def test_year_fraction(start: date, end: date, day_count: str, fraction: D) -> None:
    assert year_fraction(start, end, day_count) == fraction


def test_year_fraction_refuses_an_unknown_day_count() -> None:
    with pytest.raises(ValueError, match="day count"):
        year_fraction(date(2026, 1, 1), date(2026, 2, 1), "act_act")


@pytest.mark.parametrize(
    ("day", "rule", "holidays", "adjusted"),
    [
        (date(2026, 8, 3), "following", NO_HOLIDAYS, date(2026, 8, 3)),  # a Monday stays
        (date(2026, 8, 1), "none", NO_HOLIDAYS, date(2026, 8, 1)),  # no adjustment: Saturday stays
        # Sat 1 Aug 2026: following and modified following both go to Mon 3 Aug (same month)
        (date(2026, 8, 1), "following", NO_HOLIDAYS, date(2026, 8, 3)),
        (date(2026, 8, 1), "modified_following", NO_HOLIDAYS, date(2026, 8, 3)),
        # Sat 31 Oct 2026: following -> Mon 2 Nov; modified following stays in October -> Fri 30 Oct
        (date(2026, 10, 31), "following", NO_HOLIDAYS, date(2026, 11, 2)),
        (date(2026, 10, 31), "modified_following", NO_HOLIDAYS, date(2026, 10, 30)),
        # Sun 31 May 2026 -> Fri 29 May (modified following)
        (date(2026, 5, 31), "modified_following", NO_HOLIDAYS, date(2026, 5, 29)),
        # Sat 28 Feb 2026 (month end of February) -> Mon 2 Mar is March, so Fri 27 Feb
        (date(2026, 2, 28), "modified_following", NO_HOLIDAYS, date(2026, 2, 27)),
        # Holidays: Thu 1 Oct 2026 in the golden week -> Thu 8 Oct (3-4 Oct weekend, 1-7 Oct holidays)
        (date(2026, 10, 1), "following", GOLDEN_WEEK, date(2026, 10, 8)),
        (date(2026, 10, 1), "modified_following", GOLDEN_WEEK, date(2026, 10, 8)),
        # Thu 31 Dec 2026 a holiday and 1 Jan 2027 too: following -> Mon 4 Jan; modified -> Wed 30 Dec
        (
            date(2026, 12, 31),
            "following",
            frozenset({date(2026, 12, 31), date(2027, 1, 1)}),
            date(2027, 1, 4),
        ),
        (
            date(2026, 12, 31),
            "modified_following",
            frozenset({date(2026, 12, 31), date(2027, 1, 1)}),
            date(2026, 12, 30),
        ),
        # Modified following going back skips holidays too: Sat 30 May 2026, Fri 29 May a holiday -> Thu 28
        (date(2026, 5, 30), "modified_following", frozenset({date(2026, 5, 29)}), date(2026, 5, 28)),
    ],
)
def test_adjust(day: date, rule: str, holidays: frozenset[date], adjusted: date) -> None:
    assert adjust(day, rule, holidays) == adjusted


def test_adjust_refuses_an_unknown_rule() -> None:
    with pytest.raises(ValueError, match="business-day rule"):
        adjust(date(2026, 8, 1), "preceding", NO_HOLIDAYS)


def test_add_months_clips_to_the_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


def test_grid_is_counted_from_the_anchor_without_drift() -> None:
    # From the 30th: 28 Feb (clipped), then back to the 30th - the grid never drifts to the 28th.
    assert [grid_date(date(2026, 1, 30), k) for k in (1, 2, 3)] == [
        date(2026, 2, 28),
        date(2026, 3, 30),
        date(2026, 4, 30),
    ]
    # A month-end anchor keeps month ends: 30 Apr -> 31 May, 30 Jun, 31 Jul.
    assert [grid_date(date(2026, 4, 30), k) for k in (1, 2, 3)] == [
        date(2026, 5, 31),
        date(2026, 6, 30),
        date(2026, 7, 31),
    ]


def monthly(**overrides: Any) -> ScheduleTerms:
    values: dict[str, Any] = {
        "principal": D("6000.00"),
        "currency": "CNY",
        "annual_rate_pct": D("5"),
        "start_date": date(2026, 1, 31),
        "maturity_date": date(2026, 7, 31),
        "frequency_months": 1,
        "profile": "equal_principal",
        "day_count": "act_360",
        "business_day_rule": "modified_following",
    }
    values.update(overrides)
    return ScheduleTerms(**values)


def test_month_end_grid_with_modified_following() -> None:
    # From Sat 31 Jan 2026 monthly on month ends: Sat 28 Feb -> Fri 27 Feb, Tue 31 Mar, Thu 30 Apr,
    # Sun 31 May -> Fri 29 May, Tue 30 Jun, Fri 31 Jul.
    assert payment_dates(monthly()) == [
        date(2026, 2, 27),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 29),
        date(2026, 6, 30),
        date(2026, 7, 31),
    ]
    # Under following the same grid pays Mon 2 Mar and Mon 1 Jun instead.
    assert payment_dates(monthly(business_day_rule="following"))[0] == date(2026, 3, 2)
    assert payment_dates(monthly(business_day_rule="following"))[3] == date(2026, 6, 1)


def test_interest_accrues_between_adjusted_dates() -> None:
    # ACT/360, 6000.00 at 5 %, 1000.00 principal a month. Periods run between the adjusted dates:
    #   31 Jan -> 27 Feb = 27 days: 6000 · 0.05 · 27/360 = 22.50
    #   27 Feb -> 31 Mar = 32 days: 5000 · 0.05 · 32/360 = 22.2222... -> 22.22
    lines = build_schedule(monthly())
    assert [(line.days, str(line.interest)) for line in lines[:2]] == [(27, "22.50"), (32, "22.22")]


def test_holidays_from_terms_and_settings_are_both_used(settings: Any) -> None:
    # Tue 31 Mar 2026 a holiday (terms) -> Mon 30 Mar; Thu 30 Apr a holiday (settings) -> Wed 29 Apr.
    settings.LENDCRM_HOLIDAYS = frozenset({date(2026, 4, 30)})
    dates = payment_dates(monthly(holidays=frozenset({date(2026, 3, 31)})))
    assert dates[1:3] == [date(2026, 3, 30), date(2026, 4, 29)]


def test_a_payment_date_moved_onto_the_next_one_is_merged() -> None:
    # Quarterly from 29 Jun 2026 with maturity 29 Sep: the grid's 29 Sep is the maturity itself. With
    # following, a holiday run from 29 Sep to 2 Oct puts it on Mon 5 Oct - one payment date, not two.
    holidays = frozenset({date(2026, 9, 29), date(2026, 9, 30), date(2026, 10, 1), date(2026, 10, 2)})
    dates = payment_dates(
        monthly(
            start_date=date(2026, 6, 29),
            maturity_date=date(2026, 10, 1),
            frequency_months=3,
            business_day_rule="following",
            holidays=holidays,
        )
    )
    # Grid 29 Sep (-> Mon 5 Oct) is not before the adjusted maturity (1 Oct -> Mon 5 Oct): merged.
    assert dates == [date(2026, 10, 5)]
