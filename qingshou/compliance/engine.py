"""The compliance engine: one pure function from (request, context) to a Decision.

    from qingshou.compliance.engine import decide
    decision = decide(request, Context(policy=Policy(layers=(PRESETS["cn"], PRESETS["house"])), ...))

No database, no clock: everything comes in through `ContactRequest` and `Context` (types.py).

* `merge_layers(layers)` folds the policy layers into effective parameters, the strictest value of
  any layer winning per parameter (presets.PARAMETERS says what "stricter" means), and remembers
  which layer decided each one. A "case" layer can only add restrictions: it cannot switch on
  `agreed_overrides_hours` (agreed times come from CaseFacts.agreed and are honoured only when the
  other layers allow it).
* `decide(request, context)` runs every rule and returns all the rules that deny (each a `Reason`
  with a stable rule id, the deciding layer and a message in Chinese and English) and
  `next_allowed_at`: the earliest time the same request would be allowed. Each time-dependent rule
  proposes the earliest time it could allow (a lower bound); the engine jumps to the latest of those
  and re-checks every rule, until all pass or 30 days are exhausted (then None). Rules no time can
  fix (holds, cease, templates, content, third-party conditions) give None at once.

Rule ids: "<origin>.<rule>" for layered rules, origin = the preset's name ("cn", "us") or the layer
kind ("house", "creditor", "case"), e.g. "cn.hours", "us.7in7.attempts", "house.stop_today";
fixed families "hold.<reason>", "template.<problem>", "content.<category>". `RULES` lists them all.

Performance: the merged and compiled policy is cached per Policy object (and per structural key,
so a Policy rebuilt from the same data reuses it); the history is walked once per decision into
per-day counters keyed by the local day's ordinal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from qingshou.compliance.presets import PARAMETERS
from qingshou.compliance.types import (
    CALL_CHANNELS,
    COLLECT,
    LETTER,
    SMS,
    VISIT,
    ContactRequest,
    Context,
    Decision,
    Policy,
    PolicyLayer,
    Reason,
    TimeWindow,
)

HORIZON = timedelta(days=30)
DEFAULT_TIMEZONE = "Asia/Shanghai"   # when neither the case facts nor any layer names a zone
MAX_STEPS = 200
_CALLS = frozenset(CALL_CHANNELS)
_WRITTEN = frozenset((SMS, LETTER))
_WEEKEND = (5, 6)
ATTORNEY = "attorney"   # a party with this relation is the debtor's attorney: not a third party (1692c(b))

# ---------------------------------------------------------------------------------------------
# Rule catalogue: suffix -> (parameter, message zh, message en). Messages are str.format templates.
# ---------------------------------------------------------------------------------------------

RULES: dict[str, tuple[str, str, str]] = {
    "hours": ("hours", "不在允许联系时段（当地时间 {start}–{end}）",
              "Outside the permitted contact hours ({start}–{end} local time)"),
    "holiday": ("holidays_blocked", "法定节假日不得联系", "No contact on a statutory holiday"),
    "weekend": ("weekends_blocked", "周末不得联系", "No contact at weekends"),
    "blackout": ("blackout_blocked", "该日为委托方/机构设定的禁止联系日",
                 "A blackout date set by the creditor or agency"),
    "inconvenient": ("inconvenient_blocked", "债务人表示该时段不方便接听",
                     "The debtor said this time is inconvenient"),
    "unanswered_per_number": ("max_unanswered_per_number_day", "该号码今日未接通拨打已达 {cap} 次上限",
                              "{cap} unanswered dial attempts to this number today (the daily limit)"),
    "debtor_conversations": ("max_debtor_conversations_day",
                             "今日与债务人接通通话已达 {cap} 次上限（含机器人外呼，跨机构合计）",
                             "{cap} connected conversations with the debtor today (the daily limit, "
                             "automated calls and all agencies included)"),
    "daily_calls": ("max_calls_per_party_day", "今日已对该联系人拨打 {count} 次，已达每日上限 {cap} 次",
                    "{count} calls to this party today; the daily limit is {cap}"),
    "stop_today": ("stop_today", "{who}今日已要求停止联系，今日不得再联系",
                   "{who_en} asked not to be contacted again today"),
    "third_party.unreachable": ("third_party_requires_unreachable",
                                "仅在无法联系债务人本人时方可联系第三方"
                                "（号码无效、连续 {n} 次联系失败或本人身故/丧失行为能力）",
                                "Third parties only when the debtor is unreachable (numbers invalid, {n} "
                                "consecutive failed contacts, or deceased/incapacitated)"),
    "third_party.purpose": ("third_party_purposes", "对第三方仅可请其转告回电或核实联系方式，不得谈及债务",
                            "With a third party only: {allowed}; no talk about the debt"),
    "third_party.refused": ("stop_after_refusal", "该第三方已拒绝协助或要求停止联系",
                            "This third party refused to help or asked us to stop"),
    "third_party.once": ("third_party_once", "已向该第三方询问过位置信息，不得再次联系",
                         "This third party was already asked for location information"),
    "institution": ("state_institution", "首次联系须表明机构身份（勾选已表明或使用已审核话术）",
                    "The first contact must state the institution (confirm it, or use an approved script)"),
    "visit_staff": ("min_visit_staff", "外访须至少 {cap} 名催收员同行",
                    "A field visit needs at least {cap} collectors"),
    "7in7.attempts": ("max_call_attempts_7d", "7 日内已就该债务对此人拨打 {count} 次，已达上限 {cap} 次",
                      "{count} calls to this person about this debt within 7 consecutive days (limit {cap})"),
    "7in7.after_conversation": ("after_conversation_days", "与此人通话后 {n} 日内不得再次致电（通话当日为第 1 日）",
                                "No call within {n} days after a telephone conversation with this person "
                                "(the conversation day is day 1)"),
    "cease": ("cease_communication", "债务人已要求停止沟通", "The consumer asked us to cease communication"),
    "dispute": ("dispute_pauses", "书面争议待核实，暂停催收",
                "A written dispute is open: collection paused until verification"),
    "attorney": ("attorney_routes", "债务人已委托律师，须联系其律师",
                 "The debtor is represented by an attorney: contact the attorney"),
    "do_not_call": ("do_not_call", "债务人已要求不再拨打该号码",
                    "The debtor asked not to be called on this number"),
    "do_not_contact": ("do_not_call", "债务人已要求不通过该渠道联系",
                       "The debtor asked not to be contacted by this channel"),
}
FIXED_RULES: dict[str, tuple[str, str, str]] = {
    "hold": ("holds_block", "案件处于暂停状态（{reason}），停止一切外呼联系",
             "The case is on hold ({reason}): no contact"),
    "template.missing": ("approved_templates_only", "短信/信函须使用已审核的模板",
                         "SMS and letters need an approved template"),
    "template.not_approved": ("approved_templates_only", "模板未经委托方审核",
                              "The template is not approved by the creditor"),
    "template.inactive": ("approved_templates_only", "模板已停用", "The template is not active"),
    "template.not_third_party_safe": ("third_party_safe_only", "对第三方只能使用标记为可用于第三方的模板/话术",
                                      "Third parties only get templates and scripts marked safe for third parties"),
    "content": ("content_scan", "内容含违规用语（{category}）：{phrases}",
                "Prohibited content ({category}): {phrases}"),
}
HOLD_NAMES = {
    "complaint": ("投诉", "complaint"),
    "dispute": ("争议", "dispute"),
    "deceased": ("身故", "deceased"),
    "fraud": ("疑似欺诈", "suspected fraud"),
    "legal": ("法律程序", "legal action"),
    "attorney": ("律师代理", "attorney"),
    "recalled": ("已撤案", "recalled"),
    "closed": ("已结案", "closed"),
    "cease": ("停止沟通", "cease communication"),
    "other": ("其他", "other"),
}
CONTENT_NAMES = {
    "threat": ("威胁恐吓", "threat"),
    "insult": ("侮辱谩骂", "insult"),
    "impersonation": ("冒充公检法/政府/律师/委托方", "impersonation"),
    "fake_legal": ("虚假法律后果", "false legal claim"),
    "push_to_borrow": ("诱导借贷还款", "pushing to borrow"),
    "third_party_disclosure": ("向第三方透露债务", "debt disclosure"),
}
PURPOSE_NAMES = {"collect": "collect", "locate": "location information", "callback": "request to call back"}


def all_rule_ids(policy: Policy) -> list[str]:
    """The rule ids a policy can produce (for screens and docs)."""
    m = compile_policy(policy)
    ids = [m.rule_id(p) for p in RULES if m.params.get(RULES[p][0]) not in (None, False)]
    ids += [f"hold.{h}" for h in sorted(m.params.get("holds_block", ()))]
    ids += [f"content.{c}" for c in sorted(m.params.get("content_scan", ()))]
    if m.params.get("approved_templates_only"):
        ids += ["template.missing", "template.not_approved", "template.inactive"]
    if m.params.get("third_party_safe_only"):
        ids.append("template.not_third_party_safe")
    return ids


# ---------------------------------------------------------------------------------------------
# Merging layers
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Merged:
    """Effective parameters and, per parameter, the layer that decided it.

    `params` holds normalised values (window -> (time, time), list -> frozenset, int, bool).
    `decided_by[param]` is the deciding PolicyLayer; for set parameters also
    `decided_by["param:element"]`; for "hours" also "hours.start" / "hours.end".
    """

    params: dict[str, Any]
    decided_by: dict[str, PolicyLayer]

    def layer_name(self, key: str) -> str:
        layer = self.decided_by.get(key)
        return layer.name if layer else ""


def _parse_time(value) -> time:
    if isinstance(value, time):
        return value
    hh, mm = str(value).split(":")[:2]
    return time(int(hh), int(mm))


def _normalise(name: str, kind: str, value):
    if kind == "window":
        start, end = value
        return (_parse_time(start), _parse_time(end))
    if kind == "list":
        if isinstance(value, str):
            value = [value]
        return frozenset(str(v) for v in value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        return bool(value)
    raise ValueError(name)  # pragma: no cover


def merge_layers(layers) -> Merged:
    """Strictest wins per parameter; unknown parameters raise ValueError; None means "not set"."""
    params: dict[str, Any] = {}
    decided: dict[str, PolicyLayer] = {}
    for layer in layers:
        for name, raw in layer.params.items():
            if name not in PARAMETERS:
                raise ValueError(f"unknown policy parameter {name!r} in layer {layer.name!r}")
            if raw is None:
                continue
            kind, merge = PARAMETERS[name]
            value = _normalise(name, kind, raw)
            if merge == "and" and layer.kind == "case" and value:
                continue                                   # a case layer cannot relax
            if name not in params:
                params[name] = value
                decided[name] = layer
                if merge == "window":
                    decided["hours.start"] = decided["hours.end"] = layer
                elif merge in ("union", "intersection"):
                    for el in value:
                        decided[f"{name}:{el}"] = layer
                continue
            old = params[name]
            if merge == "min":
                if value < old:
                    params[name], decided[name] = value, layer
            elif merge == "max":
                if value > old:
                    params[name], decided[name] = value, layer
            elif merge == "or":
                if value and not old:
                    params[name], decided[name] = True, layer
            elif merge == "and":
                if not value and old:
                    params[name], decided[name] = False, layer
            elif merge == "window":
                start, end = old
                if value[0] > start:
                    start, decided["hours.start"] = value[0], layer
                if value[1] < end:
                    end, decided["hours.end"] = value[1], layer
                params[name] = (start, end)
            elif merge == "union":
                for el in value - old:
                    decided[f"{name}:{el}"] = layer
                params[name] = old | value
            elif merge == "intersection":
                removed = old - value
                if removed:
                    decided[name] = layer
                    for el in removed:
                        decided[f"{name}:-{el}"] = layer
                params[name] = old & value
    return Merged(params, decided)


# ---------------------------------------------------------------------------------------------
# Compiled policy (cached)
# ---------------------------------------------------------------------------------------------

def _origin(layer: PolicyLayer | None) -> str:
    if layer is None:
        return "policy"
    return layer.name if layer.kind == "preset" else layer.kind


class Compiled:
    """A merged policy in the shape the rules want, built once per policy."""

    def __init__(self, policy: Policy):
        merged = merge_layers(policy.layers)
        self.merged = merged
        self.params = p = merged.params
        self.version = policy.version
        hours = p.get("hours")
        self.hours = hours
        self.hours_channels = p.get("hours_channels", frozenset())
        self.agreed_override = p.get("agreed_overrides_hours", False)
        zones = sorted(p.get("timezones", ()))
        # Keep the declared order of the first layer that listed zones for the primary zone.
        for layer in policy.layers:
            tz = layer.params.get("timezones")
            if tz:
                first = tz[0] if not isinstance(tz, str) else tz
                zones = [first] + [z for z in zones if z != first]
                break
        self.default_zones = tuple(_zone(z) for z in zones) or (_zone(DEFAULT_TIMEZONE),)
        self.holidays = p.get("holidays_blocked", False)
        self.weekends = p.get("weekends_blocked", False)
        self.blackout = p.get("blackout_blocked", False)
        self.inconvenient = p.get("inconvenient_blocked", False)
        self.cap_unanswered = p.get("max_unanswered_per_number_day")
        self.cap_conversations = p.get("max_debtor_conversations_day")
        self.conv_all_agencies = p.get("conversations_all_agencies", False)
        self.cap_party_day = p.get("max_calls_per_party_day")
        self.stop_today = p.get("stop_today", False)
        self.tp_unreachable = p.get("third_party_requires_unreachable", False)
        self.unreachable_n = p.get("unreachable_failed_contacts", 3)
        self.tp_purposes = p.get("third_party_purposes")
        self.tp_safe = p.get("third_party_safe_only", False)
        self.tp_refusal = p.get("stop_after_refusal", False)
        self.tp_once = p.get("third_party_once", False)
        self.institution = p.get("state_institution", False)
        self.visit_staff = p.get("min_visit_staff")
        self.cap_7d = p.get("max_call_attempts_7d")
        self.quiet_days = p.get("after_conversation_days")
        self.cease = p.get("cease_communication", False)
        self.dispute = p.get("dispute_pauses", False)
        self.attorney = p.get("attorney_routes", False)
        self.dnc = p.get("do_not_call", False)
        self.approved_only = p.get("approved_templates_only", False)
        self.holds = p.get("holds_block", frozenset())
        self.content = p.get("content_scan", frozenset())
        self.needs_history = bool(
            self.cap_unanswered is not None or self.cap_conversations is not None or self.cap_party_day is not None
            or self.stop_today or self.tp_unreachable or self.tp_refusal or self.cap_7d is not None
            or self.quiet_days is not None)
        self._ids: dict[str, tuple[str, str]] = {}
        for suffix, (param, _zh, _en) in RULES.items():
            key = param
            layer = merged.decided_by.get(key)
            self._ids[suffix] = (f"{_origin(layer)}.{suffix}", layer.name if layer else "")
        for suffix in ("hours.start", "hours.end"):
            layer = merged.decided_by.get(suffix)
            self._ids[suffix] = (f"{_origin(layer)}.hours", layer.name if layer else "")

    def rule_id(self, suffix: str) -> str:
        return self._ids[suffix][0]

    def reason(self, suffix: str, **fmt) -> Reason:
        rule, layer = self._ids[suffix]
        key = suffix.split(".")[0] if suffix.startswith("hours.") else suffix
        _param, zh, en = RULES[key]
        return Reason(rule, layer, zh.format(**fmt), en.format(**fmt))

    def fixed(self, rule: str, family: str, layer_key: str, **fmt) -> Reason:
        _param, zh, en = FIXED_RULES[family]
        return Reason(rule, self.merged.layer_name(layer_key), zh.format(**fmt), en.format(**fmt))


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


_by_identity: dict[int, tuple[Policy, Compiled]] = {}
_by_structure: dict[tuple, Compiled] = {}


def _freeze(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(_freeze(v) for v in value)
    return value


def compile_policy(policy: Policy) -> Compiled:
    """The compiled form of a policy, cached by identity and by content."""
    hit = _by_identity.get(id(policy))
    if hit is not None and hit[0] is policy:
        return hit[1]
    key = tuple((layer.kind, layer.name, layer.version, _freeze(layer.params)) for layer in policy.layers)
    compiled = _by_structure.get(key)
    if compiled is None:
        if len(_by_structure) > 256:
            _by_structure.clear()
        compiled = _by_structure[key] = Compiled(policy)
    if len(_by_identity) > 256:
        _by_identity.clear()
    _by_identity[id(policy)] = (policy, compiled)
    return compiled


# ---------------------------------------------------------------------------------------------
# Per-decision preparation: the history walked once
# ---------------------------------------------------------------------------------------------

class _Prepared:
    __slots__ = ("zone", "zones", "party_calls", "unanswered", "conversations", "stop_party", "stop_debtor",
                 "refused", "attempts_7d", "conv_7d", "debtor_failed_streak")

    def __init__(self, req: ContactRequest, ctx: Context, c: Compiled):
        facts = ctx.facts
        self.zones = tuple(_zone(z) for z in facts.timezones) if facts.timezones else c.default_zones
        self.zone = zone = self.zones[0]
        self.party_calls: dict[int, int] = {}
        self.unanswered: dict[int, int] = {}
        self.conversations: dict[int, int] = {}
        self.stop_party: set[int] = set()
        self.stop_debtor: set[int] = set()
        self.refused = False
        self.attempts_7d: list[int] = []
        self.conv_7d: list[tuple[int, datetime]] = []
        self.debtor_failed_streak = 0
        if not c.needs_history or not ctx.history:
            return
        party = req.party_id
        phone = req.phone_id
        case = req.case_id
        is_debtor = req.party_is_debtor
        count_party = c.cap_party_day is not None
        count_unanswered = c.cap_unanswered is not None and phone is not None
        count_conv = c.cap_conversations is not None and is_debtor
        all_agencies = c.conv_all_agencies
        want_stop = c.stop_today
        want_7d = c.cap_7d is not None or c.quiet_days is not None
        want_streak = c.tp_unreachable and not is_debtor and req.party_relation != ATTORNEY
        debtor_seq: list[tuple[datetime, bool]] = []
        lookback = max(8, (c.quiet_days or 0) + 1)
        since = req.at.astimezone(zone).toordinal() - lookback
        # A cheap pre-filter one day wider than `since`; comparing with a UTC datetime is fast for the
        # UTC datetimes the database returns.
        since_utc = (req.at - timedelta(days=lookback + 2)).astimezone(UTC)
        for h in ctx.history:
            call = h.channel in _CALLS
            same_party = h.party_id == party
            if not (call or h.stop_today or h.refused or h.party_is_debtor or same_party):
                continue
            started = h.started_at
            if same_party and h.refused:
                self.refused = True
            if want_streak and h.party_is_debtor and (call or h.channel == VISIT):
                debtor_seq.append((started, h.connected and h.right_party))
            if started < since_utc:
                continue
            day = started.astimezone(zone).toordinal()
            if day < since:
                continue
            ours = not h.agency
            if call:
                if count_party and same_party and ours:
                    self.party_calls[day] = self.party_calls.get(day, 0) + 1
                if count_unanswered and h.phone_id == phone and not h.connected:
                    self.unanswered[day] = self.unanswered.get(day, 0) + 1
                if count_conv and h.party_is_debtor and h.connected and h.right_party and (ours or all_agencies):
                    self.conversations[day] = self.conversations.get(day, 0) + 1
                if want_7d and same_party and ours and (h.case_id is None or h.case_id == case):
                    if h.reached_line:
                        self.attempts_7d.append(day)
                    if h.connected and (h.right_party or not h.party_is_debtor):
                        self.conv_7d.append((day, started))
            if want_stop and h.stop_today:
                if h.party_is_debtor:
                    self.stop_debtor.add(day)
                if same_party:
                    self.stop_party.add(day)
        if want_streak and debtor_seq:
            debtor_seq.sort(key=lambda x: x[0])
            streak = 0
            for started, ok in debtor_seq:
                if started > req.at:
                    break
                streak = 0 if ok else streak + 1
            self.debtor_failed_streak = streak
        if self.attempts_7d:
            self.attempts_7d.sort()


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------

def _static_reasons(req: ContactRequest, ctx: Context, c: Compiled, prep: _Prepared) -> list[Reason]:
    """Rules that no waiting can satisfy: each denial means next_allowed_at is None."""
    out: list[Reason] = []
    facts = ctx.facts
    if c.holds and facts.holds:
        for h in facts.holds:
            if h in c.holds:
                zh, en = HOLD_NAMES.get(h, (h, h))
                out.append(Reason(f"hold.{h}", c.merged.layer_name(f"holds_block:{h}"),
                                  FIXED_RULES["hold"][1].format(reason=zh), FIXED_RULES["hold"][2].format(reason=en)))
    if c.cease and facts.cease_communication:
        out.append(c.reason("cease"))
    if c.dispute and facts.written_dispute_open and req.purpose == COLLECT:
        out.append(c.reason("dispute"))
    if c.attorney and facts.attorney_represented and req.party_is_debtor:
        out.append(c.reason("attorney"))
    if c.dnc:
        if req.phone_id is not None and req.phone_id in facts.do_not_call_phone_ids:
            out.append(c.reason("do_not_call"))
        if req.channel in facts.do_not_contact_channels:
            out.append(c.reason("do_not_contact"))
    template = ctx.template
    if req.template_id is not None and template is not None and template.id != req.template_id:
        template = None
    if not req.party_is_debtor and req.party_relation != ATTORNEY:
        if c.tp_purposes is not None and req.purpose not in c.tp_purposes:
            allowed = ", ".join(PURPOSE_NAMES.get(p, p) for p in sorted(c.tp_purposes)) or "nothing"
            out.append(c.reason("third_party.purpose", allowed=allowed))
        if c.tp_once and req.party_id in facts.third_parties_located:
            out.append(c.reason("third_party.once"))
        if c.tp_refusal and prep.refused:
            out.append(c.reason("third_party.refused"))
        if c.tp_unreachable and not _debtor_unreachable(facts, c, prep):
            out.append(c.reason("third_party.unreachable", n=c.unreachable_n))
        if c.tp_safe:
            if template is not None:
                unsafe = not template.third_party_safe
            else:
                unsafe = req.channel in _WRITTEN or req.template_id is not None
            if unsafe:
                out.append(c.fixed("template.not_third_party_safe", "template.not_third_party_safe",
                                   "third_party_safe_only"))
    if c.approved_only and req.channel in _WRITTEN:
        if template is None:
            out.append(c.fixed("template.missing", "template.missing", "approved_templates_only"))
        else:
            if not template.approved:
                out.append(c.fixed("template.not_approved", "template.not_approved", "approved_templates_only"))
            if not template.active:
                out.append(c.fixed("template.inactive", "template.inactive", "approved_templates_only"))
    if c.content and req.text:
        from qingshou.compliance.scanner import scan

        audience = "debtor" if req.party_is_debtor else "third_party"
        found: dict[str, list[str]] = {}
        for hit in scan(req.text, audience=audience):
            if hit.category in c.content:
                found.setdefault(hit.category, []).append(hit.phrase)
        for category, phrases in found.items():
            zh, en = CONTENT_NAMES.get(category, (category, category))
            listed = "、".join(dict.fromkeys(phrases))
            out.append(Reason(f"content.{category}", c.merged.layer_name(f"content_scan:{category}"),
                              FIXED_RULES["content"][1].format(category=zh, phrases=listed),
                              FIXED_RULES["content"][2].format(category=en, phrases=", ".join(dict.fromkeys(phrases)))))
    if (c.institution and req.party_is_debtor and not facts.institution_stated and not req.institution_stated
            and req.template_id is None and req.channel != LETTER):
        out.append(c.reason("institution"))
    if c.visit_staff is not None and req.channel == VISIT and req.staff_count < c.visit_staff:
        out.append(c.reason("visit_staff", cap=c.visit_staff))
    return out


def _debtor_unreachable(facts, c: Compiled, prep: _Prepared) -> bool:
    if facts.debtor_deceased_or_incapacitated:
        return True
    if facts.debtor_phone_ids and all(p in facts.invalid_phone_ids for p in facts.debtor_phone_ids):
        return True
    return prep.debtor_failed_streak >= c.unreachable_n


def _midnight(day_ordinal: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(date.fromordinal(day_ordinal), time(0), tzinfo=zone)


def _in_window(t: time, start: time, end: time) -> bool:
    if start < end:
        return start <= t < end
    return t >= start or t < end                          # wraps midnight


def _window_applies(w: TimeWindow, d: date) -> bool:
    if w.on_date is not None and w.on_date != d:
        return False
    return not (w.weekdays and d.weekday() not in w.weekdays)


def _next_window_start(local: datetime, windows, zone: ZoneInfo) -> datetime | None:
    """Earliest start of any of `windows` at or after `local` (within a week)."""
    best = None
    d0 = local.date()
    for offset in range(8):
        d = d0 + timedelta(days=offset)
        for w in windows:
            if not _window_applies(w, d):
                continue
            s = datetime.combine(d, w.start, tzinfo=zone)
            if s >= local and (best is None or s < best):
                best = s
        if best is not None:
            return best
    return best


def _timed_reasons(req: ContactRequest, ctx: Context, c: Compiled, prep: _Prepared, at: datetime,
                   want_reasons: bool) -> list[tuple[Reason | None, datetime | None]]:
    """Rules that depend on the time: (reason, earliest time this rule could allow)."""
    out: list[tuple[Reason | None, datetime | None]] = []
    zone = prep.zone
    local = at.astimezone(zone)
    today = local.toordinal()
    channel = req.channel
    facts = ctx.facts

    if channel in c.hours_channels:
        ld = local.date()
        # Calendar days (primary zone)
        cal = ctx.calendar
        if c.holidays and ld in cal.holidays:
            out.append((c.reason("holiday") if want_reasons else None, _midnight(today + 1, zone)))
        if c.weekends and ld.weekday() in _WEEKEND and ld not in cal.workdays:
            out.append((c.reason("weekend") if want_reasons else None, _midnight(today + 1, zone)))
        if c.blackout and ld in cal.blackout:
            out.append((c.reason("blackout") if want_reasons else None, _midnight(today + 1, zone)))
        # Hours, in every plausible zone
        if c.hours is not None:
            start, end = c.hours
            agreed = c.agreed_override and facts.agreed
            in_agreed = agreed and any(
                _window_applies(w, ld) and _in_window(local.time(), w.start, w.end) for w in facts.agreed)
            if not in_agreed:
                failing_start = failing_end = False
                candidate = None
                if start >= end:                           # empty intersection: never
                    out.append((c.reason("hours.start", start=f"{start:%H:%M}", end=f"{end:%H:%M}")
                                if want_reasons else None, None))
                else:
                    for z in prep.zones:
                        lz = local if z is zone else at.astimezone(z)
                        t = lz.time()
                        if start <= t < end:
                            continue
                        if t < start:
                            failing_start = True
                            nxt = datetime.combine(lz.date(), start, tzinfo=z)
                        else:
                            failing_end = True
                            nxt = datetime.combine(lz.date() + timedelta(days=1), start, tzinfo=z)
                        if candidate is None or nxt > candidate:
                            candidate = nxt
                    if candidate is not None:
                        if agreed:
                            alt = _next_window_start(local, facts.agreed, zone)
                            if alt is not None and alt < candidate:
                                candidate = alt
                        key = "hours.start" if failing_start and not failing_end else "hours.end"
                        out.append((c.reason(key, start=f"{start:%H:%M}", end=f"{end:%H:%M}")
                                    if want_reasons else None, candidate))
        if c.inconvenient and facts.inconvenient:
            t = local.time()
            for w in facts.inconvenient:
                if _window_applies(w, ld) and _in_window(t, w.start, w.end):
                    end_day = ld if (w.start < w.end or t < w.end) else ld + timedelta(days=1)
                    out.append((c.reason("inconvenient") if want_reasons else None,
                                datetime.combine(end_day, w.end, tzinfo=zone)))
                    break

    if channel in _CALLS:
        if c.cap_unanswered is not None and req.phone_id is not None:
            n = prep.unanswered.get(today, 0)
            if n >= c.cap_unanswered:
                out.append((c.reason("unanswered_per_number", cap=c.cap_unanswered) if want_reasons else None,
                            _midnight(today + 1, zone)))
        if c.cap_conversations is not None and req.party_is_debtor:
            n = prep.conversations.get(today, 0)
            if n >= c.cap_conversations:
                out.append((c.reason("debtor_conversations", cap=c.cap_conversations) if want_reasons else None,
                            _midnight(today + 1, zone)))
        if c.cap_party_day is not None:
            n = prep.party_calls.get(today, 0)
            if n >= c.cap_party_day:
                out.append((c.reason("daily_calls", count=n, cap=c.cap_party_day) if want_reasons else None,
                            _midnight(today + 1, zone)))
        if c.cap_7d is not None and req.party_relation != ATTORNEY:
            in_window = [d for d in prep.attempts_7d if today - 6 <= d <= today]
            n = len(in_window)
            if n >= c.cap_7d:
                # the oldest calls leave the window first: allowed again when fewer than cap remain
                when = _midnight(in_window[n - c.cap_7d] + 7, zone) if c.cap_7d > 0 else None
                out.append((c.reason("7in7.attempts", count=n, cap=c.cap_7d) if want_reasons else None, when))
        if c.quiet_days is not None and prep.conv_7d:
            last = None
            for d, started in prep.conv_7d:
                if today - (c.quiet_days - 1) <= d <= today and started < at and (last is None or d > last):
                    last = d
            if last is not None:
                out.append((c.reason("7in7.after_conversation", n=c.quiet_days) if want_reasons else None,
                            _midnight(last + c.quiet_days, zone)))

    if c.stop_today and channel != LETTER:
        by_debtor = today in prep.stop_debtor
        if by_debtor or today in prep.stop_party:
            reason = None
            if want_reasons:
                reason = c.reason("stop_today", who="债务人" if by_debtor else "该联系人",
                                  who_en="The debtor" if by_debtor else "This party")
            out.append((reason, _midnight(today + 1, zone)))
    return out


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------

def decide(request: ContactRequest, context: Context) -> Decision:
    """Allowed or denied, every rule that denied, and the earliest time the same contact is allowed."""
    c = compile_policy(context.policy)
    prep = _Prepared(request, context, c)
    static = _static_reasons(request, context, c, prep)
    timed = _timed_reasons(request, context, c, prep, request.at, True)
    if not static and not timed:
        return Decision(allowed=True, policy_version=c.version)
    reasons = tuple(static) + tuple(r for r, _ in timed)
    next_at = None
    if not static:
        next_at = _walk(request, context, c, prep, timed)
    return Decision(allowed=False, policy_version=c.version, reasons=reasons, next_allowed_at=next_at)


def _walk(request, context, c, prep, found) -> datetime | None:
    limit = request.at + HORIZON
    for _ in range(MAX_STEPS):
        candidates = [t for _, t in found]
        if any(t is None for t in candidates):
            return None
        candidate = max(candidates)
        if candidate > limit:
            return None
        found = _timed_reasons(request, context, c, prep, candidate, False)
        if not found:
            return candidate.astimezone(request.at.tzinfo or UTC)
    return None


def is_allowed(request: ContactRequest, context: Context) -> bool:
    return decide(request, context).allowed
