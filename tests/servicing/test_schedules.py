"""Reference schedules computed by hand (the arithmetic is written out beside each expected figure)."""

from datetime import date
from decimal import Decimal as D

from lendcrm.servicing.schedules import ScheduleLine, ScheduleTerms, build_schedule


def terms(**overrides: object) -> ScheduleTerms:
    """100,000.00 CNY at 6 % a year, quarterly over one year from a Thursday, 30/360: r = 1.5 % a quarter."""
    values: dict[str, object] = {
        "principal": D("100000.00"),
        "currency": "CNY",
        "annual_rate_pct": D("6"),
        "start_date": date(2026, 1, 15),
        "maturity_date": date(2027, 1, 15),
        "frequency_months": 3,
        "profile": "annuity",
        "day_count": "30_360",
        "business_day_rule": "modified_following",
    }
    values.update(overrides)
    return ScheduleTerms(**values)  # type: ignore[arg-type]


def rows(lines: list[ScheduleLine]) -> list[tuple[date, str, str, str, str]]:
    return [
        (
            line.due_date,
            str(line.opening_balance),
            str(line.principal),
            str(line.interest),
            str(line.closing_balance),
        )
        for line in lines
    ]


def test_annuity_quarterly_30_360() -> None:
    # A = P·r / (1 - (1 + r)^-n) = 100000 · 0.015 / (1 - 1.015^-4)
    #   1.015^4 = 1.061363550625; 1.015^-4 = 0.942184...; 1 - that = 0.0578155...
    #   A = 1500 / 0.0578155... = 25944.4479... → 25944.48 (half-up to the cent)
    # each quarter is 90 days in 30/360 (the 15th to the 15th), so interest = balance · 6 % · 90/360:
    #   1: 100000.00 · 0.015 = 1500.00;  principal 25944.48 - 1500.00 = 24444.48 → 75555.52
    #   2:  75555.52 · 0.015 = 1133.3328 → 1133.33; principal 24811.15 → 50744.37
    #   3:  50744.37 · 0.015 =  761.16555 → 761.17; principal 25183.31 → 25561.06
    #   4:  25561.06 · 0.015 =  383.4159 → 383.42; principal = the rest 25561.06 (instalment 25944.48)
    assert rows(build_schedule(terms())) == [
        (date(2026, 4, 15), "100000.00", "24444.48", "1500.00", "75555.52"),
        (date(2026, 7, 15), "75555.52", "24811.15", "1133.33", "50744.37"),
        (date(2026, 10, 15), "50744.37", "25183.31", "761.17", "25561.06"),
        (date(2027, 1, 15), "25561.06", "25561.06", "383.42", "0.00"),
    ]
