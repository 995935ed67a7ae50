"""Formatting of proposals in any language: rates in percent, a facility's price, product names."""

from decimal import Decimal
from typing import Any

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from lendcrm.pipeline.forms import product_label

register = template.Library()


@register.filter
def pct(value: Decimal | None) -> str:
    """A rate in percent with at least two decimals and no trailing zeros beyond them (1.25 %, 0.125 %)."""
    if value is None:
        return "—"
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{number_format(value, places, use_l10n=True)} %"


@register.filter
def price(facility: Any) -> str:
    """The facility's rate as a borrower reads it: "LPR 1 year + 1.25 %" or "fixed 4.35 %"."""
    if facility.rate_type == "fixed":
        return _("fixed %(rate)s") % {"rate": pct(facility.fixed_rate_pct)}
    return _("%(base)s + %(margin)s") % {
        "base": facility.get_base_rate_display(),
        "margin": pct(facility.margin_pct),
    }


@register.filter
def product_name(product: Any) -> str:
    """The catalogue name in the current language (the local name in Chinese, when there is one)."""
    return "—" if product is None else product_label(product)


TONES = {
    "won": "ok",
    "lost": "bad",
    "qualified": "ok",
    "disqualified": "bad",
    "draft": "warn",
    "accepted": "ok",
    "rejected": "bad",
    "superseded": "muted",
}


@register.filter
def tone(status: str) -> str:
    """The badge colour of a stage or status; the colour repeats the text, never replaces it."""
    return TONES.get(status, "")


@register.filter
def duration(hours: Decimal | None) -> str:
    """Hours as people read a stay in a stage: hours under two days, days beyond."""
    if hours is None:
        return "—"
    if hours < 48:
        return _("%(n)s h") % {"n": number_format(hours, 1, use_l10n=True)}
    return _("%(n)s days") % {"n": number_format(hours / 24, 1, use_l10n=True)}


@register.filter
def share(rate: Decimal | None) -> str:
    """A fraction (0.25) as a percentage (25 %)."""
    if rate is None:
        return "—"
    return f"{number_format(rate * 100, 0, use_l10n=True)} %"
