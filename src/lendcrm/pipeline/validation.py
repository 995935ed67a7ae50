"""Checks on pipeline input before any write: each turns bad input into a field error."""

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from lendcrm.core import errors
from lendcrm.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.pipeline.models import Product, ProductFamily

Problems = dict[str, list[str]]


class Invalid(Exception):
    """One field's problem, collected so the caller hears about every bad field at once."""


def refuse(problems: Problems) -> None:
    """Raise one 400 naming every bad field, if there is any."""
    if problems:
        first = next(iter(problems.values()))[0]
        raise errors.ValidationFailed(first, field_errors=problems)


def collect(problems: Problems, name: str, check: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one check; its complaint becomes a field error in `problems` (and the result None)."""
    try:
        return check(*args, **kwargs)
    except Invalid as exc:
        problems.setdefault(name, []).append(str(exc))
        return None


# --- small checks ---------------------------------------------------------------------------------
def check_text(value: object, *, limit: int, required: bool = False) -> str:
    if not isinstance(value, str):
        raise Invalid(_("Must be text."))
    value = value.strip()
    if required and not value:
        raise Invalid(_("This field is required."))
    if len(value) > limit:
        raise Invalid(_("At most %(limit)d characters.") % {"limit": limit})
    if "\n" not in value and not value.isprintable():
        raise Invalid(_("Contains control or other non-printable characters."))
    return value


def check_long_text(value: object, *, limit: int = 20_000) -> str:
    """Free text that may span lines (notes, security, covenants)."""
    if not isinstance(value, str):
        raise Invalid(_("Must be text."))
    value = value.strip()
    if len(value) > limit:
        raise Invalid(_("At most %(limit)d characters.") % {"limit": limit})
    return value


def check_choice(value: object, choices: Any, *, blank: bool = False) -> str:
    if blank and value == "":
        return ""
    if value not in choices.values:
        raise Invalid(_("Must be one of: %(values)s.") % {"values": ", ".join(choices.values)})
    return str(value)


def check_currency(value: object) -> str:
    known = settings.LENDCRM_FX_TO_BASE
    if not isinstance(value, str) or value not in known:
        raise Invalid(_("Use one of the currencies the bank books: %(known)s.") % {"known": ", ".join(known)})
    return value


def check_amount(value: object) -> Decimal:
    """A money amount: a Decimal above zero with at most two decimal places."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise Invalid(_("Must be a decimal number."))
    amount = Decimal(value)
    if not amount.is_finite() or amount <= 0:
        raise Invalid(_("The amount must be more than zero."))
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MONEY_DECIMAL_PLACES:
        raise Invalid(_("At most %(places)d decimal places.") % {"places": MONEY_DECIMAL_PLACES})
    if amount >= Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES):
        raise Invalid(_("The amount is too large."))
    return amount


def check_int(value: object, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(_("Must be a whole number from %(low)d to %(high)d.") % {"low": low, "high": high})
    return value


def check_future_date(value: object) -> date | None:
    """An optional date that is today or later (expected close, validity)."""
    if value is None:
        return None
    if not isinstance(value, date) or isinstance(value, datetime):
        raise Invalid(_("Must be a date."))
    if value < timezone.localdate():
        raise Invalid(_("May not be in the past."))
    return value


def money_pair(
    problems: Problems, data: Mapping[str, Any], amount_key: str, currency_key: str = "currency"
) -> tuple[Decimal | None, str]:
    """An optional amount with its currency: both or neither."""
    raw_amount, raw_currency = data.get(amount_key), data.get(currency_key) or ""
    if raw_amount is None:
        if raw_currency:
            collect(problems, currency_key, check_currency, raw_currency)
        return None, raw_currency if isinstance(raw_currency, str) else ""
    amount = collect(problems, amount_key, check_amount, raw_amount)
    if not raw_currency:
        problems.setdefault(currency_key, []).append(_("An amount needs its currency."))
        return amount, ""
    return amount, collect(problems, currency_key, check_currency, raw_currency) or ""


# --- products and staff ---------------------------------------------------------------------------
def product_key(value: object) -> str | int:
    """Products are named by code (or passed as the Product itself, as forms do)."""
    if isinstance(value, Product):
        return value.pk
    if isinstance(value, str) and value:
        return value
    raise Invalid(_("Name a product by its code."))


def resolve_products(
    values: Sequence[object], where: Callable[[int], str], *, lending_only: bool = False
) -> list[Product]:
    """Active products named by code (or given as Products), in one query whatever their number; a bad
    one is a field error at `where(index)`."""
    problems: Problems = {}
    keys = [collect(problems, where(index), product_key, value) for index, value in enumerate(values)]
    refuse(problems)
    codes = [k for k in keys if isinstance(k, str)]
    ids = [k for k in keys if isinstance(k, int)]
    found = list(Product.objects.filter(Q(code__in=codes) | Q(pk__in=ids), is_active=True)) if keys else []
    by_key: dict[str | int, Product] = {p.code: p for p in found} | {p.pk: p for p in found}
    out: list[Product] = []
    for index, key in enumerate(keys):
        product = by_key.get(key)
        if product is None:
            problems.setdefault(where(index), []).append(
                _("No active product has the code %(code)s.") % {"code": key}
            )
        elif lending_only and product.family != ProductFamily.LENDING:
            problems.setdefault(where(index), []).append(
                _("%(product)s is not a lending product.") % {"product": product.name}
            )
        else:
            out.append(product)
    refuse(problems)
    return out
