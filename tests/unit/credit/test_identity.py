from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit.identity import (
    IdentityError,
    age_on,
    certno_check_char,
    mask_certno,
    mask_phone,
    names_match,
    validate_certno,
)

# The ISO 7064 MOD 11-2 worked example used in the national standard GB 11643-1999.
STANDARD_EXAMPLE = "11010519491231002X"


def test_the_check_character_of_the_standard_example_is_x() -> None:
    assert certno_check_char(STANDARD_EXAMPLE[:17]) == "X"
    assert validate_certno(STANDARD_EXAMPLE) == STANDARD_EXAMPLE


def test_a_lower_case_x_and_surrounding_spaces_are_accepted_and_normalised() -> None:
    assert validate_certno("  11010519491231002x ") == STANDARD_EXAMPLE


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_every_17_digits_with_their_check_character_validate_when_the_date_is_real(
    first17: str,
) -> None:
    certno = first17 + certno_check_char(first17)
    try:
        date(int(first17[6:10]), int(first17[10:12]), int(first17[12:14]))
        real = int(first17[6:10]) >= 1900
    except ValueError:
        real = False
    if real:
        assert validate_certno(certno) == certno
    else:
        with pytest.raises(IdentityError) as error:
            validate_certno(certno)
        assert error.value.code == "invalid_certno"


@given(st.integers(0, 16), st.integers(1, 9))
def test_changing_any_one_digit_breaks_the_checksum(position: int, delta: int) -> None:
    digit = (int(STANDARD_EXAMPLE[position]) + delta) % 10
    changed = STANDARD_EXAMPLE[:position] + str(digit) + STANDARD_EXAMPLE[position + 1 :]
    with pytest.raises(IdentityError) as error:
        validate_certno(changed)
    # A digit inside the birth date may make the date impossible instead; both are refusals.
    assert error.value.code in ("certno_checksum", "invalid_certno")
    if not 6 <= position < 14:
        assert error.value.code == "certno_checksum"


@pytest.mark.parametrize(
    ("certno", "why"),
    [
        ("11010519491231002", "17 characters"),
        ("1101051949123100222", "19 characters"),
        ("11010519491231002Y", "Y is not a check character"),
        ("1101051949123100A2", "a letter inside the digits"),
        ("110105194913310029", "month 13"),
        ("110105180001010029", "born in 1800"),
        ("１１０１０５１９４９１２３１００２Ｘ", "full-width digits"),
    ],
)
def test_a_malformed_certno_is_refused_as_invalid(certno: str, why: str) -> None:
    with pytest.raises(IdentityError) as error:
        validate_certno(certno)
    assert error.value.code == "invalid_certno", why


def test_a_wrong_check_character_is_refused_as_a_checksum_error() -> None:
    with pytest.raises(IdentityError) as error:
        validate_certno("110105194912310021")
    assert error.value.code == "certno_checksum"
    assert "check character" in str(error.value)


def test_a_birth_date_after_today_is_refused_when_today_is_given() -> None:
    first17 = "11010520300101002"
    certno = first17 + certno_check_char(first17)
    assert validate_certno(certno) == certno
    with pytest.raises(IdentityError):
        validate_certno(certno, today=date(2026, 1, 1))


def test_age_counts_whole_years_to_the_birthday() -> None:
    assert age_on(STANDARD_EXAMPLE, date(2026, 12, 30)) == 76
    assert age_on(STANDARD_EXAMPLE, date(2026, 12, 31)) == 77


def test_masking_shows_only_the_ends_of_a_certno_and_a_phone() -> None:
    assert mask_certno(STANDARD_EXAMPLE) == "1101**********002X"
    assert mask_phone("13912345678") == "139****5678"


def test_names_match_across_full_width_forms_and_spacing_but_not_other_names() -> None:
    assert names_match("张 伟", "张伟")
    assert names_match("阿依古丽·买买提", "阿依古丽买买提")
    assert not names_match("张伟", "张玮")
    assert not names_match("", "")
