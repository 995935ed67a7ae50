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
