"""Amounts read the way a bank prints them in either language: grouped by thousands, two decimals."""

from decimal import Decimal

import pytest
from django.utils import translation

from lendcrm.web.templatetags.workspace import grouped, money


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_money_is_grouped_by_thousands_in_both_languages(language: str) -> None:
    with translation.override(language):
        assert money(Decimal("30000000.5"), "CNY") == "CNY 30,000,000.50"
        assert money(Decimal("-1234.567"), "USD") == "USD -1,234.57"
        assert grouped(1234567) == "1,234,567"


def test_chinese_dates_keep_djangos_format() -> None:
    from datetime import date

    from django.utils.formats import date_format

    with translation.override("zh-hans"):
        assert date_format(date(2026, 9, 5)) == "2026年9月5日"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_ratios_and_percentages_round_half_up(language: str) -> None:
    from lendcrm.origination.templatetags.origination import percent, ratio

    with translation.override(language):
        assert ratio(Decimal("1.1997")) == "1.20\u00d7"
        assert ratio(Decimal("1.1949")) == "1.19\u00d7"
        assert ratio(Decimal("0.125"), "ebitda_margin") == "12.5 %"
        assert percent(Decimal("0.0042005")) == "0.42 %"
        assert percent(Decimal("0.004250")) == "0.43 %"
        assert ratio(Decimal("12345.675")) == "12,345.68\u00d7"
