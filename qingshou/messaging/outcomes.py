"""Outcome codes of SMS contact records (ContactAttempt.channel = "sms"), loaded by a data migration."""

SMS_OUTCOMES = [
    # code, zh, en, order
    ("sms_sent", "短信已发送", "SMS sent", 900),
    ("sms_failed", "短信发送失败", "SMS not delivered", 901),
]


def ensure_sms_outcomes(outcome_model=None) -> None:
    """Create the SMS outcome codes if missing (idempotent; the migration passes its historical model)."""
    if outcome_model is None:
        from qingshou.contact.models import OutcomeCode as outcome_model
    for code, zh, en, order in SMS_OUTCOMES:
        outcome_model.objects.get_or_create(code=code, defaults={"label_zh": zh, "label_en": en, "order": order})


def sms_outcome(code: str):
    from qingshou.contact.models import OutcomeCode

    row = OutcomeCode.objects.filter(code=code).first()
    if row is None:                 # e.g. a database flushed after migrating (transactional tests)
        ensure_sms_outcomes()
        row = OutcomeCode.objects.get(code=code)
    return row
