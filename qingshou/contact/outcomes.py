"""The standard outcome codes, loaded by a data migration. Admins can add or retire codes."""

STANDARD_OUTCOMES = [
    # code, zh, en, flags
    ("rpc", "本人接通", "Debtor reached", {"connected": True, "right_party": True, "marks_phone_valid": True}),
    ("tpc", "第三方接通", "Third party reached", {"connected": True, "third_party": True,
                                                 "marks_phone_valid": True}),
    ("no_answer", "无人接听", "No answer", {}),
    ("powered_off", "关机", "Phone switched off", {}),
    ("invalid_number", "空号/停机", "Number invalid or suspended", {"marks_phone_invalid": True}),
    ("rejected", "拒接", "Call rejected", {}),
    ("deceased", "死亡", "Debtor deceased", {"connected": True, "hold_reason": "deceased"}),
    ("fraud", "涉嫌欺诈", "Suspected fraud", {"connected": True, "hold_reason": "fraud"}),
    ("ptp", "承诺还款", "Promise to pay", {"connected": True, "right_party": True, "opens_promise": True,
                                          "marks_phone_valid": True}),
    ("refuse_to_pay", "拒绝还款", "Refuses to pay", {"connected": True, "right_party": True}),
    # willing but unable to pay now (有意愿无能力): the strategy reads it as the "hardship" flag
    ("cannot_pay", "无力还款", "Willing but unable to pay now", {"connected": True, "right_party": True}),
    ("dispute", "异议", "Dispute", {"connected": True, "right_party": True}),
    ("complaint_risk", "投诉倾向", "Complaint risk", {"connected": True}),
    ("stop_today", "要求今日停止联系", "Asked not to be contacted again today",
     {"connected": True, "stop_today": True}),
    ("tp_refused", "第三方拒绝转告", "Third party refused to pass on the message",
     {"connected": True, "third_party": True, "refused": True}),
]


def ensure_standard_outcomes(outcome_model=None) -> int:
    """Create or update the standard codes (used by the data migration; idempotent)."""
    if outcome_model is None:
        from qingshou.contact.models import OutcomeCode as outcome_model
    # A historical model (an older migration) may lack newer flag fields: set only the ones it has.
    fields = {f.name for f in outcome_model._meta.get_fields()}
    for order, (code, zh, en, flags) in enumerate(STANDARD_OUTCOMES, start=1):
        flags = {k: v for k, v in flags.items() if k in fields}
        outcome_model.objects.update_or_create(
            code=code, defaults={"label_zh": zh, "label_en": en, "order": order * 10, **flags}
        )
    return len(STANDARD_OUTCOMES)
