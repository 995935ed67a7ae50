"""Validation and normalisation of party identifiers (LEI, USCC, SWIFT/BIC and free-text schemes)."""

from __future__ import annotations

import re
import string
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

LEI = "lei"
USCC = "uscc"
NATIONAL_REGISTRATION = "national_registration"
TAX_NUMBER = "tax_number"
SWIFT_BIC = "swift_bic"
PASSPORT = "passport"
NATIONAL_ID = "national_id"

SCHEMES: dict[str, StrPromise] = {
    LEI: _("Legal Entity Identifier (LEI)"),
    USCC: _("Unified social credit code (China)"),
    NATIONAL_REGISTRATION: _("National registration number"),
    TAX_NUMBER: _("Tax number"),
    SWIFT_BIC: _("SWIFT/BIC code"),
    PASSPORT: _("Passport number"),
    NATIONAL_ID: _("National ID number"),
}

FREE_TEXT_SCHEMES = frozenset({NATIONAL_REGISTRATION, TAX_NUMBER, PASSPORT, NATIONAL_ID})
FREE_TEXT_MIN_LENGTH = 3
FREE_TEXT_MAX_LENGTH = 40

LEI_LENGTH = 20
LEI_ALPHABET = frozenset(string.digits + string.ascii_uppercase)

USCC_LENGTH = 18
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714

_SWIFT_BIC_RE = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
_COMPACT_RE = re.compile(r"[\s\-]+")


class InvalidIdentifier(ValueError):
    """An identifier that fails validation for its scheme."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _invalid(message: StrPromise, **params: object) -> InvalidIdentifier:
    """Build an InvalidIdentifier from a lazy message, interpolating params in the active language."""
    return InvalidIdentifier(str(message % params) if params else str(message))


def _lei_number(value: str) -> int:
    """Map an alphanumeric string to the integer ISO 7064 MOD 97-10 works on (A=10 … Z=35)."""
    return int("".join(str(int(char, 36)) for char in value))


def lei_check_digits(first18: str) -> str:
    """Return the two ISO 17442 check digits for the first 18 characters of an LEI."""
    if len(first18) != LEI_LENGTH - 2 or not set(first18) <= LEI_ALPHABET:
        raise ValueError("An LEI body is 18 characters from 0-9 and A-Z.")
    return f"{98 - _lei_number(first18 + '00') % 97:02d}"


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters of a USCC."""
    if len(first17) != USCC_LENGTH - 1 or not set(first17) <= set(USCC_ALPHABET):
        raise ValueError("A USCC body is 17 characters from the USCC alphabet.")
    total = sum(
        USCC_ALPHABET.index(char) * weight for char, weight in zip(first17, USCC_WEIGHTS, strict=True)
    )
    return USCC_ALPHABET[(31 - total % 31) % 31]


def organisation_code_check_char(first8: str) -> str:
    """Return the GB 11714 check character for the first 8 characters of an organisation code."""
    if len(first8) != len(ORG_CODE_WEIGHTS) or not set(first8) <= LEI_ALPHABET:
        raise ValueError("An organisation code body is 8 characters from 0-9 and A-Z.")
    total = sum(int(char, 36) * weight for char, weight in zip(first8, ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def normalise(scheme: str, value: str) -> str:
    """Return the canonical spelling of an identifier (trimmed; compacted and upper-cased where relevant)."""
    if scheme not in SCHEMES:
        raise _invalid(_("Unknown identifier scheme: '%(scheme)s'."), scheme=scheme)
    value = value.strip()
    if scheme in (LEI, USCC):
        value = _COMPACT_RE.sub("", value)
    if scheme in (LEI, USCC, SWIFT_BIC):
        value = value.upper()
    return value


def _validate_lei(value: str) -> None:
    """Raise InvalidIdentifier unless value is a well-formed LEI with matching check digits."""
    if len(value) != LEI_LENGTH:
        raise _invalid(
            _("Not a valid LEI: it must be 20 characters long, not %(length)d."), length=len(value)
        )
    if not set(value) <= LEI_ALPHABET:
        raise _invalid(_("Not a valid LEI: only digits and the letters A to Z are allowed."))
    if not value[-2:].isdigit():
        raise _invalid(_("Not a valid LEI: the last two characters must be digits."))
    if _lei_number(value) % 97 != 1:
        raise _invalid(_("Not a valid LEI: the check digits do not match (ISO 17442)."))


def _validate_uscc(value: str) -> None:
    """Raise InvalidIdentifier unless value is a well-formed USCC with valid check characters."""
    if len(value) != USCC_LENGTH:
        raise _invalid(
            _("Not a valid unified social credit code: it must be 18 characters long, not %(length)d."),
            length=len(value),
        )
    bad = "".join(sorted({char for char in value if char not in USCC_ALPHABET}))
    if bad:
        raise _invalid(
            _(
                "Not a valid unified social credit code: '%(chars)s' not allowed "
                "(only digits and capital letters other than I, O, S, V and Z)."
            ),
            chars=bad,
        )
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        raise _invalid(
            _("Not a valid unified social credit code: the check character should be '%(expected)s'."),
            expected=expected,
        )
    expected = organisation_code_check_char(value[8:16])
    if value[16] != expected:
        raise _invalid(
            _(
                "Not a valid unified social credit code: the organisation code (characters 9 to 17) "
                "should end in '%(expected)s' (GB 11714)."
            ),
            expected=expected,
        )


def _validate_swift_bic(value: str) -> None:
    """Raise InvalidIdentifier unless value has the 8- or 11-character SWIFT/BIC layout."""
    if not _SWIFT_BIC_RE.fullmatch(value):
        raise _invalid(
            _(
                "Not a valid SWIFT/BIC code: expected 8 or 11 characters (4-letter bank code, "
                "2-letter country code, 2-character location, optional 3-character branch)."
            )
        )


def _validate_free_text(value: str) -> None:
    """Raise InvalidIdentifier unless value is printable text of a sensible length."""
    if not FREE_TEXT_MIN_LENGTH <= len(value) <= FREE_TEXT_MAX_LENGTH:
        raise _invalid(
            _("Not a valid identifier: it must be between %(min)d and %(max)d characters long."),
            min=FREE_TEXT_MIN_LENGTH,
            max=FREE_TEXT_MAX_LENGTH,
        )
    if not value.isprintable():
        raise _invalid(_("Not a valid identifier: it contains control or other non-printable characters."))


def validate(scheme: str, value: str) -> str:
    """Return the normalised identifier, or raise InvalidIdentifier explaining what is wrong."""
    value = normalise(scheme, value)
    if scheme == LEI:
        _validate_lei(value)
    elif scheme == USCC:
        _validate_uscc(value)
    elif scheme == SWIFT_BIC:
        _validate_swift_bic(value)
    else:
        _validate_free_text(value)
    return value
