"""Logging contact attempts (催记), always behind the compliance hook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from qingshou.compliance.hook import ContactRequest, Decision, check_contact, record_decision
from qingshou.compliance.scanner import scan
from qingshou.compliance.types import CALLBACK, COLLECT, LOCATE
from qingshou.contact.models import CALL_CHANNELS, Channel, ContactAttempt, Direction, OutcomeCode
from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.locking import lock_one
from qingshou.payments.actions import create_promise, validate_promise
from qingshou.payments.models import Promise
from qingshou.portfolio import events
from qingshou.portfolio.actions import place_hold
from qingshou.portfolio.models import Case, Party, Phone

FUTURE_SKEW = timedelta(minutes=5)
PURPOSES = (COLLECT, LOCATE, CALLBACK)
NO_ANSWER_RETRY = timedelta(hours=2)


@dataclass
class LogResult:
    decision: Decision
    contact: ContactAttempt | None = None
    promise: Promise | None = None

    @property
    def saved(self) -> bool:
        return self.contact is not None


def _next_work_at(outcome: OutcomeCode, promise: Promise | None, at: datetime) -> datetime:
    tz = timezone.get_current_timezone()
    tomorrow_morning = datetime.combine(timezone.localtime(at).date() + timedelta(days=1), time(9, 0), tzinfo=tz)
    if promise is not None:
        return datetime.combine(promise.due_date, time(9, 0), tzinfo=tz)
    if outcome.right_party or outcome.stop_today:
        return tomorrow_morning
    return at + NO_ANSWER_RETRY


def _validate(case: Case, party: Party, phone: Phone | None, channel: str, outcome: OutcomeCode,
              started_at: datetime, duration_seconds: int, purpose: str | None = None) -> None:
    errors = {}
    if purpose is not None and purpose not in PURPOSES:
        errors["purpose"] = _("Unknown purpose.")
    if party.debtor_id != case.debtor_id:
        errors["party"] = _("This person is not a party to the case.")
    if channel not in Channel.values:
        errors["channel"] = _("Unknown channel.")
    if channel in (*CALL_CHANNELS, Channel.SMS):
        if phone is None:
            errors["phone"] = _("Choose the number that was called.")
        elif phone.party_id != party.pk:
            errors["phone"] = _("This number does not belong to the chosen person.")
    if not outcome.is_active:
        errors["outcome"] = _("This outcome code is no longer in use.")
    if started_at > timezone.now() + FUTURE_SKEW:
        errors["started_at"] = _("The contact time cannot be in the future.")
    if duration_seconds < 0 or duration_seconds > 6 * 3600:
        errors["duration_seconds"] = _("Duration must be between 0 and 6 hours.")
    if errors:
        raise ActionError(errors)


def log_contact(
    case: Case,
    *,
    party: Party,
    outcome: OutcomeCode,
    acting_user,
    phone: Phone | None = None,
    channel: str = Channel.CALL,
    direction: str = Direction.OUTBOUND,
    started_at: datetime | None = None,
    duration_seconds: int = 0,
    notes: str = "",
    checklist: dict | None = None,
    recording_ref: str = "",
    promise_amount: Decimal | None = None,
    promise_due_date=None,
    purpose: str | None = None,
    institution_stated: bool = False,
    text: str = "",
) -> LogResult:
    """Ask the compliance hook, then save the contact record and apply its outcome's effects.

    A refused contact is not saved; the refusal itself is stored (decision, audit row, timeline
    event) as evidence, and the result carries the reasons and the next permitted time.

    `purpose` defaults to "collect" with the debtor and "callback" (转告回电) with a third party.
    `institution_stated`: the collector confirms the opening stated the institution (CN first
    contact); a contact in which nobody spoke with the debtor needs no such statement.
    `text`: the outgoing SMS / letter body, checked by the content scanner. The notes are scanned
    too, but only flagged for QA (stored on the record, timeline event, audit row), never blocked.
    """
    started_at = started_at or timezone.now()
    purpose = purpose or None
    case = lock_one(Case, case.pk)
    _validate(case, party, phone, channel, outcome, started_at, duration_seconds, purpose)
    if outcome.opens_promise:
        validate_promise(case, promise_amount, promise_due_date)

    request = ContactRequest(
        case_id=case.pk, party_id=party.pk, phone_id=phone.pk if phone else None, channel=channel,
        at=started_at, party_is_debtor=party.is_debtor, party_relation=party.relation,
        purpose=purpose or (COLLECT if party.is_debtor else CALLBACK), requested_by_id=acting_user.pk,
        text=text or "", institution_stated=bool(institution_stated or not outcome.right_party),
    )
    decision = check_contact(request)
    stored = record_decision(request, decision, acting_user=acting_user)
    if not decision.allowed:
        events.contact_refused(case, stored, user=acting_user)
        audit("contact.refused", actor=acting_user, obj=case, rules=[r.rule for r in decision.reasons])
        return LogResult(decision=decision)

    since = int((started_at - case.assigned_at).total_seconds()) if case.assigned_at else None
    notes = notes.strip()
    hits = scan(notes, audience="debtor" if party.is_debtor else "third_party")
    flags = [{"category": h.category, "phrase": h.phrase, "start": h.start, "end": h.end, "severity": h.severity}
             for h in hits]
    contact = ContactAttempt.objects.create(
        case=case, party=party, phone=phone, collector=acting_user, channel=channel, direction=direction,
        started_at=started_at, duration_seconds=duration_seconds, outcome=outcome, notes=notes,
        recording_ref=recording_ref, checklist=checklist or {}, seconds_since_assignment=since, decision=stored,
        flags=flags,
    )
    events.contact_logged(case, contact, user=acting_user)
    audit("contact.log", actor=acting_user, obj=contact, case_id=case.pk, outcome=outcome.code, channel=channel)
    if flags:
        categories = sorted({f["category"] for f in flags})
        events.content_flagged(case, contact, user=acting_user, categories=categories)
        audit("contact.flagged", actor=acting_user, obj=contact, case_id=case.pk, categories=categories,
              phrases=sorted({f["phrase"] for f in flags}))

    apply_outcome_effects(case, contact, acting_user=acting_user)

    promise = None
    if outcome.opens_promise:
        promise = create_promise(case, amount=promise_amount, due_date=promise_due_date, acting_user=acting_user,
                                 party=party, contact=contact)

    touch_case(case, contact, promise)
    return LogResult(decision=decision, contact=contact, promise=promise)


do_log_contact = transaction.atomic(durable=True)(log_contact)
do_log_contact.__doc__ = log_contact.__doc__


def touch_case(case: Case, contact: ContactAttempt, promise: Promise | None = None) -> None:
    """Move the case's last/first contact and next work time on after a contact."""
    started_at, channel = contact.started_at, contact.channel
    fields = ["last_contact_at", "next_work_at"]
    case.last_contact_at = max(filter(None, [case.last_contact_at, started_at]))
    if case.first_contact_at is None and channel in CALL_CHANNELS:
        case.first_contact_at = started_at
        fields.append("first_contact_at")
    case.next_work_at = _next_work_at(contact.outcome, promise, started_at)
    case.save(update_fields=fields)


def apply_outcome_effects(case: Case, contact: ContactAttempt, *, acting_user) -> None:
    """Phone status and holds implied by the contact's outcome (not promises: those need an amount)."""
    phone, outcome, notes = contact.phone, contact.outcome, contact.notes
    if phone is not None and (outcome.marks_phone_invalid or outcome.marks_phone_valid):
        new = Phone.Status.INVALID if outcome.marks_phone_invalid else Phone.Status.VALID
        if phone.status != new:
            old = phone.status
            phone.status = new
            phone.status_changed_at = timezone.now()
            phone.save(update_fields=["status", "status_changed_at"])
            events.phone_status_changed(case, phone, old=old, user=acting_user)
            audit("phone.status", actor=acting_user, obj=phone, case_id=case.pk, old=old, new=new)

    if outcome.hold_reason:
        place_hold(case, outcome.hold_reason, acting_user=acting_user, note=notes[:300])
