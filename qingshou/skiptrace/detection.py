"""Is a case lost-contact (失联)? Every phone of its people is invalid, marked wrong, or went unanswered
in its last SKIPTRACE_UNANSWERED_ATTEMPTS call attempts. Read-only; the actions place the flag.

Bulk by design: the nightly job assesses cases in chunks with three queries per chunk.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings

from qingshou.contact.models import CALL_CHANNELS, ContactAttempt
from qingshou.portfolio.models import Case, Phone, Verification
from qingshou.skiptrace.models import LostContact


@dataclass
class Assessment:
    lost: bool
    reason: str = ""
    tried: dict = field(default_factory=dict)


def _phone_dead(status, verification, recent: list[bool], n: int) -> tuple[bool, bool]:
    """(dead, by_invalid) for one phone: invalid/wrong, or its last n call attempts all unanswered."""
    if status == Phone.Status.INVALID or verification == Verification.WRONG:
        return True, True
    return len(recent) >= n and not any(recent[:n]), False


def assess_cases(case_ids, *, attempts: int | None = None) -> dict[int, Assessment]:
    n = attempts or settings.SKIPTRACE_UNANSWERED_ATTEMPTS
    debtor_of = dict(Case.objects.filter(pk__in=list(case_ids)).values_list("pk", "debtor_id"))
    phones_of: dict[int, list[tuple]] = defaultdict(list)
    for pk, debtor_id, status, verification in Phone.objects.filter(
            party__debtor_id__in=set(debtor_of.values())).values_list("pk", "party__debtor_id", "status",
                                                                      "verification"):
        phones_of[debtor_id].append((pk, status, verification))
    phone_ids = [p[0] for ps in phones_of.values() for p in ps]
    recent: dict[int, list[bool]] = defaultdict(list)  # phone id -> connected?, newest first (n at most)
    total: dict[int, int] = defaultdict(int)
    rows = (ContactAttempt.objects.filter(phone_id__in=phone_ids, channel__in=CALL_CHANNELS)
            .order_by("phone_id", "-started_at", "-id").values_list("phone_id", "outcome__connected"))
    for phone_id, connected in rows.iterator(chunk_size=5000):
        total[phone_id] += 1
        if len(recent[phone_id]) < n:
            recent[phone_id].append(bool(connected))
    out = {}
    for case_id, debtor_id in debtor_of.items():
        phones = phones_of.get(debtor_id, [])
        invalid = unanswered = 0
        for pk, status, verification in phones:
            dead, by_invalid = _phone_dead(status, verification, recent.get(pk, []), n)
            if dead:
                invalid += by_invalid
                unanswered += not by_invalid
        tried = {"phones": len(phones), "invalid": invalid, "unanswered": unanswered,
                 "attempts": sum(total.get(p[0], 0) for p in phones), "threshold": n}
        if not phones:
            out[case_id] = Assessment(True, LostContact.Reason.NO_PHONE, tried)
        elif invalid + unanswered == len(phones):
            reason = LostContact.Reason.ALL_INVALID if invalid == len(phones) else LostContact.Reason.UNANSWERED
            out[case_id] = Assessment(True, reason, tried)
        else:
            out[case_id] = Assessment(False, "", tried)
    return out
