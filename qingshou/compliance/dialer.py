"""Dialer services: the feed of numbers callable now, and the batch check. Both store their decisions.

Feed (`do_dialer_feed`): walks the user's own work queue (strategy.queue.work_queue: assigned to
them, active, not on hold, in priority order) and proposes, per case, the debtor's numbers first and
then third parties' numbers (purpose: callback under CN, locate under US), skipping numbers marked
invalid. Every candidate is put to the engine; at most ONE number per case is returned (a dialer
must not ring two of a debtor's numbers at once), the first one the engine allows now.

Full numbers. A dialer has to dial, so the feed returns the full number. Rule:
* only users with the capability "dialer.feed" (collectors and team leaders: the people who make
  calls) may call the feed, and only for their own queue;
* at most 100 numbers per call;
* every feed call writes ONE audit row "dialer.feed" listing the case and phone ids returned (never
  the numbers), and an allowed ComplianceDecision per returned number (the evidence that the
  number was lawful to call when handed out). Refused candidates are not stored: a dialer polls
  often, and storing each poll's refusals would flood the refusal figures with duplicates.
The batch check returns ids and decisions only, never numbers.

CN "state the institution at first contact": the dialer says whether its call flow opens with the
institution (`institution_stated`, an approved announcement or script); without it a debtor with no
conversation on file yet is not callable (rule cn.institution).

Batch check (`do_dialer_check`): up to 1,000 (case, party, phone, channel) items, each decided and
stored (one bulk INSERT); items outside the user's workable cases, or whose party/phone is not in
the case, come back as "not_found" without a decision. All contexts are loaded by one
ContextLoader: one history query for all debtors, not one per item.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from qingshou.compliance.hook import check_contacts, record_decisions
from qingshou.compliance.types import CALLBACK, COLLECT, LOCATE, ContactRequest, Decision
from qingshou.core.audit import audit

FEED_CHUNK = 50           # cases looked at per round
FEED_MAX_CASES = 2000     # stop looking after this many cases of the queue


def _third_party_purpose(jurisdiction: str) -> str:
    return LOCATE if jurisdiction == "us" else CALLBACK


def _feed_candidates(case_rows, phones_by_debtor, user, at, institution_stated) -> list[ContactRequest]:
    out = []
    for case_id, debtor_id, jurisdiction in case_rows:
        for phone_id, party_id, relation in phones_by_debtor.get(debtor_id, ()):
            is_debtor = relation == "self"
            out.append(ContactRequest(
                case_id=case_id, party_id=party_id, phone_id=phone_id, channel="call", at=at,
                party_is_debtor=is_debtor, party_relation=relation,
                purpose=COLLECT if is_debtor else _third_party_purpose(jurisdiction),
                requested_by_id=user.pk, institution_stated=institution_stated,
            ))
    return out


@transaction.atomic(durable=True)
def do_dialer_feed(user, *, limit: int, at: datetime | None = None,
                   institution_stated: bool = False) -> tuple[list[dict], int]:
    """([{case_id, party_id, phone_id, relation, is_debtor, number, policy_version}], candidates checked)."""
    from qingshou.portfolio.models import Phone
    from qingshou.strategy.queue import work_queue

    at = at or timezone.now()
    queue = work_queue(user).values_list("pk", "debtor_id", "creditor__jurisdiction")
    chosen: list[tuple[ContactRequest, Decision]] = []
    numbers: dict[int, str] = {}
    checked = 0
    offset = 0
    while len(chosen) < limit and offset < FEED_MAX_CASES:
        rows = list(queue[offset: offset + FEED_CHUNK])
        offset += FEED_CHUNK
        if not rows:
            break
        phones_by_debtor: dict[int, list[tuple[int, int, str]]] = {}
        for pk, party_id, relation, debtor_id, number in (
            Phone.objects.filter(party__debtor_id__in={r[1] for r in rows})
            .exclude(status=Phone.Status.INVALID)
            .order_by("party_id", "pk")
            .values_list("pk", "party_id", "party__relation", "party__debtor_id", "number")
        ):
            phones_by_debtor.setdefault(debtor_id, []).append((pk, party_id, relation))
            numbers[pk] = number
        for lst in phones_by_debtor.values():
            lst.sort(key=lambda p: (p[2] != "self", p[1], p[0]))   # the debtor's own numbers first
        requests = _feed_candidates(rows, phones_by_debtor, user, at, institution_stated)
        checked += len(requests)
        done_cases: set[int] = set()
        for request, decision in zip(requests, check_contacts(requests), strict=True):
            if decision.allowed and request.case_id not in done_cases:
                done_cases.add(request.case_id)
                chosen.append((request, decision))
                if len(chosen) >= limit:
                    break
    record_decisions(chosen, acting_user=user)
    items = [
        {
            "case_id": r.case_id, "party_id": r.party_id, "phone_id": r.phone_id, "relation": r.party_relation,
            "is_debtor": r.party_is_debtor, "number": numbers[r.phone_id], "policy_version": d.policy_version,
        }
        for r, d in chosen
    ]
    audit("dialer.feed", actor=user, count=len(items), checked=checked,
          phone_ids=[i["phone_id"] for i in items], case_ids=[i["case_id"] for i in items])
    return items, checked


@transaction.atomic(durable=True)
def do_dialer_check(user, items: list[dict], *, at: datetime | None = None,
                    institution_stated: bool = False) -> list[dict]:
    """Decide and store each {case_id, party_id, phone_id, channel}; see the module docstring."""
    from qingshou.core.scoping import workable_cases
    from qingshou.portfolio.models import Phone

    at = at or timezone.now()
    case_ids = {i["case_id"] for i in items}
    cases = {
        pk: (debtor_id, jurisdiction)
        for pk, debtor_id, jurisdiction in workable_cases(user).filter(pk__in=case_ids)
        .values_list("pk", "debtor_id", "creditor__jurisdiction")
    }
    phones = {
        pk: (party_id, debtor_id, relation)
        for pk, party_id, debtor_id, relation in Phone.objects.filter(pk__in={i["phone_id"] for i in items})
        .values_list("pk", "party_id", "party__debtor_id", "party__relation")
    }
    requests: list[ContactRequest] = []
    slots: list[int | None] = []
    for item in items:
        case = cases.get(item["case_id"])
        phone = phones.get(item["phone_id"])
        if case is None or phone is None or phone[0] != item["party_id"] or phone[1] != case[0]:
            slots.append(None)
            continue
        is_debtor = phone[2] == "self"
        slots.append(len(requests))
        requests.append(ContactRequest(
            case_id=item["case_id"], party_id=item["party_id"], phone_id=item["phone_id"],
            channel=item.get("channel") or "call", at=at, party_is_debtor=is_debtor, party_relation=phone[2],
            purpose=COLLECT if is_debtor else _third_party_purpose(case[1]), requested_by_id=user.pk,
            institution_stated=institution_stated,
        ))
    decisions = check_contacts(requests) if requests else []
    stored = record_decisions(list(zip(requests, decisions, strict=True)), acting_user=user)
    out = []
    for item, slot in zip(items, slots, strict=True):
        base = {"case_id": item["case_id"], "party_id": item["party_id"], "phone_id": item["phone_id"],
                "channel": item.get("channel") or "call"}
        if slot is None:
            out.append({**base, "allowed": False, "reasons": [], "next_allowed_at": None, "decision_id": None,
                        "error": "not_found"})
            continue
        d = decisions[slot]
        out.append({**base, "allowed": d.allowed, "reasons": d.reasons_json(), "next_allowed_at": d.next_allowed_at,
                    "decision_id": stored[slot], "error": "", "policy_version": d.policy_version})
    audit("dialer.check", actor=user, count=len(items), checked=len(requests),
          allowed=sum(1 for d in decisions if d.allowed))
    return out
