"""The compliance engine's contract: plain, immutable data in and out. No Django, no database.

`engine.decide(request, context) -> Decision` is a pure function of these values. The adapter
(`compliance.adapter`) builds a `Context` from the database; the what-if runner builds one from a
scenario file; tests build them by hand. Field meanings are documented here once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

# Channels (same codes as contact.models.Channel)
CALL, SMS, LETTER, VISIT, ROBOT = "call", "sms", "letter", "visit", "robot"
CALL_CHANNELS = (CALL, ROBOT)

# Purposes of a contact
COLLECT = "collect"          # talk about the debt
LOCATE = "locate"            # third party: location information only (US 1006.10 / CN "转告回电")
CALLBACK = "callback"        # ask a third party to pass on a request to call back


@dataclass(frozen=True)
class ContactRequest:
    case_id: int
    party_id: int
    channel: str
    at: datetime                                  # aware datetime of the intended contact
    party_is_debtor: bool = False
    party_relation: str = ""                      # portfolio.models.Relation value ("self", "spouse", …)
    phone_id: int | None = None
    address_id: int | None = None
    purpose: str = COLLECT
    template_id: int | None = None                # SMS / letter template, voice script
    requested_by_id: int | None = None
    staff_count: int = 1                          # field visits: how many collectors go
    text: str = ""                                # outgoing text (SMS/letter body) for the content scanner
    institution_stated: bool = False              # CN: the collector confirms the opening states the institution


@dataclass(frozen=True)
class PastContact:
    """One earlier contact attempt with any party of the same debtor (any case, any agency)."""

    party_id: int
    channel: str
    started_at: datetime
    party_is_debtor: bool = False
    phone_id: int | None = None
    connected: bool = False                       # someone answered
    right_party: bool = False                     # a conversation with the debtor
    stop_today: bool = False                      # the party asked not to be contacted again today
    refused: bool = False                         # a third party refused to help / asked us to stop
    creditor_id: int | None = None
    agency: str = ""                              # "" = ours; other agencies' records for the creditor-wide CN cap
    case_id: int | None = None                    # the debt it was about (US 7-in-7 counts per debt); None = any
    reached_line: bool = True                     # the call reached the dialed number (rang / voicemail / answered);
    #                                               False for busy, not in service, network failure: Reg F
    #                                               1006.14(b)(3) excludes those from the 7-in-7 count


@dataclass(frozen=True)
class TimeWindow:
    """A daily window in the debtor's local time, optionally only on some weekdays (0=Mon)."""

    start: time
    end: time
    weekdays: tuple[int, ...] = ()
    on_date: date | None = None                   # one-off (e.g. "not today 14:00-16:00")


@dataclass(frozen=True)
class Template:
    id: int
    kind: str                                     # sms | letter | script
    approved: bool
    active: bool
    third_party_safe: bool
    creditor_id: int | None = None


@dataclass(frozen=True)
class CaseFacts:
    """What we know about the case and debtor that rules depend on."""

    holds: tuple[str, ...] = ()                   # active hold reasons: complaint, dispute, deceased, fraud,
    #                                               legal, attorney, recalled, closed, cease
    do_not_call_phone_ids: tuple[int, ...] = ()   # debtor asked: never this number
    do_not_contact_channels: tuple[str, ...] = ()  # debtor asked: not by this channel
    inconvenient: tuple[TimeWindow, ...] = ()     # debtor said these times are inconvenient
    agreed: tuple[TimeWindow, ...] = ()           # debtor agreed to contact at these times (even 22:00–08:00)
    invalid_phone_ids: tuple[int, ...] = ()
    debtor_phone_ids: tuple[int, ...] = ()        # all of the debtor's own numbers
    debtor_deceased_or_incapacitated: bool = False
    timezones: tuple[str, ...] = ()               # the debtor's plausible IANA zones (US: every plausible one)
    cease_communication: bool = False
    written_dispute_open: bool = False
    attorney_represented: bool = False
    institution_stated: bool = False              # CN: the institution was already stated at first contact
    third_parties_located: tuple[int, ...] = ()   # US: third parties already asked for location information


@dataclass(frozen=True)
class Calendar:
    """Dates the engine treats specially. Built by the adapter; a year it does not know is reported."""

    holidays: frozenset[date] = frozenset()       # statutory holidays (no contact where the policy says so)
    workdays: frozenset[date] = frozenset()       # adjusted working days (调休) that fall on weekends
    blackout: frozenset[date] = frozenset()       # creditor / agency blackout dates
    known_years: frozenset[int] = frozenset()


@dataclass(frozen=True)
class PolicyLayer:
    """One layer of policy: a preset, a creditor's contract, the house rules, or case-level facts.

    `params` maps rule parameters to values, e.g. {"hours": ["08:00", "22:00"], "max_calls_per_party_day": 5}.
    A rule missing from every layer is off. When several layers set the same parameter the strictest
    value wins (engine.merge_layers knows, per parameter, what "stricter" means).
    """

    kind: str                                     # preset | creditor | house | case
    name: str                                     # e.g. "cn", "us", "creditor:bank-a", "house"
    version: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    layers: tuple[PolicyLayer, ...]

    @property
    def version(self) -> str:
        return "+".join(f"{layer.name}@{layer.version}" for layer in self.layers)


@dataclass(frozen=True)
class Context:
    policy: Policy
    history: tuple[PastContact, ...] = ()
    facts: CaseFacts = CaseFacts()
    calendar: Calendar = Calendar()
    template: Template | None = None


@dataclass(frozen=True)
class Reason:
    rule: str                                     # stable rule id, e.g. "cn.hours", "us.7in7", "house.daily_calls"
    layer: str                                    # the layer whose parameter decided (PolicyLayer.name)
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class Decision:
    allowed: bool
    policy_version: str
    reasons: tuple[Reason, ...] = ()
    next_allowed_at: datetime | None = None       # None when denied with no time that would allow (e.g. a hold)

    def reasons_json(self) -> list[dict]:
        return [
            {"rule": r.rule, "layer": r.layer, "message_zh": r.message_zh, "message_en": r.message_en}
            for r in self.reasons
        ]
