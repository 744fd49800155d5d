"""Readable names for the compliance screens: policy parameters, rule ids, layer names and values.

Parameter names and types come from `presets.PARAMETERS`; this module only adds what a compliance
officer reads (a short label and a one-line description, translated) and turns stored values into
text. A parameter or rule this module does not know is shown by its id, never hidden.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qingshou.compliance.presets import PARAMETERS

L = gettext_lazy

# parameter -> (label, description)
PARAM_LABELS: dict[str, tuple] = {
    "hours": (L("Contact hours"), L("Daily window in the debtor's local time when timed contact is allowed "
                                    "(end exclusive).")),
    "hours_channels": (L("Channels the hours apply to"), L("Channels bound by the contact hours, the "
                                                          "calendar and inconvenient times.")),
    "agreed_overrides_hours": (L("Agreed times override the hours"), L("A time the debtor agreed to may be "
                                                                       "used even outside the contact hours.")),
    "timezones": (L("Assumed time zones"), L("Used when the debtor's time zone is unknown; time rules must "
                                             "pass in every one of them.")),
    "holidays_blocked": (L("No contact on statutory holidays"), L("Timed contact is refused on statutory "
                                                                  "holidays.")),
    "weekends_blocked": (L("No contact at weekends"), L("Timed contact is refused on Saturdays and Sundays "
                                                        "unless it is an adjusted working day.")),
    "blackout_blocked": (L("No contact on blackout dates"), L("Timed contact is refused on dates the creditor "
                                                              "or agency blacked out.")),
    "inconvenient_blocked": (L("Respect inconvenient times"), L("No timed contact in a window the debtor said "
                                                                "is inconvenient.")),
    "max_unanswered_per_number_day": (L("Unanswered dials per number per day"), L("Most unanswered call "
                                      "attempts to one number in a day, all parties and agencies.")),
    "max_debtor_conversations_day": (L("Debtor conversations per day"), L("Most connected conversations with "
                                     "the debtor in a day, automated calls included.")),
    "conversations_all_agencies": (L("Count every agency's conversations"), L("The daily conversation cap "
                                   "counts the contacts of all of the creditor's agencies, not only ours.")),
    "max_calls_per_party_day": (L("Calls per person per day"), L("Most calls to one person (debtor or third "
                                                                 "party) in a day.")),
    "stop_today": (L("Honour \"stop today\""), L("After a person asks not to be contacted again today, no "
                                                 "further contact that day.")),
    "third_party_requires_unreachable": (L("Third parties only if the debtor is unreachable"), L("Numbers "
                                         "invalid, repeated failed contacts, or the debtor deceased or "
                                         "incapacitated.")),
    "unreachable_failed_contacts": (L("Failed contacts that make the debtor unreachable"), L("Consecutive "
                                    "failed contacts with the debtor before third parties may be contacted.")),
    "third_party_purposes": (L("Allowed purposes with third parties"), L("What a contact with a third party "
                                                                         "may be for.")),
    "third_party_safe_only": (L("Third-party-safe templates only"), L("Third parties only get templates and "
                                                                      "scripts marked safe for them.")),
    "stop_after_refusal": (L("Stop after a third party refuses"), L("No further contact with a third party "
                                                                    "who refused or asked us to stop.")),
    "third_party_once": (L("Ask a third party once"), L("A third party is asked for location information only "
                                                        "once.")),
    "state_institution": (L("State the institution at first contact"), L("The first contact with the debtor "
                                                                         "must say who is calling and for whom.")),
    "min_visit_staff": (L("Collectors on a field visit"), L("Fewest collectors who must go on a field visit.")),
    "max_call_attempts_7d": (L("Calls in 7 days"), L("Most calls to one person about one debt within 7 "
                                                     "consecutive days (Regulation F).")),
    "after_conversation_days": (L("Quiet days after a conversation"), L("No call within this many days after "
                                                                        "a telephone conversation, that day "
                                                                        "being day 1.")),
    "cease_communication": (L("Honour cease-communication requests"), L("No contact after the debtor asked us "
                                                                        "to cease communication.")),
    "dispute_pauses": (L("Written dispute pauses collection"), L("An open written dispute pauses collection "
                                                                 "until verification.")),
    "attorney_routes": (L("Contact the attorney"), L("A debtor represented by an attorney is contacted only "
                                                     "through the attorney.")),
    "do_not_call": (L("Honour do-not-call requests"), L("Numbers and channels the debtor asked us not to "
                                                        "use.")),
    "approved_templates_only": (L("Approved templates only"), L("SMS and letters need a creditor-approved, "
                                                                "active template.")),
    "holds_block": (L("Holds that stop contact"), L("Case holds that stop all outbound contact.")),
    "content_scan": (L("Blocked content"), L("Content-scanner categories that block outgoing text.")),
}

# rule suffix (after the origin) -> short label
RULE_LABELS: dict[str, object] = {
    "hours": L("Contact hours"),
    "holiday": L("Statutory holiday"),
    "weekend": L("Weekend"),
    "blackout": L("Blackout date"),
    "inconvenient": L("Inconvenient time"),
    "unanswered_per_number": L("Unanswered dials per number"),
    "debtor_conversations": L("Debtor conversations per day"),
    "daily_calls": L("Calls per person per day"),
    "stop_today": L("Asked to stop today"),
    "third_party.unreachable": L("Third party: debtor reachable"),
    "third_party.purpose": L("Third party: purpose"),
    "third_party.refused": L("Third party refused"),
    "third_party.once": L("Third party already asked"),
    "institution": L("Institution not stated"),
    "visit_staff": L("Field-visit staff"),
    "7in7.attempts": L("7 calls in 7 days"),
    "7in7.after_conversation": L("Call after a conversation"),
    "cease": L("Cease communication"),
    "dispute": L("Written dispute"),
    "attorney": L("Attorney representation"),
    "do_not_call": L("Do-not-call number"),
    "do_not_contact": L("Do-not-contact channel"),
}
# Rule ids of the first, minimal hook (decisions stored before the engine).
LEGACY_RULES = {"contact_hours": "hours", "daily_call_cap": "daily_calls", "stop_today": "stop_today"}
TEMPLATE_LABELS = {
    "missing": L("No approved template"),
    "not_approved": L("Template not approved"),
    "inactive": L("Template inactive"),
    "not_third_party_safe": L("Template not safe for third parties"),
}
CONTENT_LABELS = {
    "threat": L("threat"),
    "insult": L("insult"),
    "impersonation": L("impersonation"),
    "fake_legal": L("false legal claim"),
    "push_to_borrow": L("pushing to borrow"),
    "third_party_disclosure": L("debt disclosure to a third party"),
}
PURPOSE_LABELS = {"collect": L("talk about the debt"), "locate": L("location information"),
                  "callback": L("ask to call back")}
LAYER_KIND_LABELS = {"preset": L("jurisdiction preset"), "creditor": L("creditor contract rules"),
                     "house": L("house rules"), "case": L("case facts")}
PRESET_NAMES = {"cn": L("China (CN preset)"), "us": L("United States (US preset)"), "house": L("House rules")}


def _choice_label(choices_cls, value) -> str:
    try:
        return str(choices_cls(value).label)
    except ValueError:
        return str(value)


def hold_label(reason: str) -> str:
    from qingshou.portfolio.models import HoldReason

    return _choice_label(HoldReason, reason)


def channel_label(channel: str) -> str:
    from qingshou.contact.models import Channel

    return _choice_label(Channel, channel)


def rule_suffix(rule_id: str) -> str:
    """'house.stop_today' -> 'stop_today'; fixed families and unknown ids are returned whole."""
    if rule_id in LEGACY_RULES:
        return LEGACY_RULES[rule_id]
    if rule_id.startswith(("hold.", "template.", "content.")):
        return rule_id
    return rule_id.split(".", 1)[1] if "." in rule_id else rule_id


def rule_label(rule_id: str) -> str:
    """A short readable name for a rule id ("house.stop_today" -> 今日已要求停止联系)."""
    rule_id = str(rule_id or "")
    if rule_id.startswith("hold."):
        return _("Hold: %(reason)s") % {"reason": hold_label(rule_id[5:])}
    if rule_id.startswith("template."):
        return str(TEMPLATE_LABELS.get(rule_id[9:], rule_id))
    if rule_id.startswith("content."):
        cat = rule_id[8:]
        return _("Prohibited content: %(category)s") % {"category": CONTENT_LABELS.get(cat, cat)}
    label = RULE_LABELS.get(rule_suffix(rule_id))
    return str(label) if label is not None else rule_id


def layer_label(name: str) -> str:
    if name in PRESET_NAMES:
        return str(PRESET_NAMES[name])
    if name.startswith("creditor:"):
        return _("Creditor %(code)s") % {"code": name.split(":", 1)[1]}
    return name


def param_label(name: str) -> str:
    entry = PARAM_LABELS.get(name)
    return str(entry[0]) if entry else name


def param_description(name: str) -> str:
    entry = PARAM_LABELS.get(name)
    return str(entry[1]) if entry else ""


def element_label(param: str, value: str) -> str:
    if param == "hours_channels":
        return channel_label(value)
    if param == "holds_block":
        return hold_label(value)
    if param == "third_party_purposes":
        return str(PURPOSE_LABELS.get(value, value))
    if param == "content_scan":
        return str(CONTENT_LABELS.get(value, value))
    return str(value)


def format_value(param: str, value) -> str:
    """A stored parameter value as text: 是/否, 08:00–22:00, 6, 电话、短信 …; None -> "—" (not set)."""
    if value is None:
        return "—"
    kind = PARAMETERS.get(param, ("", ""))[0]
    if kind == "bool" or isinstance(value, bool):
        return _("yes") if value else _("no")
    if kind == "window" and isinstance(value, list | tuple) and len(value) == 2:
        return f"{value[0]}–{value[1]}"
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else list(value)
        if not items:
            return _("(none)")
        return "、".join(element_label(param, v) for v in items)
    return str(value)


def merge_rule_text(param: str) -> str:
    """What "stricter" means for the parameter, in words."""
    merge = PARAMETERS.get(param, ("", ""))[1]
    return str({
        "min": L("the smallest number wins"),
        "max": L("the largest number wins"),
        "or": L("\"yes\" in any layer wins"),
        "and": L("\"no\" in any layer wins"),
        "window": L("the narrowest window wins"),
        "union": L("all layers' entries apply"),
        "intersection": L("only entries every layer allows"),
    }.get(merge, merge))
