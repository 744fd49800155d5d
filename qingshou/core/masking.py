"""Masking of phone numbers and ID numbers. Masked is the default everywhere."""

import re

_DIGITS = re.compile(r"\D")


def mask_phone(number: str | None) -> str:
    """138****5678 for mobiles; keep area code and last 4 for other numbers."""
    if not number:
        return ""
    raw = number.strip()
    digits = _DIGITS.sub("", raw)
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 7:
        return f"{digits[:3]}{'*' * (len(digits) - 7)}****{digits[-4:]}"[: len(digits)]
    if len(digits) > 2:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "*" * len(digits)


def mask_id_number(value: str | None) -> str:
    """110101********1234 for 18-digit numbers; 6 + stars + 4 for the legacy 15-digit form."""
    if not value:
        return ""
    v = value.strip()
    if len(v) <= 10:
        return "*" * max(0, len(v) - 2) + v[-2:]
    return f"{v[:6]}{'*' * (len(v) - 10)}{v[-4:]}"


def mask_name(name: str | None) -> str:
    """张* / 欧阳** : surname kept, given name hidden (used where a third party is listed)."""
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1)
