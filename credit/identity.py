"""Chinese resident identity numbers (居民身份证号码) and masking of personal data.

An identity number (``certno``) has 18 characters: a 6-digit region code, the birth date as
``YYYYMMDD``, a 3-digit sequence and a check character computed with ISO 7064 MOD 11-2 over the
first 17 digits (``0``–``9`` or ``X`` for ten).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

CERTNO_LENGTH = 18
#: ISO 7064 MOD 11-2: the weight of position i (0-based, left to right) is 2**(17 - i) mod 11.
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
#: The check character for each value of (weighted sum mod 11).
_CHECK_CHARS = "10X98765432"
EARLIEST_BIRTH_YEAR = 1900
#: A resident ID number in any text: region, a birth date from 1800 on, sequence, check character.
ID_NUMBER_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    r"\d{3}[\dXx](?![0-9A-Za-z])"
)
#: A mainland mobile number in any text.
MOBILE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def looks_like_personal_number(text: str) -> bool:
    """Whether ``text`` holds what reads as a phone or an ID number (a log would mask it)."""
    return bool(MOBILE_IN_TEXT.search(text) or ID_NUMBER_IN_TEXT.search(text))


class IdentityError(ValueError):
    """An identity value that cannot be accepted; ``code`` is stable for clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def certno_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits of an identity number.

    Raises:
        IdentityError: ``invalid_certno`` when ``first17`` is not exactly 17 ASCII digits.
    """
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise IdentityError("invalid_certno", "the first 17 characters must be digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def birth_date_of(certno: str) -> date:
    """The birth date written in characters 7–14 of an identity number.

    Raises:
        IdentityError: ``invalid_certno`` when they are not a real calendar date from 1900 on.
    """
    text = certno[6:14]
    if len(text) != 8 or not (text.isascii() and text.isdigit()):
        raise IdentityError("invalid_certno", "characters 7-14 must be a birth date YYYYMMDD")
    try:
        born = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise IdentityError("invalid_certno", f"{text} is not a calendar date") from None
    if born.year < EARLIEST_BIRTH_YEAR:
        raise IdentityError("invalid_certno", f"birth year {born.year} is not plausible")
    return born


def validate_certno(certno: str, *, today: date | None = None) -> str:
    """Check an 18-character identity number and return it normalised (upper-case ``X``).

    Args:
        certno: the number as typed; surrounding spaces are ignored, a lower-case ``x`` accepted.
        today: when given, a birth date after it is refused too.

    Raises:
        IdentityError: ``invalid_certno`` (length, characters or birth date) or
            ``certno_checksum`` (the check character does not match).
    """
    value = certno.strip().upper()
    if len(value) != CERTNO_LENGTH:
        raise IdentityError("invalid_certno", f"an identity number has {CERTNO_LENGTH} characters")
    first17, check = value[:17], value[17]
    if not (first17.isascii() and first17.isdigit()) or check not in "0123456789X":
        raise IdentityError(
            "invalid_certno", "an identity number is 17 digits and a check digit or X"
        )
    born = birth_date_of(value)
    if today is not None and born > today:
        raise IdentityError("invalid_certno", "the birth date is in the future")
    if certno_check_char(first17) != check:
        raise IdentityError(
            "certno_checksum", "the check character of the identity number is wrong"
        )
    return value


def age_on(certno: str, today: date) -> int:
    """Whole years of age on ``today`` for a valid identity number."""
    born = birth_date_of(certno)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def mask_certno(certno: str) -> str:
    """``371402195803120013`` → ``3714**********0013``: first four and last four shown."""
    if len(certno) <= 8:
        return "*" * len(certno)
    return certno[:4] + "*" * (len(certno) - 8) + certno[-4:]


def mask_psn_no(psn_no: str) -> str:
    """``37140000000000000002`` → ``3714************0002``: a patient told apart in a log."""
    return mask_certno(psn_no)


def mask_phone(phone: str) -> str:
    """``13912345678`` → ``139****5678``: first three and last four shown."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def normalise_name(name: str) -> str:
    """A name compared as people mean it: Unicode NFKC, no spaces or middle dots."""
    folded = unicodedata.normalize("NFKC", name)
    return "".join(ch for ch in folded if not ch.isspace() and ch not in "·•.")


def names_match(given: str, on_record: str) -> bool:
    """Whether a typed name is the recorded one (full-width forms and spacing aside)."""
    return bool(normalise_name(given)) and normalise_name(given) == normalise_name(on_record)
