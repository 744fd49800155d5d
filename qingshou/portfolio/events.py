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


def cases_assigned_bulk(case_ids, *, to_user, user, reason="", at=None):
    """分案 of many cases at once (strategy runs): one ASSIGNED event per case, in one INSERT."""
    at = at or timezone.now()
    return CaseEvent.objects.bulk_create(
        [CaseEvent(case_id=cid, type=T.ASSIGNED, user=user, at=at, data={"to": to_user.label, "reason": reason})
         for cid in case_ids], batch_size=2000)


# --- SMS (messaging) ---------------------------------------------------------------------------
# "text" is the timeline's summary (describe_events shows it for types it has no special case for),
# written in the default language.

def _default_language(func):
    from django.conf import settings
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        return str(func())


def sms_queued(case, message, *, user):
    from qingshou.core.masking import mask_phone

    phone = mask_phone(message.phone.number) if message.phone_id else ""
    template = message.template_version.template.code if message.template_version_id else ""
    return _event(case, T.SMS_QUEUED, user=user, sms_id=message.pk, batch_id=message.batch_id, phone=phone,
                  template=template, text=f"{phone} · {template}")


def sms_status(case, message, *, error=""):
    label = _default_language(message.get_status_display)
    return _event(case, T.SMS_STATUS, sms_id=message.pk, status=message.status, error=error,
                  text=f"#{message.pk} {label}" + (f" · {error}" if error else ""))


def sms_reply(case, inbound, *, opt_out):
    return _event(case, T.SMS_REPLY, inbound_id=inbound.pk, opt_out=opt_out, text=inbound.text[:70])


# --- arrangements: repayment plans, waivers and settlements (qingshou.arrangements) --------------

def _money(v) -> str:
    return f"{v:,.2f}"


def plan_proposed(case, plan, *, user):
    text = _default_language(lambda: plan.get_kind_display()) + (
        f" · {plan.instalments} × · {_money(plan.total_amount)} · {plan.start_date:%Y-%m-%d}")
    return _event(case, T.PLAN_PROPOSED, user=user, plan_id=plan.pk, instalments=plan.instalments,
                  total=str(plan.total_amount), via=plan.via, hardship=plan.hardship_reason, text=text)


def plan_reviewed(case, plan, *, user, stage, approved, comment):
    return _event(case, T.PLAN_APPROVED if approved else T.PLAN_REJECTED, user=user, plan_id=plan.pk,
                  stage=stage, comment=comment, text=f"#{plan.pk} · {comment}"[:120])


def plan_broken(case, plan, *, missed_seq):
    return _event(case, T.PLAN_BROKEN, plan_id=plan.pk, missed=missed_seq, paid=str(plan.paid_amount),
                  text=f"#{plan.pk} · {missed_seq} · {_money(plan.paid_amount)}")


def plan_completed(case, plan):
    return _event(case, T.PLAN_COMPLETED, plan_id=plan.pk, paid=str(plan.paid_amount),
                  text=f"#{plan.pk} · {_money(plan.paid_amount)}")


def offer_proposed(case, offer, *, user):
    text = _default_language(lambda: offer.get_kind_display()) + f" · {_money(offer.pay_amount)}"
    return _event(case, T.OFFER_PROPOSED, user=user, offer_id=offer.pk, kind=offer.kind,
                  pay=str(offer.pay_amount), text=text)


def offer_reviewed(case, offer, *, user, stage, approved, comment):
    return _event(case, T.OFFER_APPROVED if approved else T.OFFER_REJECTED, user=user, offer_id=offer.pk,
                  stage=stage, comment=comment, text=f"#{offer.pk} · {comment}"[:120])


def offer_communicated(case, offer, *, user):
    return _event(case, T.OFFER_COMMUNICATED, user=user, offer_id=offer.pk,
                  text=f"#{offer.pk} · {_money(offer.pay_amount)} · {offer.expires_on:%Y-%m-%d}")


def offer_expired(case, offer):
    return _event(case, T.OFFER_EXPIRED, offer_id=offer.pk, text=f"#{offer.pk}")


def balance_written_off(case, write_off, *, user=None):
    return _event(case, T.WRITTEN_OFF, user=user, write_off_id=write_off.pk, total=str(write_off.total),
                  offer_id=write_off.offer_id, plan_id=write_off.plan_id, text=_money(write_off.total))


# --- skip tracing (qingshou.skiptrace) ---------------------------------------------------------
# "text" is the timeline's summary in the default language (describe_events shows it).

def _in_default_language(build):
    from django.conf import settings
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        return str(build())


def phone_added(case, phone, *, user, source, lead_id=None):
    """A new number recorded (skip tracing, re-supply file); the strategy re-evaluates the case on it."""
    from qingshou.core.masking import mask_phone

    masked = mask_phone(phone.number)
    text = _in_default_language(lambda: f"{masked} · {phone.party.get_relation_display()} · "
                                        f"{phone.Source(source).label} · {phone.get_verification_display()}")
    return _event(case, T.PHONE_ADDED, user=user, phone_id=phone.pk, phone=masked, source=source,
                  verification=phone.verification, lead_id=lead_id, text=text)


def address_added(case, address, *, user, source, lead_id=None):
    text = _in_default_language(lambda: f"{address.get_kind_display()} · {address.text[:60]} · "
                                        f"{address.get_source_display()}")
    return _event(case, T.ADDRESS_ADDED, user=user, address_id=address.pk, source=source, lead_id=lead_id, text=text)


def employer_added(case, lead, *, user):
    text = _in_default_language(lambda: f"{lead.employer[:60]} · {lead.get_source_display()}")
    return _event(case, T.EMPLOYER_ADDED, user=user, lead_id=lead.pk, source=lead.source, text=text)


def lead_verified(case, lead, *, user, old):
    from qingshou.core.masking import mask_phone

    def build():
        what = mask_phone(lead.phone.number) if lead.phone_id else (
            lead.address.text[:60] if lead.address_id else lead.employer[:60])
        return f"{lead.get_kind_display()} {what}: {lead.get_verification_display()} · {lead.get_source_display()}"

    return _event(case, T.LEAD_VERIFIED, user=user, lead_id=lead.pk, old=old, new=lead.verification,
                  source=lead.source, text=_in_default_language(build))


def lost_contact(case, flag, *, user=None):
    return _event(case, T.LOST_CONTACT, user=user, flag_id=flag.pk, reason=flag.reason, tried=flag.tried,
                  text=_in_default_language(flag.get_reason_display))


def contact_recovered(case, flag, *, user=None):
    def build():
        from django.utils.translation import gettext

        from qingshou.portfolio.models import Phone

        label = Phone.Source(flag.recovered_by_source).label if flag.recovered_by_source else "—"
        return gettext("%(source)s · lost for %(days)s days") % {"source": label,
                                                                 "days": (flag.cleared_at - flag.since).days}

    return _event(case, T.CONTACT_RECOVERED, user=user, flag_id=flag.pk, source=flag.recovered_by_source,
                  lead_id=flag.recovered_by_lead_id, text=_in_default_language(build))


# --- telephony (qingshou.telephony) ---------------------------------------------------------------

def call_placed(case, call, *, user):
    return _event(case, T.CALL_PLACED, user=user, call_id=call.call_id, contact_id=call.contact_id,
                  channel=call.contact.channel, campaign_id=call.campaign_id, text=call.call_id)


def call_completed(case, call, *, user=None):
    contact = call.contact
    return _event(case, T.CALL_COMPLETED, user=user, call_id=call.call_id, contact_id=contact.pk,
                  outcome=contact.outcome.code, duration=contact.duration_seconds, hangup_cause=call.hangup_cause,
                  text=f"{contact.outcome.label} · {contact.duration_seconds}s")


def recording_missing(case, contact, *, user=None):
    return _event(case, T.RECORDING_MISSING, user=user, contact_id=contact.pk, text=f"#{contact.pk}")


def recording_stored(case, recording, *, user=None):
    return _event(case, T.RECORDING_STORED, user=user, contact_id=recording.contact_id, recording_id=recording.pk,
                  size=recording.size, text=f"#{recording.contact_id}")


# --- letters and debtor self-service (qingshou.letters, qingshou.selfservice) ---------------------

def letter_generated(case, letter, *, user):
    return _event(case, T.LETTER_GENERATED, user=user, letter_id=letter.pk, batch_id=letter.batch_id,
                  kind=letter.batch.kind, template=letter.batch.template_version.template.code,
                  text=f"L{letter.batch_id:05d}-{letter.case_id}")


def letter_dispatch(case, letter, *, user):
    return _event(case, T.LETTER_DISPATCH, user=user, letter_id=letter.pk, status=letter.dispatch_status,
                  carrier=letter.carrier, tracking=letter.tracking_number,
                  sent_on=letter.sent_on.isoformat() if letter.sent_on else "",
                  text=f"{letter.carrier} {letter.tracking_number}".strip())


def selfservice_link(case, link, *, user, sms_id=None):
    return _event(case, T.SELFSERVICE_LINK, user=user, link_id=link.pk, expires=link.expires_at.isoformat(),
                  sms_id=sms_id)


def selfservice_verified(case, link, *, user=None):
    return _event(case, T.SELFSERVICE_VERIFIED, user=user, link_id=link.pk)


def selfservice_plan_requested(case, *, user, instalments, first_payment, reason, note):
    return _event(case, T.SELFSERVICE_PLAN, user=user, instalments=instalments, first_payment=str(first_payment),
                  reason=reason, note=note, text=f"{instalments} × / {first_payment} · {reason}"[:120])
