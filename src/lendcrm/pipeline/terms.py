"""Checks on a facility's terms (proposals now, applications on conversion): every problem is a field
error named like `facilities.0.amount`, so a form or an API client can put it next to the field."""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from lendcrm.core import errors
from lendcrm.pipeline.models import BaseRate, RateType, RepaymentProfile
from lendcrm.pipeline.validation import (
    Invalid,
    Problems,
    check_amount,
    check_choice,
    check_currency,
    check_int,
    check_long_text,
    check_text,
    collect,
    refuse,
    resolve_products,
)

MAX_FACILITIES = 20
MAX_TENOR_MONTHS = 600
RATE_PLACES = 5
TERM_FIELDS = (
    "product",
    "amount",
    "currency",
    "tenor_months",
    "repayment_profile",
    "balloon_amount",
    "grace_months",
    "rate_type",
    "base_rate",
    "margin_pct",
    "fixed_rate_pct",
    "upfront_fee_pct",
    "commitment_fee_pct",
    "security",
    "covenants",
    "purpose",
)
REQUIRED = ("product", "amount", "currency", "tenor_months", "repayment_profile", "rate_type")


def check_rate(value: object, *, low: Decimal, high: Decimal = Decimal(100)) -> Decimal:
    """A rate in percent per year, at most five decimal places."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise Invalid(_("Must be a decimal number."))
    rate = Decimal(value)
    if not rate.is_finite() or not low <= rate <= high:
        raise Invalid(_("Must be from %(low)s to %(high)s.") % {"low": low, "high": high})
    exponent = rate.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -RATE_PLACES:
        raise Invalid(_("At most %(places)d decimal places.") % {"places": RATE_PLACES})
    return rate


def _one(item: Mapping[str, Any], at: str, problems: Problems) -> dict[str, Any]:
    def name(part: str) -> str:
        return f"{at}.{part}"

    def given(key: str, check: Any, *args: Any, **kwargs: Any) -> Any:
        """The checked value of an optional field (None when it was not given)."""
        raw = item.get(key)
        return None if raw is None or raw == "" else collect(problems, name(key), check, raw, *args, **kwargs)

    for key in sorted(set(item) - set(TERM_FIELDS)):
        problems.setdefault(name(key), []).append(_("Unknown field."))
    for key in REQUIRED:
        if item.get(key) is None or item.get(key) == "":
            problems.setdefault(name(key), []).append(_("This field is required."))
    terms: dict[str, Any] = {
        "amount": given("amount", check_amount),
        "currency": given("currency", check_currency) or "",
        "tenor_months": given("tenor_months", check_int, low=1, high=MAX_TENOR_MONTHS),
        "grace_months": given("grace_months", check_int, low=0, high=MAX_TENOR_MONTHS) or 0,
        "repayment_profile": given("repayment_profile", check_choice, RepaymentProfile) or "",
        "rate_type": given("rate_type", check_choice, RateType) or "",
        "base_rate": given("base_rate", check_choice, BaseRate) or "",
        "balloon_amount": given("balloon_amount", check_amount),
        "margin_pct": given("margin_pct", check_rate, low=Decimal(-100)),
        "fixed_rate_pct": given("fixed_rate_pct", check_rate, low=Decimal(0)),
        "upfront_fee_pct": given("upfront_fee_pct", check_rate, low=Decimal(0)),
        "commitment_fee_pct": given("commitment_fee_pct", check_rate, low=Decimal(0)),
        "security": given("security", check_long_text) or "",
        "covenants": given("covenants", check_long_text) or "",
        "purpose": given("purpose", check_text, limit=300) or "",
    }
    _cross_checks(terms, item, name, problems)
    return terms


def _cross_checks(terms: dict[str, Any], item: Mapping[str, Any], name: Any, problems: Problems) -> None:
    """The rules between fields: grace within tenor, a complete rate, a balloon within the amount."""
    tenor, grace = terms["tenor_months"], terms["grace_months"]
    if tenor is not None and grace is not None and grace >= tenor:
        problems.setdefault(name("grace_months"), []).append(
            _("The grace period must be shorter than the tenor.")
        )
    if terms["rate_type"] == RateType.FLOATING:
        if not terms["base_rate"] and "base_rate" not in problems:
            problems.setdefault(name("base_rate"), []).append(_("A floating rate needs a base rate."))
        if item.get("margin_pct") is None:
            problems.setdefault(name("margin_pct"), []).append(_("A floating rate needs a margin."))
        if item.get("fixed_rate_pct") is not None:
            problems.setdefault(name("fixed_rate_pct"), []).append(_("A floating rate has no fixed rate."))
    elif terms["rate_type"] == RateType.FIXED:
        if item.get("fixed_rate_pct") is None:
            problems.setdefault(name("fixed_rate_pct"), []).append(_("A fixed rate needs the rate."))
        if terms["base_rate"] or item.get("margin_pct") is not None:
            problems.setdefault(name("base_rate"), []).append(_("A fixed rate has no base rate or margin."))
    balloon, amount = terms["balloon_amount"], terms["amount"]
    if terms["repayment_profile"] == RepaymentProfile.BALLOON:
        if item.get("balloon_amount") is None:
            problems.setdefault(name("balloon_amount"), []).append(_("A balloon profile needs the balloon."))
        elif balloon is not None and amount is not None and balloon >= amount:
            problems.setdefault(name("balloon_amount"), []).append(
                _("The balloon must be less than the amount.")
            )
    elif item.get("balloon_amount") is not None:
        problems.setdefault(name("balloon_amount"), []).append(_("Only a balloon profile has a balloon."))


def clean_facilities(items: Sequence[Mapping[str, Any]], prefix: str = "facilities") -> list[dict[str, Any]]:
    """Validated facility terms, ready for `ProposalFacility(**terms)` (or an application's facility):
    the product resolved (an active lending product), `position` set; at least one facility."""
    if isinstance(items, str | bytes) or not isinstance(items, Sequence) or not items:
        raise errors.field_error(prefix, _("At least one facility is required."))
    if len(items) > MAX_FACILITIES:
        raise errors.field_error(prefix, _("At most %(n)d facilities.") % {"n": MAX_FACILITIES})
    problems: Problems = {}
    cleaned: list[dict[str, Any]] = []
    named: list[tuple[int, object]] = []  # (index, product as given) of the items that name one
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            problems.setdefault(f"{prefix}.{index}", []).append(_("Must be an object."))
            continue
        cleaned.append(_one(item, f"{prefix}.{index}", problems))
        if item.get("product") not in (None, ""):
            named.append((index, item["product"]))
    try:
        products = resolve_products(
            [given for _i, given in named], lambda n: f"{prefix}.{named[n][0]}.product", lending_only=True
        )
    except errors.ValidationFailed as exc:
        for key, messages in exc.field_errors.items():
            problems.setdefault(key, []).extend(messages)
    refuse(problems)
    for position, (terms, product) in enumerate(zip(cleaned, products, strict=True)):
        terms["product"] = product
        terms["position"] = position
    return cleaned
