"""The contract between strategy rules, scoring and the simulator: what is known about a case.

`CaseFacts` is what a segmentation rule and a score may look at; it is built from the database for
live cases (strategy app) and from the synthetic population for the simulator, so the same rules and
score code run in both. `Treatment` is what a rule decides. Keep both plain and immutable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Treatment codes, cheapest first. The strategy assigns one per open case.
TREATMENTS = (
    "none",          # nothing this cycle (e.g. on hold, promise not yet due)
    "sms_reminder",  # an approved reminder SMS
    "robot_call",    # an automated voice reminder (机器人电催)
    "agent_call",    # a collector calls (人工电催)
    "visit",         # field visit (外访)
    "legal_review",  # handed to the lawyers for review (法诉审查)
)


@dataclass(frozen=True, slots=True)
class CaseFacts:
    case_id: int
    bucket: str                      # M1..M6, M6+ (portfolio.models.Bucket values)
    dpd: int
    balance: float                   # total due, yuan
    product: str = ""
    region: str = ""
    creditor_id: int = 0
    score: float | None = None       # propensity to pay in the next 30 days, 0..1; None = not scored yet
    flags: frozenset[str] = field(default_factory=frozenset)  # e.g. "hold", "lost_contact", "hardship", "dispute"
    open_promise: bool = False
    promise_due_in_days: int | None = None   # days until the open promise is due (negative = overdue)
    broken_promises_90d: int = 0
    kept_promises_90d: int = 0
    payments_90d: int = 0
    paid_amount_90d: float = 0.0
    contacts_30d: int = 0
    right_party_contacts_30d: int = 0
    days_since_contact: int | None = None    # None = never contacted
    days_since_assigned: int | None = None
    phones_valid: int = 0
    phones_total: int = 0
    refusals_90d: int = 0                    # right-party conversations coded "refuse_to_pay" (拒绝还款)


@dataclass(frozen=True, slots=True)
class Treatment:
    code: str          # one of TREATMENTS
    priority: int      # 0 = most urgent; queues sort ascending
    rule_id: str       # the rule that decided, for the run report and the case page
