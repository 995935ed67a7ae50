"""Reference schedules computed by hand: the arithmetic is written out beside each expected figure.

Rounding is half-up to the currency's minor unit (cents; yen for JPY) on every amount; the last line
takes whatever principal is left.
"""

from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest

from lendcrm.core import errors
from lendcrm.servicing.schedules import ScheduleLine, ScheduleTerms, build_schedule, payment_dates

Row = tuple[date, str, str, str, str]


def terms(**overrides: Any) -> ScheduleTerms:
    """100,000.00 CNY at 6 % a year, quarterly over one year from the 15th, 30/360: r = 1.5 % a quarter."""
    values: dict[str, Any] = {
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
    return ScheduleTerms(**values)


def rows(lines: list[ScheduleLine]) -> list[Row]:
    """(due date, opening, principal, interest, closing) as strings, so the scale (cents) is checked too."""
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
    # A = P·r / (1 - (1 + r)^-n) with P = 100000, r = 6 % · 90/360 = 0.015, n = 4:
    #   1.015^4 = 1.061363550625;  1.015^-4 = 0.942184230286...;  1 - that = 0.057815769713...
    #   A = 1500 / 0.057815769713 = 25944.4785988... -> 25944.48
    # every quarter is 90 days in 30/360 (the 15th to the 15th), so interest = opening · 0.015:
    #   1: 100000.00 · 0.015 = 1500.00            principal 25944.48 - 1500.00 = 24444.48 -> 75555.52
    #   2:  75555.52 · 0.015 = 1133.3328 -> 1133.33 principal 24811.15 -> 50744.37
    #   3:  50744.37 · 0.015 =  761.16555 -> 761.17 principal 25183.31 -> 25561.06
    #   4:  25561.06 · 0.015 =  383.4159 -> 383.42  principal the rest 25561.06 (instalment 25944.48)
    # The due dates are weekdays (Wed 15 Apr, Wed 15 Jul, Thu 15 Oct 2026, Fri 15 Jan 2027): no adjustment.
    lines = build_schedule(terms())
    assert rows(lines) == [
        (date(2026, 4, 15), "100000.00", "24444.48", "1500.00", "75555.52"),
        (date(2026, 7, 15), "75555.52", "24811.15", "1133.33", "50744.37"),
        (date(2026, 10, 15), "50744.37", "25183.31", "761.17", "25561.06"),
        (date(2027, 1, 15), "25561.06", "25561.06", "383.42", "0.00"),
    ]
    assert {line.instalment for line in lines} == {D("25944.48")}
    assert [line.days for line in lines] == [90, 91, 92, 92]  # calendar days; 30/360 counts 90 each
    assert [line.number for line in lines] == [1, 2, 3, 4]
    assert lines[0].period_start == date(2026, 1, 15)


def test_equal_principal_monthly_act_365f_with_following() -> None:
    # 120,000.00 at 4.35 % ACT/365F, monthly from Tue 10 Mar 2026 to Thu 10 Sep 2026: 6 x 20,000.00.
    # Sun 10 May moves to Mon 11 May (following), so April's period has 31 days and May's 30.
    # interest = opening · 0.0435 · days / 365:
    #   1: 120000 · 0.0435 · 31/365 = 161820/365 = 443.3424... -> 443.34
    #   2: 100000 · 0.0435 · 31/365 = 134850/365 = 369.4520... -> 369.45
    #   3:  80000 · 0.0435 · 30/365 = 104400/365 = 286.0273... -> 286.03
    #   4:  60000 · 0.0435 · 30/365 =  78300/365 = 214.5205... -> 214.52
    #   5:  40000 · 0.0435 · 31/365 =  53940/365 = 147.7808... -> 147.78
    #   6:  20000 · 0.0435 · 31/365 =  26970/365 =  73.8904... ->  73.89
    lines = build_schedule(
        terms(
            principal=D("120000.00"),
            annual_rate_pct=D("4.35"),
            start_date=date(2026, 3, 10),
            maturity_date=date(2026, 9, 10),
            frequency_months=1,
            profile="equal_principal",
            day_count="act_365f",
            business_day_rule="following",
        )
    )
    assert rows(lines) == [
        (date(2026, 4, 10), "120000.00", "20000.00", "443.34", "100000.00"),
        (date(2026, 5, 11), "100000.00", "20000.00", "369.45", "80000.00"),
        (date(2026, 6, 10), "80000.00", "20000.00", "286.03", "60000.00"),
        (date(2026, 7, 10), "60000.00", "20000.00", "214.52", "40000.00"),
        (date(2026, 8, 10), "40000.00", "20000.00", "147.78", "20000.00"),
        (date(2026, 9, 10), "20000.00", "20000.00", "73.89", "0.00"),
    ]
    assert [line.days for line in lines] == [31, 31, 30, 30, 31, 31]


def test_bullet_semiannual_act_360_on_month_ends() -> None:
    # 1,000,000.00 USD at 5.25 % ACT/360 from Tue 30 Jun 2026 (a month end), every six months to Wed
    # 30 Jun 2027. A month-end anchor keeps month ends: the first date is Thu 31 Dec 2026, not the 30th.
    #   1: 30 Jun -> 31 Dec = 184 days: 1000000 · 0.0525 · 184/360 = 9660000/360 = 26833.333... -> 26833.33
    #   2: 31 Dec -> 30 Jun = 181 days: 1000000 · 0.0525 · 181/360 = 9502500/360 = 26395.833... -> 26395.83
    lines = build_schedule(
        terms(
            principal=D("1000000.00"),
            currency="USD",
            annual_rate_pct=D("5.25"),
            start_date=date(2026, 6, 30),
            maturity_date=date(2027, 6, 30),
            frequency_months=6,
            profile="bullet",
            day_count="act_360",
        )
    )
    assert rows(lines) == [
        (date(2026, 12, 31), "1000000.00", "0.00", "26833.33", "1000000.00"),
        (date(2027, 6, 30), "1000000.00", "1000000.00", "26395.83", "0.00"),
    ]


def test_balloon_is_an_annuity_on_principal_less_balloon_plus_the_balloon() -> None:
    # 100,000.00 with a 40,000.00 balloon, same terms as the annuity case (r = 0.015, n = 4):
    #   annuity on 60000: 60000 · 0.015 / 0.057815769713 = 15566.68716; plus interest on the balloon
    #   40000 · 0.015 = 600  =>  A = 16166.68716 -> 16166.69
    #   1: 100000.00 · 0.015 = 1500.00                principal 14666.69 -> 85333.31
    #   2:  85333.31 · 0.015 = 1279.99965 -> 1280.00  principal 14886.69 -> 70446.62
    #   3:  70446.62 · 0.015 = 1056.6993 -> 1056.70   principal 15109.99 -> 55336.63
    #   4:  55336.63 · 0.015 =  830.04945 -> 830.05   principal the rest 55336.63 (the balloon + 15336.63)
    lines = build_schedule(terms(profile="balloon", balloon_amount=D("40000.00")))
    assert rows(lines) == [
        (date(2026, 4, 15), "100000.00", "14666.69", "1500.00", "85333.31"),
        (date(2026, 7, 15), "85333.31", "14886.69", "1280.00", "70446.62"),
        (date(2026, 10, 15), "70446.62", "15109.99", "1056.70", "55336.63"),
        (date(2027, 1, 15), "55336.63", "55336.63", "830.05", "0.00"),
    ]


def test_balloon_above_the_balance_leaves_interest_only_then_everything_at_maturity() -> None:
    # A rebuild after a prepayment can leave less than the balloon: it is capped at the balance.
    lines = build_schedule(terms(principal=D("30000.00"), profile="balloon", balloon_amount=D("40000.00")))
    assert [line.principal for line in lines] == [D("0.00")] * 3 + [D("30000.00")]
    assert {line.interest for line in lines} == {D("450.00")}  # 30000 · 0.015


SCULPTED = {
    "principal": D("1000000.00"),
    "annual_rate_pct": D("8"),
    "start_date": date(2026, 3, 16),
    "maturity_date": date(2028, 3, 16),
    "frequency_months": 6,
    "profile": "sculpted",
    "target_dscr": D("1.25"),
}


def test_sculpted_debt_service_is_cfads_over_target_dscr() -> None:
    # 1,000,000.00 at 8 % 30/360 semi-annually (r = 0.04) from Mon 16 Mar 2026; target DSCR 1.25.
    # debt service = CFADS / 1.25, interest = opening · 0.04, principal = debt service - interest:
    #   1: CFADS 400000.00 -> DS 320000.00; interest 40000.00; principal 280000.00 -> 720000.00
    #   2: CFADS 375000.00 -> DS 300000.00; interest 28800.00; principal 271200.00 -> 448800.00
    #   3: CFADS 350000.00 -> DS 280000.00; interest 17952.00; principal 262048.00 -> 186752.00
    #   4: the rest 186752.00 + interest 186752 · 0.04 = 7470.08 -> DS 194222.08;
    #      CFADS 242777.60 = 194222.08 · 1.25, so the last DSCR is 1.25 too
    lines = build_schedule(terms(**SCULPTED, cfads=(D("400000"), D("375000"), D("350000"), D("242777.60"))))
    assert rows(lines) == [
        (date(2026, 9, 16), "1000000.00", "280000.00", "40000.00", "720000.00"),
        (date(2027, 3, 16), "720000.00", "271200.00", "28800.00", "448800.00"),
        (date(2027, 9, 16), "448800.00", "262048.00", "17952.00", "186752.00"),
        (date(2028, 3, 16), "186752.00", "186752.00", "7470.08", "0.00"),
    ]


def test_sculpted_rebuild_uses_the_last_cfads_figures() -> None:
    # From 16 Sep 2026 on 720,000.00 (the facility started 16 Mar 2026): the grid's last three figures.
    whole_grid = (D("400000"), D("375000"), D("350000"), D("242777.60"))
    rebuilt = dict(
        SCULPTED, principal=D("720000.00"), start_date=date(2026, 9, 16), anchor_date=date(2026, 3, 16)
    )
    lines = build_schedule(terms(**rebuilt, cfads=whole_grid))
    assert [line.principal for line in lines] == [D("271200.00"), D("262048.00"), D("186752.00")]


def test_sculpted_refuses_cfads_that_cannot_repay() -> None:
    # The last period needs 194222.08 of debt service; 194222.07 of CFADS cannot pay it.
    short_at_the_end = (D("400000"), D("375000"), D("350000"), D("194222.07"))
    with pytest.raises(errors.ValidationFailed) as refused:
        build_schedule(terms(**SCULPTED, cfads=short_at_the_end))
    assert set(refused.value.field_errors) == {"cfads"}
    # 49999.99 / 1.25 = 39999.99 does not cover the first period's interest of 40000.00.
    not_covering_interest = (D("49999.99"), D("375000"), D("350000"), D("900000"))
    with pytest.raises(errors.ValidationFailed) as refused:
        build_schedule(terms(**SCULPTED, cfads=not_covering_interest))
    assert set(refused.value.field_errors) == {"cfads"}


def test_sculpted_repaid_early_stops_at_zero() -> None:
    # CFADS that would repay more than the balance: principal stops at the balance, later lines are empty.
    lines = build_schedule(terms(**SCULPTED, cfads=(D("2000000"),) * 4))
    assert [line.principal for line in lines] == [D("1000000.00"), D("0.00"), D("0.00"), D("0.00")]
    assert [line.interest for line in lines] == [D("40000.00"), D("0.00"), D("0.00"), D("0.00")]


def test_interest_only_grace_then_equal_principal() -> None:
    # 60,000.00 at 12 % 30/360 monthly (r = 0.01) from 1 Jun 2026 to 1 Dec 2026, two months' grace:
    #   1-2: interest only, 60000 · 0.01 = 600.00
    #   3-6: 60000 / 4 = 15000.00 each; interest 600.00, 450.00, 300.00, 150.00
    lines = build_schedule(
        terms(
            principal=D("60000.00"),
            annual_rate_pct=D("12"),
            start_date=date(2026, 6, 1),
            maturity_date=date(2026, 12, 1),
            frequency_months=1,
            profile="equal_principal",
            business_day_rule="none",
            grace_months=2,
        )
    )
    assert [(str(line.principal), str(line.interest)) for line in lines] == [
        ("0.00", "600.00"),
        ("0.00", "600.00"),
        ("15000.00", "600.00"),
        ("15000.00", "450.00"),
        ("15000.00", "300.00"),
        ("15000.00", "150.00"),
    ]


def test_capitalised_grace_then_annuity() -> None:
    # 100,000.00 at 12 % 30/360 monthly (r = 0.01), four months, the first two capitalised:
    #   1: 100000.00 · 0.01 = 1000.00 added -> 101000.00 (nothing due)
    #   2: 101000.00 · 0.01 = 1010.00 added -> 102010.00 (nothing due)
    #   annuity on 102010 over 2: A = P·(1+r)^2·r / ((1+r)^2 - 1) = 102010 · 1.0201 · 0.01 / 0.0201
    #      = 51771.3437... -> 51771.34
    #   3: interest 1020.10; principal 51771.34 - 1020.10 = 50751.24 -> 51258.76
    #   4: interest 51258.76 · 0.01 = 512.5876 -> 512.59; principal the rest 51258.76
    # principal portions sum to 102010.00 = the principal + the 2010.00 capitalised.
    lines = build_schedule(
        terms(
            annual_rate_pct=D("12"),
            start_date=date(2026, 6, 1),
            maturity_date=date(2026, 10, 1),
            frequency_months=1,
            business_day_rule="none",
            grace_months=2,
            grace_kind="capitalised",
        )
    )
    assert rows(lines) == [
        (date(2026, 7, 1), "100000.00", "0.00", "0.00", "101000.00"),
        (date(2026, 8, 1), "101000.00", "0.00", "0.00", "102010.00"),
        (date(2026, 9, 1), "102010.00", "50751.24", "1020.10", "51258.76"),
        (date(2026, 10, 1), "51258.76", "51258.76", "512.59", "0.00"),
    ]
    assert [line.capitalised_interest for line in lines] == [D("1000.00"), D("1010.00"), D("0.00"), D("0.00")]


def test_stub_first_period_is_interest_only_then_annuity_on_the_grid() -> None:
    # Facility started 15 Jan 2026 (the grid: the 15th), this balance from 3 Feb 2026, 50,000.00 at 12 %
    # 30/360, monthly to 15 Jul 2026:
    #   stub 3 Feb -> 15 Feb = 12 days (30/360): 50000 · 0.12 · 12/360 = 200.00, interest only
    #   annuity over 5 months, r = 0.01: 1.01^5 = 1.0510100501; A = 500 / (1 - 1/1.0510100501)
    #      = 500 / 0.0485343124 = 10301.98998... -> 10301.99
    #   15 Mar: interest 500.00;                 principal  9801.99 -> 40198.01
    #   15 Apr: 40198.01 · 0.01 = 401.9801 -> 401.98; principal  9900.01 -> 30298.00
    #   15 May: 302.98;                           principal  9999.01 -> 20298.99
    #   15 Jun: 202.9899 -> 202.99;               principal 10099.00 -> 10199.99
    #   15 Jul: 101.9999 -> 102.00;               principal the rest 10199.99 (instalment 10301.99)
    lines = build_schedule(
        terms(
            principal=D("50000.00"),
            annual_rate_pct=D("12"),
            anchor_date=date(2026, 1, 15),
            start_date=date(2026, 2, 3),
            maturity_date=date(2026, 7, 15),
            frequency_months=1,
            business_day_rule="none",
        )
    )
    assert rows(lines) == [
        (date(2026, 2, 15), "50000.00", "0.00", "200.00", "50000.00"),
        (date(2026, 3, 15), "50000.00", "9801.99", "500.00", "40198.01"),
        (date(2026, 4, 15), "40198.01", "9900.01", "401.98", "30298.00"),
        (date(2026, 5, 15), "30298.00", "9999.01", "302.98", "20298.99"),
        (date(2026, 6, 15), "20298.99", "10099.00", "202.99", "10199.99"),
        (date(2026, 7, 15), "10199.99", "10199.99", "102.00", "0.00"),
    ]
    assert lines[0].period_start == date(2026, 2, 3)
    assert lines[0].days == 12


def test_rebuild_on_an_adjusted_grid_date_has_no_stub() -> None:
    # Grid on the 31st; Sat 31 Oct 2026 is paid Fri 30 Oct (modified following). A rebuild from 30 Oct
    # starts on the grid: its first period (to Mon 30 Nov) amortises like the others.
    lines = build_schedule(
        terms(
            anchor_date=date(2026, 8, 31),
            start_date=date(2026, 10, 30),
            maturity_date=date(2027, 1, 31),
            frequency_months=1,
            profile="equal_principal",
            principal=D("300.00"),
        )
    )
    assert [(line.due_date, str(line.principal)) for line in lines] == [
        (date(2026, 11, 30), "100.00"),
        (date(2026, 12, 31), "100.00"),
        (date(2027, 1, 29), "100.00"),  # Sun 31 Jan 2027 -> Fri 29 Jan (modified following)
    ]


def test_jpy_rounds_to_whole_yen() -> None:
    # 1,000,000 JPY at 1.2 % 30/360 monthly (r = 0.001), three months:
    #   A = 1000000 · 0.001 / (1 - 1.001^-3); 1.001^3 = 1.003003001 -> A = 334000.2221... -> 334000
    #   1: interest 1000; principal 333000 -> 667000
    #   2: interest 667;  principal 333333 -> 333667
    #   3: interest 333.667 -> 334; principal the rest 333667 (instalment 334001)
    lines = build_schedule(
        terms(
            principal=D("1000000"),
            currency="JPY",
            annual_rate_pct=D("1.2"),
            start_date=date(2026, 4, 6),
            maturity_date=date(2026, 7, 6),
            frequency_months=1,
            business_day_rule="none",
        )
    )
    assert [(str(line.principal), str(line.interest), str(line.closing_balance)) for line in lines] == [
        ("333000", "1000", "667000"),
        ("333333", "667", "333667"),
        ("333667", "334", "0"),
    ]


def test_rounding_is_half_up() -> None:
    # 1,000.50 at 12 % 30/360 for one month: 1000.50 · 0.01 = 10.005 -> 10.01 (banker's would give 10.00).
    lines = build_schedule(
        terms(
            principal=D("1000.50"),
            annual_rate_pct=D("12"),
            maturity_date=date(2026, 2, 15),
            frequency_months=1,
            profile="bullet",
            business_day_rule="none",
        )
    )
    assert [(str(line.principal), str(line.interest)) for line in lines] == [("1000.50", "10.01")]


def test_a_true_half_cent_rounds_up_whatever_the_day_count_fraction() -> None:
    # 30.00 at 30 % ACT/360 for 31 days: 30 · 30 · 31 / 36000 = 27900 / 36000 = 0.775 exactly -> 0.78.
    # (Multiplying by a rounded 31/360 = 0.086111... first gives 0.77499... -> 0.77: found by Hypothesis.)
    lines = build_schedule(
        terms(
            principal=D("30.00"),
            annual_rate_pct=D("30"),
            start_date=date(2000, 1, 1),
            maturity_date=date(2000, 2, 1),
            frequency_months=1,
            profile="bullet",
            day_count="act_360",
            business_day_rule="none",
        )
    )
    assert [str(line.interest) for line in lines] == ["0.78"]


def test_equal_principal_rounds_each_share_and_leaves_the_rest_to_the_last() -> None:
    # 100.00 over 3 months at 0 %: 100/3 = 33.333... -> 33.33, 33.33, the rest 33.34.
    # 0.05 over 2 months: 0.025 -> 0.03 (half-up), the rest 0.02.
    def shares(principal: str, months: int) -> list[str]:
        lines = build_schedule(
            terms(
                principal=D(principal),
                annual_rate_pct=D("0"),
                maturity_date=date(2026, 1 + months, 15),
                frequency_months=1,
                profile="equal_principal",
            )
        )
        return [str(line.principal) for line in lines]

    assert shares("100.00", 3) == ["33.33", "33.33", "33.34"]
    assert shares("0.05", 2) == ["0.03", "0.02"]


def test_short_last_period_when_maturity_is_off_the_grid() -> None:
    # Quarterly from 15 Jan 2026, maturity Mon 20 Jul 2026: 15 Apr, then 15 Jul and a 5-day last period.
    dates = payment_dates(terms(maturity_date=date(2026, 7, 20)))
    assert dates == [date(2026, 4, 15), date(2026, 7, 15), date(2026, 7, 20)]


def test_maturity_moved_by_the_business_day_rule() -> None:
    # Sat 15 Jan 2028 moves to Mon 17 Jan (modified following); the last due date is the adjusted maturity.
    dates = payment_dates(terms(start_date=date(2027, 10, 15), maturity_date=date(2028, 1, 15)))
    assert dates == [date(2028, 1, 17)]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"principal": D("0")}, "principal"),
        ({"principal": D("-5")}, "principal"),
        ({"principal": D("10.001")}, "principal"),
        ({"principal": D("10.5"), "currency": "JPY"}, "principal"),
        ({"principal": D("NaN")}, "principal"),
        ({"principal": 100.0}, "principal"),
        ({"principal": D("1E+18")}, "principal"),
        ({"currency": "XXX"}, "currency"),
        ({"annual_rate_pct": D("-0.01")}, "annual_rate_pct"),
        ({"annual_rate_pct": D("100.01")}, "annual_rate_pct"),
        ({"frequency_months": 2}, "frequency_months"),
        ({"profile": "balloon_payment"}, "profile"),
        ({"day_count": "act_act"}, "day_count"),
        ({"business_day_rule": "preceding"}, "business_day_rule"),
        ({"maturity_date": date(2026, 1, 15)}, "maturity_date"),
        ({"maturity_date": date(2126, 2, 15)}, "maturity_date"),
        ({"start_date": "2026-01-15"}, "start_date"),
        ({"anchor_date": date(2026, 2, 1)}, "anchor_date"),
        ({"grace_months": -1}, "grace_months"),
        ({"grace_months": 12}, "grace_months"),
        ({"grace_kind": "deferred"}, "grace_kind"),
        ({"profile": "balloon"}, "balloon_amount"),
        ({"profile": "balloon", "balloon_amount": D("-1")}, "balloon_amount"),
        ({"profile": "balloon", "balloon_amount": D("1.005")}, "balloon_amount"),
        ({"balloon_amount": D("100")}, "balloon_amount"),
        ({"cfads": (D("1"),) * 4}, "cfads"),
        ({"profile": "sculpted", "cfads": (D("50000"),) * 4}, "target_dscr"),
        ({"profile": "sculpted", "cfads": (D("50000"),) * 4, "target_dscr": D("0.9")}, "target_dscr"),
        ({"profile": "sculpted", "cfads": (D("50000"),) * 3, "target_dscr": D("1.2")}, "cfads"),
    ],
)
def test_bad_terms_are_refused_with_the_field_named(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        build_schedule(terms(**overrides))
    assert field in refused.value.field_errors


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(errors.ValidationFailed) as refused:
        build_schedule(terms(principal=D("0"), currency="XXX", frequency_months=5, day_count="?"))
    assert set(refused.value.field_errors) == {"principal", "currency", "frequency_months", "day_count"}


def test_maturity_adjusted_back_onto_the_start_is_refused() -> None:
    # Sat 31 Oct 2026 is paid Fri 30 Oct under modified following: nothing is left to schedule from the 30th.
    with pytest.raises(errors.ValidationFailed) as refused:
        build_schedule(terms(start_date=date(2026, 10, 30), maturity_date=date(2026, 10, 31)))
    assert set(refused.value.field_errors) == {"maturity_date"}
