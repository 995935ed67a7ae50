"""Unit tests for lendcrm.parties.identifiers (pure functions, no database)."""

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendcrm.parties.identifiers import (
    SCHEMES,
    USCC_ALPHABET,
    InvalidIdentifier,
    lei_check_digits,
    normalise,
    organisation_code_check_char,
    uscc_check_char,
    validate,
)

VALID_LEIS = ["5493001KJTIIGC8Y1R12", "HWUPKR0MPOU8FGXBT394", "529900T8BM49AURSDO55"]
VALID_USCCS = ["91350100M000100Y43", "91110000802100433B"]
FREE_TEXT = ["national_registration", "tax_number", "passport", "national_id"]
ALNUM = string.digits + string.ascii_uppercase

LEI_CHECK_MESSAGE = "Not a valid LEI: the check digits do not match (ISO 17442)."


def invalid_message(scheme: str, value: str) -> str:
    """Return the message of the InvalidIdentifier that validate() must raise."""
    with pytest.raises(InvalidIdentifier) as excinfo:
        validate(scheme, value)
    assert excinfo.value.message == str(excinfo.value)
    return excinfo.value.message


def test_schemes() -> None:
    assert list(SCHEMES) == [
        "lei",
        "uscc",
        "national_registration",
        "tax_number",
        "swift_bic",
        "passport",
        "national_id",
    ]
    assert all(str(label) for label in SCHEMES.values())


def test_invalid_identifier_is_value_error() -> None:
    error = InvalidIdentifier("nope")
    assert isinstance(error, ValueError)
    assert error.message == "nope"


@pytest.mark.parametrize("scheme", ["iban", "", "LEI"])
def test_unknown_scheme_rejected(scheme: str) -> None:
    assert "Unknown identifier scheme" in invalid_message(scheme, "5493001KJTIIGC8Y1R12")
    with pytest.raises(InvalidIdentifier):
        normalise(scheme, "x")


# --- LEI ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("lei", VALID_LEIS)
def test_known_leis_valid(lei: str) -> None:
    assert validate("lei", lei) == lei
    assert lei_check_digits(lei[:18]) == lei[18:]


def test_lei_normalised() -> None:
    assert normalise("lei", " 5493 001k-jtii gc8y1r12\n") == "5493001KJTIIGC8Y1R12"
    assert validate("lei", "hwupkr0mpou8fgxbt394") == "HWUPKR0MPOU8FGXBT394"


@pytest.mark.parametrize("lei", ["5493001KJTIIGC8Y1R13", "5493001KJTIIGC8Y1R21", "5493001KJTIIGC8Y1S12"])
def test_lei_wrong_check_digits(lei: str) -> None:
    assert invalid_message("lei", lei) == LEI_CHECK_MESSAGE


@pytest.mark.parametrize("lei", ["", "5493001KJTIIGC8Y1R1", "5493001KJTIIGC8Y1R120"])
def test_lei_wrong_length(lei: str) -> None:
    assert invalid_message("lei", lei) == (f"Not a valid LEI: it must be 20 characters long, not {len(lei)}.")


@pytest.mark.parametrize("lei", ["5493001KJTIIGC8Y1R!2", "5493001KJTIIGC8Y1R1٢", "5493001KJTIIGÉ8Y1R12"])
def test_lei_bad_characters(lei: str) -> None:
    assert "only digits and the letters A to Z" in invalid_message("lei", lei)


def test_lei_check_digits_must_be_digits() -> None:
    assert "last two characters must be digits" in invalid_message("lei", "5493001KJTIIGC8Y1RAB")


def test_lei_check_digits_rejects_bad_body() -> None:
    for body in ["5493001KJTIIGC8Y1", "5493001KJTIIGC8Y1r", "5493001KJTIIGC8Y1R1"]:
        with pytest.raises(ValueError, match="18 characters"):
            lei_check_digits(body)


def test_lei_digit_letter_swap_can_go_undetected() -> None:
    # ISO 7064 MOD 97-10 over the letter-expanded string catches every same-class substitution, but a
    # digit <-> letter swap changes the string length and slips through about 1 time in 97.
    assert validate("lei", "V989NJ4NIL2MFHXV1Q45")
    assert validate("lei", "V9A9NJ4NIL2MFHXV1Q45")


@given(st.text(alphabet=ALNUM, min_size=18, max_size=18))
def test_lei_check_digits_roundtrip(body: str) -> None:
    check = lei_check_digits(body)
    assert len(check) == 2
    assert check.isdigit()
    assert validate("lei", body + check) == body + check
    assert validate("lei", f" {(body + check).lower()} ") == body + check


@given(st.text(alphabet=ALNUM, min_size=18, max_size=18), st.data())
def test_lei_single_substitution_detected(body: str, data: st.DataObject) -> None:
    lei = body + lei_check_digits(body)
    index = data.draw(st.integers(0, 19))
    same_class = string.digits if lei[index].isdigit() else string.ascii_uppercase
    replacement = data.draw(st.sampled_from(same_class.replace(lei[index], "")))
    mutated = lei[:index] + replacement + lei[index + 1 :]
    assert invalid_message("lei", mutated) == LEI_CHECK_MESSAGE


# --- Unified social credit code ----------------------------------------------------------------


@pytest.mark.parametrize("uscc", VALID_USCCS)
def test_known_usccs_valid(uscc: str) -> None:
    assert validate("uscc", uscc) == uscc
    assert uscc_check_char(uscc[:17]) == uscc[17]
    assert organisation_code_check_char(uscc[8:16]) == uscc[16]


def test_organisation_code_check_char() -> None:
    assert organisation_code_check_char("M000100Y") == "4"
    assert organisation_code_check_char("80210043") == "3"
    assert organisation_code_check_char("00000001") == "9"  # 11 - 2
    assert organisation_code_check_char("00000000") == "0"  # 11 - 0 = 11 -> '0'
    assert organisation_code_check_char("40000000") == "X"  # 11 - (12 mod 11) = 10 -> 'X'


def test_uscc_normalised() -> None:
    assert normalise("uscc", " 9135-0100 m000-100y4 3\t") == "91350100M000100Y43"
    assert validate("uscc", "91110000802100433b") == "91110000802100433B"


def test_uscc_wrong_check_char() -> None:
    assert invalid_message("uscc", "91350100M000100Y4X") == (
        "Not a valid unified social credit code: the check character should be '3'."
    )
    assert invalid_message("uscc", "91110000802100433C") == (
        "Not a valid unified social credit code: the check character should be 'B'."
    )


def test_uscc_wrong_organisation_code_check() -> None:
    body = "91350100M000100Y5"  # organisation code check should be '4'
    message = invalid_message("uscc", body + uscc_check_char(body))
    assert message == (
        "Not a valid unified social credit code: the organisation code (characters 9 to 17) "
        "should end in '4' (GB 11714)."
    )


@pytest.mark.parametrize("uscc", ["", "91350100M000100Y4", "91350100M000100Y433"])
def test_uscc_wrong_length(uscc: str) -> None:
    assert invalid_message("uscc", uscc) == (
        f"Not a valid unified social credit code: it must be 18 characters long, not {len(uscc)}."
    )


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V", "i", "o"])
def test_uscc_forbidden_letters(letter: str) -> None:
    message = invalid_message("uscc", "91350100" + letter + "000100Y43")
    assert f"'{letter.upper()}' not allowed" in message


def test_uscc_check_char_rejects_bad_body() -> None:
    for body in ["91350100M000100Y", "91350100I000100Y4", "91350100m000100Y4"]:
        with pytest.raises(ValueError, match="17 characters"):
            uscc_check_char(body)


uscc_chars = st.sampled_from(USCC_ALPHABET)


@st.composite
def valid_usccs(draw: st.DrawFn) -> str:
    """Draw a USCC whose organisation-code and overall check characters are both correct."""
    head = "".join(draw(st.lists(uscc_chars, min_size=8, max_size=8)))
    org = "".join(draw(st.lists(uscc_chars, min_size=8, max_size=8)))
    body = head + org + organisation_code_check_char(org)
    return body + uscc_check_char(body)


@given(valid_usccs())
def test_uscc_check_char_roundtrip(uscc: str) -> None:
    assert validate("uscc", uscc) == uscc
    assert validate("uscc", f" {uscc[:9].lower()} {uscc[9:]} ") == uscc


@given(valid_usccs(), st.data())
def test_uscc_single_substitution_detected(uscc: str, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, 17))
    replacement = data.draw(st.sampled_from(ALNUM.replace(uscc[index], "")))
    mutated = uscc[:index] + replacement + uscc[index + 1 :]
    with pytest.raises(InvalidIdentifier):
        validate("uscc", mutated)


# --- SWIFT/BIC and free text ----------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("DEUTDEFF", "DEUTDEFF"), (" deutdeff500 ", "DEUTDEFF500")])
def test_swift_bic_valid(raw: str, expected: str) -> None:
    assert validate("swift_bic", raw) == expected


@pytest.mark.parametrize(
    "bic", ["DEUTDEF", "DEUTDEFF50", "DEUTDEFF5000", "1EUTDEFF", "DEUT12FF", "DEUT DE FF"]
)
def test_swift_bic_invalid(bic: str) -> None:
    assert invalid_message("swift_bic", bic).startswith("Not a valid SWIFT/BIC code")


@pytest.mark.parametrize("scheme", FREE_TEXT)
def test_free_text_trimmed_only(scheme: str) -> None:
    assert validate(scheme, "  ab-123 456\n") == "ab-123 456"
    assert validate(scheme, "x" * 40) == "x" * 40


@pytest.mark.parametrize("scheme", FREE_TEXT)
@pytest.mark.parametrize("value", ["", "   ", "ab", "x" * 41])
def test_free_text_length(scheme: str, value: str) -> None:
    assert "between 3 and 40 characters" in invalid_message(scheme, value)


@pytest.mark.parametrize("scheme", FREE_TEXT)
def test_free_text_printable(scheme: str) -> None:
    assert "non-printable" in invalid_message(scheme, "AB\n123")
    assert "non-printable" in invalid_message(scheme, "AB\x00123")
