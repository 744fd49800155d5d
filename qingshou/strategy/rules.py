"""Segmentation rules as data: ordered rules, first match decides the treatment and priority.

Pure: no database access. The same code runs for live cases (strategy runs, incremental re-evaluation)
and for the simulator (`qingshou.simulation`), so a rule means exactly the same thing in both.

A rule is a dict::

    {"id": "promise-due", "label": "承诺到期", "when": {"promise_due_in_days_lte": 0},
     "treatment": "agent_call", "priority": 0}

`when` maps condition names to values; all conditions of a rule must hold (AND). A rule with an empty
`when` matches every case, and the last rule of a valid strategy must be such a catch-all, so every
case gets a treatment. Conditions on a fact that is unknown (score not computed, never contacted, no
open promise) do not hold, except `days_since_contact_never`.

Conditions (see CONDITIONS for the full table):
    bucket_in, product_in, region_in, creditor_in        list of values
    dpd_gte / dpd_lte, balance_gte / balance_lte, score_gte / score_lte
    flags_any / flags_none                                list of flags ("hold", "dispute", ...)
    open_promise                                          true / false
    promise_due_in_days_gte / _lte                        days until the open promise is due (<0 overdue)
    broken_promises_gte / _lte, kept_promises_gte / _lte  counts over 90 days
    payments_gte / _lte                                   payments over 90 days
    contacts_30d_gte / _lte, right_party_contacts_30d_gte / _lte
    days_since_contact_gte / _lte, days_since_contact_never (true: never contacted; false: contacted)
    days_since_assigned_gte / _lte
    phones_valid_gte / _lte
    refusals_gte / _lte                                   conversations coded 拒绝还款 over 90 days
"""

from __future__ import annotations

import re
from collections.abc import Callable
from numbers import Real

from django.utils.translation import gettext as _

from qingshou.strategy.facts import TREATMENTS, CaseFacts, Treatment

# condition name -> (kind, CaseFacts attribute). Kinds: "in" (list of strings), "gte"/"lte" (number on
# a possibly-None attribute), "any"/"none" (flags), "bool" (open_promise), "never" (attribute is None).
CONDITIONS: dict[str, tuple[str, str]] = {
    "bucket_in": ("in", "bucket"),
    "product_in": ("in", "product"),
    "region_in": ("in", "region"),
    "creditor_in": ("in_int", "creditor_id"),
    "dpd_gte": ("gte", "dpd"),
    "dpd_lte": ("lte", "dpd"),
    "balance_gte": ("gte", "balance"),
    "balance_lte": ("lte", "balance"),
    "score_gte": ("gte", "score"),
    "score_lte": ("lte", "score"),
    "flags_any": ("any", "flags"),
    "flags_none": ("none", "flags"),
    "open_promise": ("bool", "open_promise"),
    "promise_due_in_days_gte": ("gte", "promise_due_in_days"),
    "promise_due_in_days_lte": ("lte", "promise_due_in_days"),
    "broken_promises_gte": ("gte", "broken_promises_90d"),
    "broken_promises_lte": ("lte", "broken_promises_90d"),
    "kept_promises_gte": ("gte", "kept_promises_90d"),
    "kept_promises_lte": ("lte", "kept_promises_90d"),
    "payments_gte": ("gte", "payments_90d"),
    "payments_lte": ("lte", "payments_90d"),
    "contacts_30d_gte": ("gte", "contacts_30d"),
    "contacts_30d_lte": ("lte", "contacts_30d"),
    "right_party_contacts_30d_gte": ("gte", "right_party_contacts_30d"),
    "right_party_contacts_30d_lte": ("lte", "right_party_contacts_30d"),
    "days_since_contact_gte": ("gte", "days_since_contact"),
    "days_since_contact_lte": ("lte", "days_since_contact"),
    "days_since_contact_never": ("never", "days_since_contact"),
    "days_since_assigned_gte": ("gte", "days_since_assigned"),
    "days_since_assigned_lte": ("lte", "days_since_assigned"),
    "phones_valid_gte": ("gte", "phones_valid"),
    "phones_valid_lte": ("lte", "phones_valid"),
    "refusals_gte": ("gte", "refusals_90d"),
    "refusals_lte": ("lte", "refusals_90d"),
}

# Attributes that are never None in CaseFacts (no None guard needed in compiled code).
_NOT_NULL = {"dpd", "balance", "broken_promises_90d", "kept_promises_90d", "payments_90d", "contacts_30d",
             "right_party_contacts_30d", "phones_valid", "refusals_90d"}

_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
def condition_label(name: str) -> str:
    """A condition in words (translated), e.g. dpd_gte -> "逾期天数 ≥"; the code name itself if unknown."""
    spec = CONDITIONS.get(name)
    if spec is None:
        return name
    kind, attr = spec
    labels = {
        "bucket": _("bucket"), "product": _("product"), "region": _("region"), "creditor_id": _("creditor"),
        "dpd": _("days past due"), "balance": _("balance"), "score": _("score"), "flags": _("case flags"),
        "open_promise": _("has an open promise"), "promise_due_in_days": _("days until the promise is due"),
        "broken_promises_90d": _("broken promises (90 days)"), "kept_promises_90d": _("kept promises (90 days)"),
        "payments_90d": _("payments (90 days)"), "contacts_30d": _("contacts (30 days)"),
        "right_party_contacts_30d": _("right-party contacts (30 days)"),
        "days_since_contact": _("days since last contact"), "days_since_assigned": _("days since assignment"),
        "phones_valid": _("valid phones"), "refusals_90d": _("refusals to pay (90 days)"),
    }
    field = labels.get(attr, attr)
    if kind == "never":
        return _("never contacted")
    if kind == "bool":
        return field
    op = {"gte": "≥", "lte": "≤", "in": _("is one of"), "in_int": _("is one of"), "any": _("include any of"),
          "none": _("include none of")}[kind]
    return f"{field} {op}"


RULE_KEYS = {"id", "label", "when", "treatment", "priority"}
MAX_PRIORITY = 99

# The production strategy shipped with the system (seeded as version 1). Order matters: first match wins.
# Priorities: 0 promises due, 1 first call overdue (seed 000), 3 all other phone work. A promise broken in the
# last 3 days is already at the top of the work queue (strategy.queue); after that it competes on value. The segments of
# priority 3 differ in treatment and in the report, not in urgency: within a priority the queue orders by the
# expected money of the next call (propensity.score.value_matrix), which the simulator showed to recover far more
# than fixed tiers by score and balance (README, "Propensity model and simulator").
DEFAULT_RULES: list[dict] = [
    {"id": "hold", "label": "暂停催收（冻结/投诉/争议）", "when": {"flags_any": ["hold"]},
     "treatment": "none", "priority": 9},
    {"id": "promise-due", "label": "承诺到期或逾期未还", "when": {"promise_due_in_days_lte": 0},
     "treatment": "agent_call", "priority": 0},
    {"id": "promise-pending", "label": "承诺未到期，等待履约", "when": {"open_promise": True},
     "treatment": "none", "priority": 8},
    {"id": "broken-promise", "label": "近期违约（跳票）",
     "when": {"broken_promises_gte": 1, "days_since_contact_gte": 1}, "treatment": "agent_call", "priority": 3},
    {"id": "first-call-overdue", "label": "首催超期（分案2天未联系）",
     "when": {"days_since_contact_never": True, "days_since_assigned_gte": 2},
     "treatment": "agent_call", "priority": 1},
    {"id": "legal", "label": "长账龄大额转法诉审查", "when": {"dpd_gte": 360, "balance_gte": 50000},
     "treatment": "legal_review", "priority": 4},
    {"id": "lost-contact-visit", "label": "失联大额外访", "when": {"flags_any": ["lost_contact"], "balance_gte": 20000},
     "treatment": "visit", "priority": 3},
    {"id": "high-value", "label": "高意愿大额优先人工", "when": {"score_gte": 0.5, "balance_gte": 10000},
     "treatment": "agent_call", "priority": 3},
    {"id": "high-score", "label": "高意愿人工跟进", "when": {"score_gte": 0.35},
     "treatment": "agent_call", "priority": 3},
    {"id": "large-balance", "label": "大额人工跟进", "when": {"balance_gte": 20000},
     "treatment": "agent_call", "priority": 3},
    {"id": "low-small-sms", "label": "低意愿小额短信提醒", "when": {"score_lte": 0.15, "balance_lte": 3000},
     "treatment": "sms_reminder", "priority": 3},
    {"id": "early-robot", "label": "早期账龄机器人提醒", "when": {"bucket_in": ["M1"], "balance_lte": 10000},
     "treatment": "robot_call", "priority": 3},
    {"id": "default", "label": "其他：人工常规跟进", "when": {},
     "treatment": "agent_call", "priority": 3},
]


def _is_number(v) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool)


def _check_value(kind: str, name: str, value) -> str | None:
    if kind in ("in", "any", "none"):
        if not isinstance(value, list) or not value or not all(isinstance(x, str) and x for x in value):
            return _("condition “%(name)s” needs a non-empty list of texts") % {"name": name}
    elif kind == "in_int":
        if not isinstance(value, list) or not value or not all(isinstance(x, int) and not isinstance(x, bool)
                                                                for x in value):
            return _("condition “%(name)s” needs a non-empty list of numbers") % {"name": name}
    elif kind in ("gte", "lte"):
        if not _is_number(value):
            return _("condition “%(name)s” needs a number") % {"name": name}
        if name.startswith("score_") and not 0 <= value <= 1:
            return _("condition “%(name)s” must be between 0 and 1") % {"name": name}
    elif kind in ("bool", "never"):
        if not isinstance(value, bool):
            return _("condition “%(name)s” needs true or false") % {"name": name}
    return None


def validate_rules(rules: list[dict]) -> list[str]:
    """Human-readable problems (translated), [] if the rules are usable. Each names the rule by position."""
    if not isinstance(rules, list):
        return [_("The rules must be a list.")]
    if not rules:
        return [_("At least one rule is needed.")]
    problems: list[str] = []
    seen: set[str] = set()
    for i, rule in enumerate(rules, start=1):
        if not isinstance(rule, dict):
            problems.append(_("Rule %(n)s: must be an object with id, when, treatment, priority.") % {"n": i})
            continue
        rid = rule.get("id")
        where = _("Rule %(n)s (%(id)s)") % {"n": i, "id": rid} if isinstance(rid, str) and rid else \
            _("Rule %(n)s") % {"n": i}
        for key in sorted(set(rule) - RULE_KEYS):
            problems.append(_("%(where)s: unknown field “%(key)s”.") % {"where": where, "key": key})
        if not isinstance(rid, str) or not rid.strip():
            problems.append(_("%(where)s: an id is required.") % {"where": where})
        elif not _ID_RE.fullmatch(rid):
            problems.append(_("%(where)s: the id may only use letters, digits, “-” and “_” (at most 64).") % {
                "where": where})
        elif rid in seen:
            problems.append(_("%(where)s: the id “%(id)s” is used twice.") % {"where": where, "id": rid})
        else:
            seen.add(rid)
        if "label" in rule and not isinstance(rule["label"], str):
            problems.append(_("%(where)s: the label must be text.") % {"where": where})
        if rule.get("treatment") not in TREATMENTS:
            problems.append(_("%(where)s: unknown treatment “%(t)s”; use one of %(all)s.") % {
                "where": where, "t": rule.get("treatment"), "all": ", ".join(TREATMENTS)})
        prio = rule.get("priority")
        if not isinstance(prio, int) or isinstance(prio, bool) or not 0 <= prio <= MAX_PRIORITY:
            problems.append(_("%(where)s: the priority must be a whole number from 0 to %(max)s.") % {
                "where": where, "max": MAX_PRIORITY})
        when = rule.get("when", {})
        if not isinstance(when, dict):
            problems.append(_("%(where)s: “when” must be an object of conditions.") % {"where": where})
            continue
        for name, value in when.items():
            spec = CONDITIONS.get(name)
            if spec is None:
                problems.append(_("%(where)s: unknown condition “%(name)s”.") % {"where": where, "name": name})
                continue
            msg = _check_value(spec[0], name, value)
            if msg:
                problems.append(f"{where}: {msg}")
        for lo, hi in (("dpd_gte", "dpd_lte"), ("balance_gte", "balance_lte"), ("score_gte", "score_lte"),
                       ("days_since_contact_gte", "days_since_contact_lte"),
                       ("days_since_assigned_gte", "days_since_assigned_lte"),
                       ("promise_due_in_days_gte", "promise_due_in_days_lte")):
            a, b = when.get(lo), when.get(hi)
            if _is_number(a) and _is_number(b) and a > b:
                problems.append(_("%(where)s: “%(lo)s” is larger than “%(hi)s”, nothing can match.") % {
                    "where": where, "lo": lo, "hi": hi})
    last = rules[-1]
    if isinstance(last, dict) and last.get("when"):
        problems.append(_("The last rule must have no conditions, so that every case gets a treatment."))
    return problems


def _condition_source(name: str, value, consts: dict) -> str:
    kind, attr = CONDITIONS[name]
    ref = f"f.{attr}"
    if kind in ("in", "in_int"):
        key = f"c{len(consts)}"
        consts[key] = frozenset(value)
        return f"{ref} in {key}"
    if kind == "any":
        key = f"c{len(consts)}"
        consts[key] = frozenset(value)
        return f"not {key}.isdisjoint({ref})"
    if kind == "none":
        key = f"c{len(consts)}"
        consts[key] = frozenset(value)
        return f"{key}.isdisjoint({ref})"
    if kind == "bool":
        return ref if value else f"not {ref}"
    if kind == "never":
        return f"{ref} is None" if value else f"{ref} is not None"
    op = ">=" if kind == "gte" else "<="
    test = f"{ref} {op} {float(value)!r}"
    return test if attr in _NOT_NULL else f"({ref} is not None and {test})"


def compile_rules(rules: list[dict]) -> Callable[[CaseFacts], Treatment]:
    """Compile the rules into one fast function CaseFacts -> Treatment (first matching rule wins).

    Raises ValueError when the rules are not valid. Values are never pasted into source code as text:
    sets live in the function's namespace and numbers are rendered with repr(float(...)).
    """
    problems = validate_rules(rules)
    if problems:
        raise ValueError("; ".join(problems))
    consts: dict = {}
    lines = ["def decide(f):"]
    for i, rule in enumerate(rules):
        key = f"t{i}"
        consts[key] = Treatment(code=rule["treatment"], priority=rule["priority"], rule_id=rule["id"])
        tests = [_condition_source(name, value, consts) for name, value in rule.get("when", {}).items()]
        if tests:
            lines.append(f"    if {' and '.join(tests)}:")
            lines.append(f"        return {key}")
        else:
            lines.append(f"    return {key}")
            break
    namespace = dict(consts)
    exec(compile("\n".join(lines), "<strategy rules>", "exec"), namespace)  # noqa: S102 - generated, validated
    return namespace["decide"]


def evaluate(rules: list[dict], facts: CaseFacts) -> Treatment:
    """Evaluate one case (compiles each time; use compile_rules for many cases)."""
    return compile_rules(rules)(facts)
