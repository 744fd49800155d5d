"""One small constructor per business event on a case's timeline (Saleor's order/events.py).

The case page, reports and QA all read this one history. Call these inside an action's transaction.
"""

from __future__ import annotations

from django.utils import timezone

from qingshou.portfolio.models import CaseEvent

T = CaseEvent.Type


def _event(case, type_: str, *, user=None, at=None, **data) -> CaseEvent:
    return CaseEvent.objects.create(case=case, type=type_, user=user, at=at or timezone.now(), data=data)


def case_placed(case, *, user=None):
    return _event(case, T.PLACED, user=user, placement=case.placement.code, total_due=str(case.total_due))


def case_assigned(case, *, to_user, user, reason=""):
    return _event(case, T.ASSIGNED, user=user, to=to_user.label if to_user else "", reason=reason)


def case_reassigned(case, *, from_user, to_user, user, reason):
    return _event(
        case, T.REASSIGNED, user=user, reason=reason,
        **{"from": from_user.label if from_user else "", "to": to_user.label if to_user else ""},
    )


def case_withdrawn(case, *, from_user, user, reason):
    return _event(case, T.WITHDRAWN, user=user, reason=reason, **{"from": from_user.label if from_user else ""})


def contact_logged(case, contact, *, user):
    return _event(
        case, T.CONTACT_LOGGED, user=user, at=contact.started_at, contact_id=contact.pk,
        channel=contact.channel, outcome=contact.outcome.code, party=contact.party.get_relation_display(),
    )


def contact_refused(case, decision, *, user):
    return _event(case, T.CONTACT_REFUSED, user=user, decision_id=decision.pk,
                  rules=[r["rule"] for r in decision.reasons])


def promise_made(case, promise, *, user):
    return _event(case, T.PROMISE_MADE, user=user, promise_id=promise.pk, amount=str(promise.amount),
                  due_date=promise.due_date.isoformat())


def promise_kept(case, promise):
    return _event(case, T.PROMISE_KEPT, promise_id=promise.pk, amount=str(promise.amount),
                  paid=str(promise.paid_amount))


def promise_broken(case, promise):
    return _event(case, T.PROMISE_BROKEN, promise_id=promise.pk, amount=str(promise.amount),
                  paid=str(promise.paid_amount), due_date=promise.due_date.isoformat())


def payment_received(case, payment):
    return _event(case, T.PAYMENT_RECEIVED, at=payment.paid_at, payment_id=payment.pk,
                  amount=str(payment.amount), ref=payment.source_ref)


def hold_placed(case, hold, *, user):
    return _event(case, T.HOLD_PLACED, user=user, hold_id=hold.pk, reason=hold.reason, note=hold.note)


def hold_released(case, hold, *, user):
    return _event(case, T.HOLD_RELEASED, user=user, hold_id=hold.pk, reason=hold.reason)


def status_changed(case, *, old, new, user, reason=""):
    return _event(case, T.STATUS_CHANGED, user=user, old=old, new=new, reason=reason)


def phone_status_changed(case, phone, *, old, user):
    from qingshou.core.masking import mask_phone

    return _event(case, T.PHONE_STATUS, user=user, phone_id=phone.pk, phone=mask_phone(phone.number),
                  old=old, new=phone.status)


def case_recalled(case, *, user, reason, from_status, from_user=None):
    return _event(case, T.RECALLED, user=user, reason=reason, old=from_status,
                  **{"from": from_user.label if from_user else ""})


def case_retained(case, *, user, until, reason):
    return _event(case, T.RETAINED, user=user, until=until.isoformat(), reason=reason)


def pii_revealed(case, *, what, user, reason):
    return _event(case, T.PII_REVEALED, user=user, what=what, reason=reason)


# --- compliance (do-not-contact, contact-time preferences, content flags) ----------------------

def dnc_added(case, dnc, *, user):
    from qingshou.core.masking import mask_phone

    return _event(case, T.DNC_ADDED, user=user, dnc_id=dnc.pk, channel=dnc.channel,
                  phone=mask_phone(dnc.phone.number) if dnc.phone_id else "", reason=dnc.reason)


def dnc_lifted(case, dnc, *, user):
    return _event(case, T.DNC_LIFTED, user=user, dnc_id=dnc.pk, reason=dnc.lift_reason)


def preference_added(case, pref, *, user):
    return _event(case, T.PREFERENCE_ADDED, user=user, preference_id=pref.pk, kind=pref.kind,
                  start=f"{pref.start:%H:%M}", end=f"{pref.end:%H:%M}", weekdays=list(pref.weekdays or []),
                  on_date=pref.on_date.isoformat() if pref.on_date else "", note=pref.note)


def preference_removed(case, pref, *, user):
    return _event(case, T.PREFERENCE_REMOVED, user=user, preference_id=pref.pk, kind=pref.kind)


def content_flagged(case, contact, *, user, categories):
    return _event(case, T.CONTENT_FLAGGED, user=user, contact_id=contact.pk,
                  categories=sorted(categories))
