"""Chinese resident ID numbers (居民身份证号码), GB 11643-1999.

An 18-character number is: 6-digit administrative region code, 8-digit birth date (YYYYMMDD),
3-digit sequence (odd for men, even for women), and a check character computed with ISO 7064
MOD 11-2 over the first 17 digits (``0``-``9`` or ``X`` for 10). The legacy 15-digit form (issued
before 1999) has a 2-digit year and no check character; it is upgraded by inserting ``19`` before
the year and appending the check character.

Pure functions, no database. Used by the demo data generator and, later, by case intake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext_lazy as _

# Weights 2^(17-i) mod 11 for positions 1..17.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# Check character for (weighted sum mod 11) = 0..10.
CHECK_CHARS = "10X98765432"

_RE_18 = re.compile(r"^\d{17}[\dX]$")
_RE_15 = re.compile(r"^\d{15}$")
_RE_BODY = re.compile(r"^\d{17}$")
EARLIEST_BIRTH = date(1850, 1, 1)  # generous: the standard's own example was born in 1880


class InvalidIdNumber(ValueError):
    """The value is not a valid resident ID number; ``str(exc)`` says why (translated)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return str(self.message)


@dataclass(frozen=True)
class IdNumberInfo:
    number: str  # the normalised 18-character form
    region_code: str
    birth_date: date
    sequence: str
    gender: str  # "M" or "F", the same letters as Debtor.Gender


def compute_check_digit(body: str) -> str:
    """The check character for the first 17 digits."""
    if not _RE_BODY.match(body or ""):
        raise InvalidIdNumber(_("The first 17 characters of an ID number must be digits."))
    total = sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def _clean(value: str) -> str:
    return (value or "").strip().replace(" ", "").upper()


def _birth_date(digits8: str, *, today: date | None) -> date:
    try:
        born = date(int(digits8[:4]), int(digits8[4:6]), int(digits8[6:8]))
    except ValueError:
        raise InvalidIdNumber(_("The ID number contains an impossible birth date.")) from None
    if born < EARLIEST_BIRTH or born > (today or date.today()):
        raise InvalidIdNumber(_("The ID number contains an impossible birth date."))
    return born


def upgrade_15(value: str) -> str:
    """The 18-character form of a legacy 15-digit number (born 19YY)."""
    v = _clean(value)
    if not _RE_15.match(v):
        raise InvalidIdNumber(_("A legacy ID number has exactly 15 digits."))
    body = v[:6] + "19" + v[6:]
    return body + compute_check_digit(body)


def normalize(value: str, *, today: date | None = None) -> str:
    """Validate an ID number and return its 18-character form (upper-case X).

    Accepts the 18-character form and the legacy 15-digit form (which is upgraded). Raises
    InvalidIdNumber with a reason for anything else: wrong length or characters, an impossible
    birth date, or a wrong check character.
    """
    v = _clean(value)
    if _RE_15.match(v):
        v = upgrade_15(v)
    elif not _RE_18.match(v):
        raise InvalidIdNumber(_("An ID number has 18 characters: 17 digits and a digit or X."))
    _birth_date(v[6:14], today=today)
    if compute_check_digit(v[:17]) != v[17]:
        raise InvalidIdNumber(_("The check digit of the ID number is wrong."))
    return v


def is_valid(value: str, *, today: date | None = None) -> bool:
    """True for a valid 18-character number (the legacy 15-digit form is not accepted here)."""
    v = _clean(value)
    if not _RE_18.match(v):
        return False
    try:
        normalize(v, today=today)
    except InvalidIdNumber:
        return False
    return True


def validate(value: str, *, today: date | None = None) -> str:
    """Alias of normalize(), for callers that read better with a verb."""
    return normalize(value, today=today)


def parse(value: str, *, today: date | None = None) -> IdNumberInfo:
    """Region, birth date, sequence and gender of a valid number (15- or 18-character)."""
    v = normalize(value, today=today)
    return IdNumberInfo(
        number=v,
        region_code=v[:6],
        birth_date=_birth_date(v[6:14], today=today),
        sequence=v[14:17],
        gender="M" if int(v[16]) % 2 else "F",
    )


def make(region_code: str, birth_date: date, sequence: int) -> str:
    """Build a valid 18-character number. ``sequence`` is 0..999; its parity sets the gender."""
    if not re.match(r"^\d{6}$", region_code or ""):
        raise InvalidIdNumber(_("A region code has 6 digits."))
    if not 0 <= sequence <= 999:
        raise InvalidIdNumber(_("The sequence of an ID number is between 000 and 999."))
    body = f"{region_code}{birth_date:%Y%m%d}{sequence:03d}"
    return body + compute_check_digit(body)
