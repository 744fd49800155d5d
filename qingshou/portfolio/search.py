"""Search by full phone or ID number: the numbers are encrypted, so the match goes through their keyed
hash (``Phone.number_hash``, ``Debtor.id_number_hash``); a partial number finds nothing, by design."""

from __future__ import annotations

import re

from django.db.models import Q

from qingshou.portfolio.models import Debtor, Phone

_JUNK = re.compile(r"[\s\-()（）.]")
_LOOKS_LIKE_NUMBER = re.compile(r"^\+?\d{6,20}[Xx]?$")


def number_candidates(value: str) -> list[str]:
    """The stored forms a typed phone or ID number may have (digits only, no +86, upper-case X)."""
    raw = _JUNK.sub("", value or "")
    if not _LOOKS_LIKE_NUMBER.match(raw):
        return []
    out = [raw.upper()]
    for prefix in ("+86", "0086"):
        if raw.startswith(prefix):
            out.append(raw[len(prefix):])
    return list(dict.fromkeys(out))


def cases_by_number_q(value: str) -> Q | None:
    """A Q on Case matching the debtor's ID number or any party's phone number, exactly; None if the
    value does not look like a number at all."""
    candidates = number_candidates(value)
    if not candidates:
        return None
    return Q(debtor_id__in=Debtor.objects.filter(id_number__in=candidates).values("pk")) | Q(
        debtor_id__in=Phone.objects.filter(number__in=candidates).values("party__debtor_id")
    )
