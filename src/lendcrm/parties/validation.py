"""Checks on customer-master input, before any database work: each turns bad input into a field error."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from lendcrm.core import errors
from lendcrm.core.models import Branch
from lendcrm.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, Money
from lendcrm.parties import identifiers
from lendcrm.parties.models import (
    NATURAL_PERSON_KINDS,
    ContactPointKind,
    ContactRoleKind,
    KycStatus,
    Lifecycle,
    Party,
    PartyKind,
    Segment,
)

_TEXT_LIMITS = {"legal_name": 300, "local_name": 300, "short_name": 100, "industry_code": 10}
_CHOICES: dict[str, tuple[type[Any], bool]] = {  # field: (choices, blank allowed)
    "kind": (PartyKind, False),
    "segment": (Segment, True),
    "lifecycle": (Lifecycle, False),
    "kyc_status": (KycStatus, False),
}
_COUNTRY_RE = re.compile(r"[A-Z]{2}")
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
_INDUSTRY_RE = re.compile(r"[A-Z0-9][A-Z0-9.\-]*")
_PHONE_RE = re.compile(r"\+?[0-9][0-9 ().\-]{4,30}")
_MAX_EMPLOYEES = 2_147_483_647
PCT_MAX = Decimal(100)
_PCT_PLACES = 3
_PCT_STEP = Decimal(1).scaleb(-_PCT_PLACES)
_MAX_IDENTIFIERS = 20
MAX_POINTS = 20


class Invalid(Exception):
    """One field's problem, collected so a caller hears about every bad field at once."""


# --- small validators -----------------------------------------------------------------------------
def check_text(value: object, *, limit: int, required: bool = False) -> str:
    if not isinstance(value, str):
        raise Invalid(_("Must be text."))
    value = value.strip()
    if required and not value:
        raise Invalid(_("This field is required."))
    if len(value) > limit:
        raise Invalid(_("At most %(limit)d characters.") % {"limit": limit})
    if not value.isprintable():
        raise Invalid(_("Contains control or other non-printable characters."))
    return value


def check_choice(value: object, choices: type[Any], *, blank: bool) -> str:
    if blank and value == "":
        return ""
    if value not in choices.values:
        raise Invalid(_("Must be one of: %(values)s.") % {"values": ", ".join(choices.values)})
    return str(value)


def check_country(value: object) -> str:
    text = check_text(value, limit=2).upper()
    if text and not _COUNTRY_RE.fullmatch(text):
        raise Invalid(_("Use the two-letter ISO 3166 country code, e.g. CN."))
    return text


def check_date(value: object) -> date | None:
    if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
        raise Invalid(_("Must be a date."))
    return value


def check_money(value: object) -> tuple[Decimal | None, str]:
    if value is None:
        return None, ""
    if not isinstance(value, Money):
        raise Invalid(_("Must be an amount with a currency."))
    amount, currency = value.amount, value.currency
    if not _CURRENCY_RE.fullmatch(currency):
        raise Invalid(_("Use the three-letter ISO 4217 currency code, e.g. CNY."))
    if not amount.is_finite() or amount < 0:
        raise Invalid(_("The amount must be zero or more."))
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MONEY_DECIMAL_PLACES:
        raise Invalid(_("At most %(places)d decimal places.") % {"places": MONEY_DECIMAL_PLACES})
    if amount >= Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES):
        raise Invalid(_("The amount is too large."))
    return amount, currency


def check_pct(value: object) -> Decimal:
    """An ownership percentage: more than 0, at most 100, three decimal places."""
    try:
        pct = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise Invalid(_("Must be a number.")) from exc
    if isinstance(value, bool) or not pct.is_finite() or not 0 < pct <= PCT_MAX:
        raise Invalid(_("Must be more than 0 and at most 100."))
    if pct != pct.quantize(_PCT_STEP):
        raise Invalid(_("At most %(places)d decimal places.") % {"places": _PCT_PLACES})
    return pct


def field(name: str, check: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one validator, turning its complaint into a field error."""
    try:
        return check(*args, **kwargs)
    except Invalid as exc:
        raise errors.field_error(name, str(exc)) from exc


def clean_profile(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate party profile input into model attributes, reporting every bad field together."""
    attrs: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for name, value in values.items():
        try:
            if name in _CHOICES:
                choices, blank = _CHOICES[name]
                attrs[name] = check_choice(value, choices, blank=blank)
            elif name == "industry_code":
                code = check_text(value, limit=_TEXT_LIMITS[name]).upper()
                if code and not _INDUSTRY_RE.fullmatch(code):
                    raise Invalid(_("Use an ISIC or NACE code: letters, digits and dots, e.g. D3511."))
                attrs[name] = code
            elif name in _TEXT_LIMITS:
                attrs[name] = check_text(value, limit=_TEXT_LIMITS[name], required=name == "legal_name")
            elif name == "country":
                attrs[name] = check_country(value)
            elif name in ("annual_revenue", "total_assets"):
                attrs[name], attrs[f"{name}_currency"] = check_money(value)
            elif name == "employees":
                if value is not None and (
                    isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_EMPLOYEES
                ):
                    raise Invalid(_("Must be a whole number, zero or more."))
                attrs[name] = value
            elif name in ("incorporation_date", "birth_date", "kyc_next_review"):
                attrs[name] = check_date(value)
            elif name == "branch":
                if not isinstance(value, Branch):
                    raise Invalid(_("A booking branch is required."))
                attrs[name] = value
            else:
                raise Invalid(_("Unknown field."))
        except Invalid as exc:
            problems.setdefault(name, []).append(str(exc))
    if problems:
        raise errors.ValidationFailed(field_errors=problems)
    return attrs


def check_person_fields(party: Party) -> None:
    if party.birth_date is not None and party.kind not in NATURAL_PERSON_KINDS:
        raise errors.field_error(
            "birth_date", _("Only individuals and sole traders have a birth date; use incorporation_date.")
        )


def clean_identifiers(pairs: Iterable[tuple[str, str]], prefix: str) -> list[tuple[str, str]]:
    """Normalise and validate (scheme, value) pairs; the error names the scheme and the rule broken."""
    cleaned: list[tuple[str, str]] = []
    problems: dict[str, list[str]] = {}
    for index, (scheme, value) in enumerate(pairs):
        where = f"{prefix}.{index}" if prefix else ""
        try:
            pair = (scheme, identifiers.validate(scheme, value))
        except identifiers.InvalidIdentifier as exc:
            field = "scheme" if scheme not in identifiers.SCHEMES else "value"
            problems.setdefault(f"{where}.{field}" if where else field, []).append(exc.message)
            continue
        if pair in cleaned:
            problems.setdefault(f"{where}.value" if where else "value", []).append(
                _("The same identifier is listed twice.")
            )
        cleaned.append(pair)
    if len(cleaned) > _MAX_IDENTIFIERS:
        problems.setdefault(prefix or "identifiers", []).append(_("At most 20 identifiers."))
    if problems:
        first = next(iter(problems.values()))[0]
        raise errors.ValidationFailed(first, field_errors=problems, code="invalid_identifier")
    return cleaned


@dataclass(frozen=True)
class NewContactPoint:
    kind: str
    value: str
    label: str = ""
    is_preferred: bool = False


def clean_point(point: NewContactPoint, prefix: str = "") -> NewContactPoint:
    def name(part: str) -> str:
        return f"{prefix}.{part}" if prefix else part

    kind = field(name("kind"), check_choice, point.kind, ContactPointKind, blank=False)
    value = field(name("value"), check_text, point.value, limit=300, required=True)
    label = field(name("label"), check_text, point.label, limit=50)
    if kind == ContactPointKind.EMAIL:
        try:
            validate_email(value)
        except DjangoValidationError as exc:
            raise errors.field_error(name("value"), _("Not a valid email address.")) from exc
    elif kind == ContactPointKind.PHONE and (
        not _PHONE_RE.fullmatch(value) or sum(c.isdigit() for c in value) < 5
    ):
        raise errors.field_error(
            name("value"),
            _("Not a valid phone number: digits, spaces, dashes and an optional leading +."),
        )
    return NewContactPoint(kind, value, label, bool(point.is_preferred))


def clean_contact_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    limits = {"full_name": 200, "local_name": 200, "title": 100}
    attrs: dict[str, Any] = {}
    for name, value in values.items():
        if name in limits:
            attrs[name] = field(name, check_text, value, limit=limits[name], required=name == "full_name")
        elif name == "nationality":
            attrs[name] = field(name, check_country, value)
        elif name == "birth_date":
            attrs[name] = field(name, check_date, value)
        else:
            raise errors.field_error(name, _("Unknown field."))
    return attrs


def clean_role(role: str, ownership_pct: object) -> Decimal | None:
    field("role", check_choice, role, ContactRoleKind, blank=False)
    if role == ContactRoleKind.UBO:
        if ownership_pct is None:
            raise errors.field_error("ownership_pct", _("An ultimate beneficial owner needs an ownership %."))
        return field("ownership_pct", check_pct, ownership_pct)
    if ownership_pct is not None:
        raise errors.field_error("ownership_pct", _("Only an ultimate beneficial owner has an ownership %."))
    return None
