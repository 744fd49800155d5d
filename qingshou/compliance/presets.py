"""Policy presets as data: the CN and US jurisdiction presets and the agency's house rules.

A policy is a stack of `PolicyLayer`s (preset, creditor contract, house rules, case facts).
`engine.merge_layers()` folds them into one set of effective parameters: for every parameter the
STRICTEST value of any layer wins, and the engine reports which layer decided it. A parameter no
layer sets is off (the rule does not run). Values are plain JSON/YAML types so that layers can be
stored in the database and edited by the compliance officer.

Rule ids. A layered rule is reported as "<origin>.<rule>", where <origin> is the deciding layer's
name for presets ("cn", "us") and the layer kind otherwise ("house", "creditor", "case"); when layers
tie, the earliest layer in the stack decides. Examples: "cn.hours", "us.hours", "house.daily_calls",
"us.7in7.attempts". Three families have a fixed prefix whatever the layer: "hold.<reason>",
"template.<problem>" and "content.<category>". docs/compliance.md has the full catalogue.

Parameters
==========

=================================  ===============  ==========================  ==================================
parameter                          type             stricter means              meaning (rule suffix)
=================================  ===============  ==========================  ==================================
hours                              ["HH:MM","HH:MM"] intersection (later start, Permitted daily contact window in the
                                                    earlier end)                debtor's local time, end exclusive
                                                                                (``hours``).
hours_channels                     list[str]        union                       Channels the hours / calendar /
                                                                                inconvenient-time rules apply to.
agreed_overrides_hours             bool             and (False wins)            A time the debtor agreed to
                                                                                (CaseFacts.agreed) is allowed even
                                                                                outside ``hours``.
timezones                          list[str]        union                       IANA zones assumed when the case
                                                                                knows none (CaseFacts.timezones
                                                                                empty). Time rules must pass in
                                                                                EVERY plausible zone.
holidays_blocked                   bool             or                          No timed contact on statutory
                                                                                holidays (Calendar.holidays)
                                                                                (``holiday``).
weekends_blocked                   bool             or                          No timed contact on Sat/Sun unless
                                                                                an adjusted working day
                                                                                (Calendar.workdays) (``weekend``).
blackout_blocked                   bool             or                          No timed contact on creditor /
                                                                                agency blackout dates
                                                                                (Calendar.blackout) (``blackout``).
inconvenient_blocked               bool             or                          No timed contact in a window the
                                                                                debtor said is inconvenient
                                                                                (CaseFacts.inconvenient)
                                                                                (``inconvenient``).
max_unanswered_per_number_day      int              min                         Unanswered call/robot attempts to
                                                                                one phone number per local day,
                                                                                all parties, all agencies
                                                                                (``unanswered_per_number``).
max_debtor_conversations_day       int              min                         Connected conversations with the
                                                                                debtor (call + robot) per local day
                                                                                (``debtor_conversations``).
conversations_all_agencies         bool             or                          Count the debtor conversations of
                                                                                every agency of the creditor
                                                                                (PastContact.agency), not only ours.
max_calls_per_party_day            int              min                         Calls (call + robot) by us to one
                                                                                party per local day
                                                                                (``daily_calls``).
stop_today                         bool             or                          After a party asked "stop today",
                                                                                no further non-letter contact with
                                                                                that party that day; when the debtor
                                                                                asked, none on the debtor's file
                                                                                (``stop_today``).
third_party_requires_unreachable   bool             or                          Third parties only when the debtor
                                                                                is unreachable: all debtor numbers
                                                                                invalid, the last N contacts with
                                                                                the debtor failed, or the debtor is
                                                                                deceased / incapacitated
                                                                                (``third_party.unreachable``).
unreachable_failed_contacts        int              max                         N above: consecutive failed
                                                                                contacts that make the debtor
                                                                                unreachable.
third_party_purposes               list[str]        intersection                Purposes allowed with a third party
                                                                                (collect / locate / callback); no
                                                                                debt talk unless "collect" is in
                                                                                every layer (``third_party.purpose``).
third_party_safe_only              bool             or                          Third parties only get templates /
                                                                                scripts marked third-party safe
                                                                                (``template.not_third_party_safe``).
stop_after_refusal                 bool             or                          No further contact with a third
                                                                                party that refused / asked us to
                                                                                stop (``third_party.refused``).
third_party_once                   bool             or                          A third party is asked for location
                                                                                information only once
                                                                                (CaseFacts.third_parties_located)
                                                                                (``third_party.once``).
state_institution                  bool             or                          The first contact with the debtor
                                                                                must state the institution: allowed
                                                                                when CaseFacts.institution_stated,
                                                                                or the request confirms it
                                                                                (ContactRequest.institution_stated),
                                                                                or it uses an approved template /
                                                                                script (which opens with it)
                                                                                (``institution``).
min_visit_staff                    int              max                         Collectors required on a field
                                                                                visit (``visit_staff``).
max_call_attempts_7d               int              min                         Reg F 1006.14(b)(2)(i)(A): calls we
                                                                                place to one person about one debt
                                                                                within 7 consecutive days; calls
                                                                                that did not reach the line
                                                                                (PastContact.reached_line False) do
                                                                                not count (``7in7.attempts``).
after_conversation_days            int              max                         Reg F 1006.14(b)(2)(i)(B): no call
                                                                                to a person about a debt within N
                                                                                days after a telephone conversation
                                                                                with them, the conversation day
                                                                                being day 1
                                                                                (``7in7.after_conversation``).
cease_communication                bool             or                          Honour a cease-communication
                                                                                request (CaseFacts) (``cease``).
dispute_pauses                     bool             or                          An open written dispute pauses
                                                                                collection (purpose "collect")
                                                                                until verification (``dispute``).
attorney_routes                    bool             or                          A debtor represented by an attorney
                                                                                is contacted only through the
                                                                                attorney (``attorney``).
do_not_call                        bool             or                          Honour the debtor's do-not-call
                                                                                numbers and do-not-contact channels
                                                                                (``do_not_call`` / ``do_not_contact``).
approved_templates_only            bool             or                          SMS and letters need a creditor-
                                                                                approved, active template
                                                                                (``template.missing`` /
                                                                                ``template.not_approved`` /
                                                                                ``template.inactive``).
holds_block                        list[str]        union                       Case hold reasons that stop all
                                                                                outbound contact (``hold.<reason>``).
content_scan                       list[str]        union                       Content-scanner categories that
                                                                                block outgoing text
                                                                                (``content.<category>``).
=================================  ===============  ==========================  ==================================

Decisions about the seeds' open points:
- Statutory holidays: the CN guideline itself does not forbid contact on holidays, so the CN preset
  sets ``holidays_blocked: false``; DESIGN §3 ("not on statutory holidays") is a house rule, on in
  the house layer. A policy with both gets the stricter: blocked.
- "State the institution at first contact" cannot be seen in a request for a future call, so the
  rule requires evidence: the case fact that it was stated, the collector's confirmation on the
  request (first-call checklist), or an approved script/template (scripts open with it).
- Holds stop all outbound contact on the case, third parties included. The CN "debtor deceased"
  route to third parties uses CaseFacts.debtor_deceased_or_incapacitated (e.g. heirs after the
  deceased hold was reviewed and released).
"""

from __future__ import annotations

from qingshou.compliance.types import PolicyLayer

TIMED_CHANNELS = ["call", "robot", "sms", "visit"]
ALL_HOLDS = ["complaint", "dispute", "deceased", "fraud", "legal", "attorney", "recalled", "closed", "cease",
             "other"]
US_ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
            "America/Anchorage", "Pacific/Honolulu"]

CN = PolicyLayer(
    kind="preset",
    name="cn",
    version="2026.1",
    params={
        # 《金融机构个人消费类贷款催收工作指引（试行）》(2026), GB/T 45251-2025
        "hours": ["08:00", "22:00"],
        "hours_channels": TIMED_CHANNELS,
        "agreed_overrides_hours": True,
        "timezones": ["Asia/Shanghai"],
        "holidays_blocked": False,
        "max_unanswered_per_number_day": 6,
        "max_debtor_conversations_day": 3,
        "conversations_all_agencies": True,
        "third_party_requires_unreachable": True,
        "unreachable_failed_contacts": 3,
        "third_party_purposes": ["callback", "locate"],
        "third_party_safe_only": True,
        "stop_after_refusal": True,
        "state_institution": True,
        "min_visit_staff": 2,
        "holds_block": ALL_HOLDS,
        "content_scan": ["threat", "insult", "impersonation", "fake_legal", "push_to_borrow",
                         "third_party_disclosure"],
    },
)

US = PolicyLayer(
    kind="preset",
    name="us",
    version="2026.1",
    params={
        # FDCPA 15 U.S.C. 1692c; Regulation F 12 CFR 1006.6, 1006.10, 1006.14
        "hours": ["08:00", "21:00"],
        "hours_channels": TIMED_CHANNELS,
        "agreed_overrides_hours": True,
        "timezones": US_ZONES,
        "inconvenient_blocked": True,
        "max_call_attempts_7d": 7,
        "after_conversation_days": 7,
        "third_party_purposes": ["locate"],
        "third_party_once": True,
        "cease_communication": True,
        "dispute_pauses": True,
        "attorney_routes": True,
        "holds_block": ALL_HOLDS,
        "content_scan": ["threat", "insult", "impersonation", "fake_legal", "third_party_disclosure"],
    },
)

HOUSE = PolicyLayer(
    kind="house",
    name="house",
    version="2026.1",
    params={
        # Seeds 003 / 004 and DESIGN §3
        "hours": ["08:00", "22:00"],
        "hours_channels": TIMED_CHANNELS,
        "agreed_overrides_hours": True,
        "holidays_blocked": True,
        "blackout_blocked": True,
        "inconvenient_blocked": True,
        "max_calls_per_party_day": 5,
        "stop_today": True,
        "stop_after_refusal": True,
        "do_not_call": True,
        "approved_templates_only": True,
        "third_party_safe_only": True,
        "holds_block": ALL_HOLDS,
        "content_scan": ["threat", "insult", "impersonation", "fake_legal", "push_to_borrow",
                         "third_party_disclosure"],
    },
)

PRESETS: dict[str, PolicyLayer] = {"cn": CN, "us": US, "house": HOUSE}

# Machine-readable form of the table above: parameter -> (value type, how layers merge).
# Merge kinds: "min" / "max" (numbers), "or" / "and" (booleans), "window" (intersection of two
# "HH:MM" bounds), "union" / "intersection" (lists, compared as sets).
PARAMETERS: dict[str, tuple[str, str]] = {
    "hours": ("window", "window"),
    "hours_channels": ("list", "union"),
    "agreed_overrides_hours": ("bool", "and"),
    "timezones": ("list", "union"),
    "holidays_blocked": ("bool", "or"),
    "weekends_blocked": ("bool", "or"),
    "blackout_blocked": ("bool", "or"),
    "inconvenient_blocked": ("bool", "or"),
    "max_unanswered_per_number_day": ("int", "min"),
    "max_debtor_conversations_day": ("int", "min"),
    "conversations_all_agencies": ("bool", "or"),
    "max_calls_per_party_day": ("int", "min"),
    "stop_today": ("bool", "or"),
    "third_party_requires_unreachable": ("bool", "or"),
    "unreachable_failed_contacts": ("int", "max"),
    "third_party_purposes": ("list", "intersection"),
    "third_party_safe_only": ("bool", "or"),
    "stop_after_refusal": ("bool", "or"),
    "third_party_once": ("bool", "or"),
    "state_institution": ("bool", "or"),
    "min_visit_staff": ("int", "max"),
    "max_call_attempts_7d": ("int", "min"),
    "after_conversation_days": ("int", "max"),
    "cease_communication": ("bool", "or"),
    "dispute_pauses": ("bool", "or"),
    "attorney_routes": ("bool", "or"),
    "do_not_call": ("bool", "or"),
    "approved_templates_only": ("bool", "or"),
    "holds_block": ("list", "union"),
    "content_scan": ("list", "union"),
}
