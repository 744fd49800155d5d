"""The compliance hook: asked before any contact is made or logged.

`decide()` is a pure function over (request, history, policy): no database, no clock. The adapter
`check_contact()` loads the history it needs and calls it; `record_decision()` stores the answer as
evidence. The full engine (its own issue) replaces `decide()` and `Policy` behind these same names.

First cut, the house rules from the seeds:
- contact hours 08:00–22:00 Asia/Shanghai (letters excepted);
- at most 5 calls (agent or automated) per party per day;
- once a party says "stop contacting me today", no further contact with that party that day;
  when the debtor says it, no further contact on the debtor's file that day.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CALL_CHANNELS = ("call", "robot")
TIMED_CHANNELS = ("call", "robot", "sms", "visit")


@dataclass(frozen=True)
class ContactRequest:
    case_id: int
    party_id: int
    channel: str
    at: datetime
    party_is_debtor: bool = False
    phone_id: int | None = None
    requested_by_id: int | None = None
    purpose: str = "collect"


@dataclass(frozen=True)
class PastContact:
    party_id: int
    channel: str
    started_at: datetime
    party_is_debtor: bool = False
    phone_id: int | None = None
    connected: bool = False
    stop_today: bool = False


@dataclass(frozen=True)
class Policy:
    version: str = "house-2026.1"
    layer: str = "house"
    timezone: str = "Asia/Shanghai"
    hours_start: time = time(8, 0)
    hours_end: time = time(22, 0)
    max_calls_per_party_per_day: int = 5

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Reason:
    rule: str
    layer: str
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class Decision:
    allowed: bool
    policy_version: str
    reasons: tuple[Reason, ...] = field(default_factory=tuple)
    next_allowed_at: datetime | None = None

    def reasons_json(self) -> list[dict]:
        return [asdict(r) for r in self.reasons]


DEFAULT_POLICY = Policy()


def _day_start(policy: Policy, day: date) -> datetime:
    return datetime.combine(day, policy.hours_start, tzinfo=policy.tz)


def _violations(request: ContactRequest, history: list[PastContact], policy: Policy, at: datetime):
    """(reason, earliest time this rule would allow) for each rule that denies at `at`."""
    local = at.astimezone(policy.tz)
    today = local.date()
    tomorrow_start = _day_start(policy, today + timedelta(days=1))
    found: list[tuple[Reason, datetime]] = []

    if request.channel in TIMED_CHANNELS:
        t = local.time()
        if not (policy.hours_start <= t < policy.hours_end):
            nxt = _day_start(policy, today) if t < policy.hours_start else tomorrow_start
            found.append((
                Reason(
                    "contact_hours", policy.layer,
                    f"当前时间不在允许联系时段（{policy.hours_start:%H:%M}–{policy.hours_end:%H:%M}）",
                    f"Outside permitted contact hours ({policy.hours_start:%H:%M}–{policy.hours_end:%H:%M})",
                ),
                nxt,
            ))

    same_day = [h for h in history if h.started_at.astimezone(policy.tz).date() == today]

    if request.channel in CALL_CHANNELS:
        calls = sum(1 for h in same_day if h.party_id == request.party_id and h.channel in CALL_CHANNELS)
        cap = policy.max_calls_per_party_per_day
        if calls >= cap:
            found.append((
                Reason(
                    "daily_call_cap", policy.layer,
                    f"今日已对该联系人拨打 {calls} 次，已达每日上限 {cap} 次",
                    f"{calls} calls to this party today; the daily limit is {cap}",
                ),
                tomorrow_start,
            ))

    if request.channel != "letter":
        stop = [h for h in same_day if h.stop_today and (h.party_id == request.party_id or h.party_is_debtor)]
        if stop:
            by_debtor = any(h.party_is_debtor for h in stop)
            found.append((
                Reason(
                    "stop_today", policy.layer,
                    "债务人今日已要求停止联系，今日不得再联系" if by_debtor else "该联系人今日已要求停止联系",
                    "The debtor asked not to be contacted again today" if by_debtor
                    else "This party asked not to be contacted again today",
                ),
                tomorrow_start,
            ))
    return found


def decide(request: ContactRequest, history: list[PastContact], policy: Policy = DEFAULT_POLICY) -> Decision:
    """Allowed or denied, every rule that denied, and the earliest time the same contact is allowed."""
    found = _violations(request, history, policy, request.at)
    if not found:
        return Decision(allowed=True, policy_version=policy.version)
    reasons = tuple(r for r, _ in found)
    # Walk forward: each denying rule names the earliest time it would allow; re-check there.
    candidate = max(t for _, t in found)
    for _ in range(14):
        later = _violations(request, history, policy, candidate)
        if not later:
            break
        candidate = max(t for _, t in later)
    else:
        candidate = None
    return Decision(allowed=False, policy_version=policy.version, reasons=reasons, next_allowed_at=candidate)


# --- adapter: the only part that touches the database ----------------------------------------

def load_history(request: ContactRequest, policy: Policy = DEFAULT_POLICY) -> list[PastContact]:
    """Contacts with any party of the case's debtor on the request's local day."""
    from qingshou.contact.models import ContactAttempt
    from qingshou.portfolio.models import Case

    local_day = request.at.astimezone(policy.tz).date()
    start = datetime.combine(local_day, time(0, 0), tzinfo=policy.tz)
    end = start + timedelta(days=1)
    debtor_id = Case.objects.filter(pk=request.case_id).values_list("debtor_id", flat=True).first()
    rows = (
        ContactAttempt.objects.filter(party__debtor_id=debtor_id, started_at__gte=start, started_at__lt=end)
        .values_list("party_id", "channel", "started_at", "party__relation", "phone_id",
                     "outcome__connected", "outcome__stop_today")
    )
    return [
        PastContact(party_id=p, channel=c, started_at=s, party_is_debtor=(rel == "self"), phone_id=ph,
                    connected=conn, stop_today=stop)
        for p, c, s, rel, ph, conn, stop in rows
    ]


def check_contact(request: ContactRequest, policy: Policy = DEFAULT_POLICY) -> Decision:
    return decide(request, load_history(request, policy), policy)


def record_decision(request: ContactRequest, decision: Decision, *, acting_user):
    """Store the decision as evidence. Call inside the action's transaction."""
    from qingshou.compliance.models import ComplianceDecision

    return ComplianceDecision.objects.create(
        requested_by=acting_user,
        case_id=request.case_id,
        party_id=request.party_id,
        phone_id=request.phone_id,
        channel=request.channel,
        contact_at=request.at,
        allowed=decision.allowed,
        reasons=decision.reasons_json(),
        next_allowed_at=decision.next_allowed_at,
        policy_version=decision.policy_version,
    )
