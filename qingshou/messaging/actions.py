"""State changes of the messaging app: templates (versions, approval) and SMS (send, receipts, replies)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.locking import lock_one
from qingshou.messaging.models import Kind, MessageTemplate, TemplateVersion
from qingshou.messaging.outcomes import sms_outcome
from qingshou.messaging.templates import validate_body
from qingshou.org.models import Role

S = TemplateVersion.Status


def can_edit_templates(user) -> bool:
    from qingshou.core.scoping import can

    return can(user, "templates.edit")


def can_approve(user, template: MessageTemplate) -> bool:
    """Only a creditor user of the template's own creditor approves it."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.role == Role.CREDITOR
                and user.creditor_id and user.creditor_id == template.creditor_id)


def _require_editor(user):
    if not can_edit_templates(user):
        raise ActionError({"user": _("Only a supervisor or an administrator edits templates.")})


# --- templates ----------------------------------------------------------------------------------

@transaction.atomic(durable=True)
def do_create_template(*, acting_user, creditor, kind: str, code: str, name: str, body: str,
                       safe_for_third_parties: bool = False) -> TemplateVersion:
    """A new template with its first version (a draft)."""
    _require_editor(acting_user)
    errors = {}
    if kind not in Kind.values:
        errors["kind"] = _("Unknown kind.")
    code = (code or "").strip()
    if not code:
        errors["code"] = _("Enter a code.")
    elif MessageTemplate.objects.filter(creditor=creditor, kind=kind, code=code).exists():
        errors["code"] = _("This creditor already has a template with this code.")
    if not (name or "").strip():
        errors["name"] = _("Enter a name.")
    if errors:
        raise ActionError(errors)
    validate_body(body, safe_for_third_parties=safe_for_third_parties)
    template = MessageTemplate.objects.create(creditor=creditor, kind=kind, code=code, name=name.strip(),
                                              safe_for_third_parties=safe_for_third_parties)
    version = TemplateVersion.objects.create(template=template, number=1, body=body.strip(),
                                             created_by=acting_user)
    audit("template.create", actor=acting_user, obj=version, template_id=template.pk, creditor_id=creditor.pk,
          kind=kind, code=code, safe=safe_for_third_parties)
    return version


@transaction.atomic(durable=True)
def do_save_version(template: MessageTemplate, *, acting_user, body: str, name: str | None = None,
                    safe_for_third_parties: bool | None = None) -> TemplateVersion:
    """Edit the template: the open draft is updated, else a new draft version is made.

    Changing the "safe for third parties" flag re-validates every version that could still be used;
    marking it safe while an approved version uses debt placeholders is refused."""
    _require_editor(acting_user)
    template = lock_one(MessageTemplate, template.pk)
    safe = template.safe_for_third_parties if safe_for_third_parties is None else bool(safe_for_third_parties)
    validate_body(body, safe_for_third_parties=safe)
    if safe and not template.safe_for_third_parties:
        for other in template.versions.filter(status__in=[S.APPROVED, S.PENDING]):
            validate_body(other.body, safe_for_third_parties=True)
    fields = []
    if name is not None and name.strip() and name.strip() != template.name:
        template.name = name.strip()
        fields.append("name")
    if safe != template.safe_for_third_parties:
        template.safe_for_third_parties = safe
        fields.append("safe_for_third_parties")
    if fields:
        template.save(update_fields=fields)
    draft = template.versions.filter(status__in=[S.DRAFT, S.REJECTED]).order_by("-number").first()
    if draft is not None and draft.status == S.DRAFT:
        draft.body = body.strip()
        draft.save(update_fields=["body"])
    else:
        number = (template.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        draft = TemplateVersion.objects.create(template=template, number=number, body=body.strip(),
                                               created_by=acting_user)
    audit("template.edit", actor=acting_user, obj=draft, template_id=template.pk, number=draft.number,
          safe=safe)
    return draft


@transaction.atomic(durable=True)
def do_submit_version(version: TemplateVersion, *, acting_user) -> TemplateVersion:
    _require_editor(acting_user)
    version = lock_one(TemplateVersion, version.pk)
    if version.status != S.DRAFT:
        raise ActionError({"status": _("Only a draft can be submitted for approval.")})
    validate_body(version.body, safe_for_third_parties=version.template.safe_for_third_parties)
    version.status = S.PENDING
    version.submitted_at = timezone.now()
    version.save(update_fields=["status", "submitted_at"])
    audit("template.submit", actor=acting_user, obj=version, template_id=version.template_id,
          number=version.number)
    return version


@transaction.atomic(durable=True)
def do_approve_version(version: TemplateVersion, *, acting_user, note: str = "") -> TemplateVersion:
    """The creditor's user approves a pending version: it becomes the active one; the previous is retired."""
    version = lock_one(TemplateVersion, version.pk)
    template = lock_one(MessageTemplate, version.template_id)
    if not can_approve(acting_user, template):
        raise ActionError({"user": _("Only a user of this template's creditor may approve it.")})
    if version.status != S.PENDING:
        raise ActionError({"status": _("Only a version pending approval can be approved.")})
    validate_body(version.body, safe_for_third_parties=template.safe_for_third_parties)
    now = timezone.now()
    previous = list(template.versions.filter(active=True).exclude(pk=version.pk))
    for old in previous:
        old.active = False
        old.status = S.RETIRED
        old.save(update_fields=["active", "status"])
    version.status = S.APPROVED
    version.active = True
    version.approved_by = acting_user
    version.approved_at = now
    version.review_note = (note or "").strip()[:300]
    version.save(update_fields=["status", "active", "approved_by", "approved_at", "review_note"])
    audit("template.approve", actor=acting_user, obj=version, template_id=template.pk, number=version.number,
          retired=[v.pk for v in previous])
    return version


@transaction.atomic(durable=True)
def do_reject_version(version: TemplateVersion, *, acting_user, note: str) -> TemplateVersion:
    version = lock_one(TemplateVersion, version.pk)
    if not can_approve(acting_user, version.template):
        raise ActionError({"user": _("Only a user of this template's creditor may approve it.")})
    if version.status != S.PENDING:
        raise ActionError({"status": _("Only a version pending approval can be rejected.")})
    note = (note or "").strip()
    if not note:
        raise ActionError({"note": _("Give a reason.")})
    version.status = S.REJECTED
    version.review_note = note[:300]
    version.save(update_fields=["status", "review_note"])
    audit("template.reject", actor=acting_user, obj=version, template_id=version.template_id,
          number=version.number, reason=note[:300])
    return version


@transaction.atomic(durable=True)
def do_retire_template(template: MessageTemplate, *, acting_user, reason: str = "") -> MessageTemplate:
    """Stop using a template: its active version is retired (nothing of it can be sent)."""
    _require_editor(acting_user)
    template = lock_one(MessageTemplate, template.pk)
    retired = []
    for v in template.versions.filter(active=True):
        v.active = False
        v.status = S.RETIRED
        v.save(update_fields=["active", "status"])
        retired.append(v.pk)
    audit("template.retire", actor=acting_user, obj=template, retired=retired, reason=(reason or "")[:300])
    return template


# --- SMS ----------------------------------------------------------------------------------------

OPT_OUT_WORDS = frozenset({"退订", "TD", "T", "STOP", "N", "UNSUBSCRIBE"})
_OPT_OUT_STRIP = "".join(" \t\r\n.,!?;:'\"，。！？；：、【】[]()（）")


def is_opt_out(text: str) -> bool:
    """退订 / TD / T / STOP (any case, with punctuation), or any reply containing 退订."""
    word = (text or "").strip(_OPT_OUT_STRIP).upper()
    return word in OPT_OUT_WORDS or "退订" in (text or "")


def sms_context(case, party, *, acting_user=None, extra: dict | None = None) -> dict:
    """Placeholder values for a case (messaging.templates.PLACEHOLDERS); `extra` adds or overrides (e.g. link)."""
    from django.conf import settings

    collector = case.assigned_to or acting_user
    values = {
        "debtor_name": case.debtor.name,
        "party_name": party.name if party is not None else case.debtor.name,
        "amount": f"{case.total_due:,.2f}",
        "account_tail": (case.account_number or "")[-4:],
        "case_ref": str(case.pk),
        "product": case.product,
        "creditor": case.creditor.name,
        "agency": settings.SMS_AGENCY_NAME,
        "hotline": settings.SMS_HOTLINE,
        "collector": getattr(collector, "label", "") if collector else "",
        "today": timezone.localdate().isoformat(),
    }
    values.update(extra or {})
    return values


def _validate_sms(case, party, phone, version) -> None:
    from qingshou.portfolio.models import Phone

    errors = {}
    if party.debtor_id != case.debtor_id:
        errors["party"] = _("This person is not a party to the case.")
    if phone is None or phone.party_id != party.pk:
        errors["phone"] = _("This number does not belong to the chosen person.")
    elif phone.status == Phone.Status.INVALID:
        errors["phone"] = _("This number is marked invalid.")
    if version is None or version.template.kind != Kind.SMS or version.template.creditor_id != case.creditor_id:
        errors["template"] = _("Choose an SMS template of this case's creditor.")
    elif not version.usable:
        errors["template"] = _("Only an approved, active template version can be used.")
    elif not party.is_debtor and not version.template.safe_for_third_parties:
        errors["template"] = _("A third party only gets a template marked safe for third parties.")
    if errors:
        raise ActionError(errors)


def prepare_sms(case, *, party, phone, version, acting_user, extra: dict | None = None, at=None):
    """Validate and render one SMS; returns (body, ContactRequest) for the compliance engine."""
    from qingshou.compliance.hook import ContactRequest
    from qingshou.compliance.types import CALLBACK, COLLECT
    from qingshou.contact.models import Channel
    from qingshou.messaging.templates import render

    _validate_sms(case, party, phone, version)
    body = render(version, sms_context(case, party, acting_user=acting_user, extra=extra))
    request = ContactRequest(
        case_id=case.pk, party_id=party.pk, phone_id=phone.pk, channel=Channel.SMS, at=at or timezone.now(),
        party_is_debtor=party.is_debtor, party_relation=party.relation,
        purpose=COLLECT if party.is_debtor else CALLBACK, template_id=version.pk, requested_by_id=acting_user.pk,
        text=body, institution_stated=True,
    )
    return body, request


def store_sms(case, *, party, phone, version, acting_user, body, request, decision, batch=None):
    """Store one checked SMS (inner helper: call inside a transaction, the case locked).

    Refused: an SmsMessage with status "refused" and the decision, a contact_refused event, a
    "sms.refused" audit row. Allowed: the message is queued, a ContactAttempt (channel sms, outcome
    sms_sent) counts toward the caps at once, and delivery is enqueued after commit.
    """
    from qingshou.compliance.hook import record_decision
    from qingshou.contact.models import Channel, ContactAttempt, Direction
    from qingshou.core.tasks import enqueue_on_commit
    from qingshou.messaging.models import SmsMessage, SmsStatus
    from qingshou.messaging.tasks import deliver_sms
    from qingshou.portfolio import events

    at = request.at
    stored = record_decision(request, decision, acting_user=acting_user)
    message = SmsMessage(case=case, party=party, phone=phone, template_version=version, batch=batch, body=body,
                         params={}, created_by=acting_user, decision=stored)
    if not decision.allowed:
        message.status = SmsStatus.REFUSED
        message.error_code = ",".join(r.rule for r in decision.reasons)[:40]
        message.save()
        events.contact_refused(case, stored, user=acting_user)
        audit("sms.refused", actor=acting_user, obj=message, case_id=case.pk,
              rules=[r.rule for r in decision.reasons], batch_id=batch.pk if batch else None)
        return message
    message.status = SmsStatus.QUEUED
    message.save()
    contact = ContactAttempt.objects.create(
        case=case, party=party, phone=phone, collector=acting_user, channel=Channel.SMS,
        direction=Direction.OUTBOUND, started_at=at, outcome=sms_outcome("sms_sent"),
        notes=body[:500], decision=stored,
        seconds_since_assignment=int((at - case.assigned_at).total_seconds()) if case.assigned_at else None,
    )
    message.contact = contact
    message.save(update_fields=["contact"])
    events.sms_queued(case, message, user=acting_user)
    events.contact_logged(case, contact, user=acting_user)
    audit("sms.send", actor=acting_user, obj=message, case_id=case.pk, template_version=version.pk,
          batch_id=batch.pk if batch else None, contact_id=contact.pk)
    case.last_contact_at = max(filter(None, [case.last_contact_at, at]))
    case.save(update_fields=["last_contact_at"])
    enqueue_on_commit(deliver_sms, message.pk)
    return message


def queue_sms(case, *, party, phone, version, acting_user, batch=None, extra: dict | None = None, at=None):
    """Check one SMS with the compliance engine and store it (inner helper: call inside a transaction)."""
    from qingshou.compliance.hook import check_contact

    body, request = prepare_sms(case, party=party, phone=phone, version=version, acting_user=acting_user,
                                extra=extra, at=at)
    return store_sms(case, party=party, phone=phone, version=version, acting_user=acting_user, body=body,
                     request=request, decision=check_contact(request), batch=batch)


@transaction.atomic(durable=True)
def do_send_sms(case, *, party, phone, version, acting_user, extra: dict | None = None):
    """Send one SMS from the case page (or the API): compliance check, then queue. Returns the SmsMessage."""
    from qingshou.portfolio.models import Case

    case = lock_one(Case, case.pk)
    return queue_sms(case, party=party, phone=phone, version=version, acting_user=acting_user, extra=extra)


def debtor_sms_phone(case):
    """The debtor's party and the first number not marked invalid (valid before unknown), or (party, None)."""
    from qingshou.portfolio.models import Phone

    party = case.debtor.parties.filter(relation="self").first()
    if party is None:
        return None, None
    phones = [p for p in party.phones.all() if p.status != Phone.Status.INVALID]
    phones.sort(key=lambda p: (p.status != Phone.Status.VALID, p.pk))
    return party, (phones[0] if phones else None)


@transaction.atomic(durable=True)
def do_create_sms_batch(case_ids, *, version, acting_user, criteria: dict | None = None):
    """A bulk send over cases the user may work; the batch runs in a background task (progress on its page)."""
    from qingshou.core.scoping import workable_cases
    from qingshou.core.tasks import enqueue_on_commit
    from qingshou.messaging.models import SmsBatch
    from qingshou.messaging.tasks import run_sms_batch

    ids = sorted(set(workable_cases(acting_user).filter(pk__in=list(case_ids)).values_list("pk", flat=True)))
    if not ids:
        raise ActionError({"cases": _("No case to send to.")})
    if version is None or not version.usable or version.template.kind != Kind.SMS:
        raise ActionError({"template": _("Only an approved, active template version can be used.")})
    batch = SmsBatch.objects.create(template_version=version, created_by=acting_user, total=len(ids),
                                    criteria={**(criteria or {}), "case_ids": ids})
    audit("sms.batch", actor=acting_user, obj=batch, template_version=version.pk, total=len(ids))
    enqueue_on_commit(run_sms_batch, batch.pk)
    return batch


BATCH_CHUNK = 100


def run_batch(batch_id: int) -> dict:
    """Queue one message per case of the batch (idempotent: cases already done are skipped).

    Cases go in chunks of BATCH_CHUNK, each chunk in one transaction with its cases locked: the
    compliance engine checks the chunk with one batch of queries (`check_contacts`). A debtor with
    several cases in the batch gets them in different chunks, so each check sees the SMS before it.
    """
    from qingshou.core.models import AuditLog
    from qingshou.messaging.models import SmsBatch, SmsMessage

    batch = SmsBatch.objects.select_related("template_version__template", "created_by").get(pk=batch_id)
    done = set(SmsMessage.objects.filter(batch=batch).values_list("case_id", flat=True))
    done |= set(AuditLog.objects.filter(action="sms.skipped", data__batch_id=batch.pk)
                .values_list("case_id", flat=True))
    todo = [pk for pk in batch.criteria.get("case_ids", []) if pk not in done]
    counts = {"queued": 0, "refused": 0, "skipped": 0}
    while todo:
        chunk, later, debtors = [], [], set()
        for pk in todo:
            (chunk if len(chunk) < BATCH_CHUNK else later).append(pk)
        todo = later
        for key, n in _run_chunk(batch, chunk, debtors, todo).items():
            counts[key] += n
    SmsBatch.objects.filter(pk=batch.pk, finished_at__isnull=True).update(finished_at=timezone.now())
    return counts


def _run_chunk(batch, case_ids, debtors: set, todo: list) -> dict:
    """One chunk in one transaction; a second case of a debtor already in the chunk is put back in `todo`."""
    from qingshou.compliance.hook import check_contacts
    from qingshou.core.locking import lock_rows
    from qingshou.messaging.models import SmsStatus
    from qingshou.portfolio.models import Case

    counts = {"queued": 0, "refused": 0, "skipped": 0}
    user, version = batch.created_by, batch.template_version
    with transaction.atomic():
        cases = lock_rows(Case.objects.filter(pk__in=case_ids).select_related("debtor", "creditor", "assigned_to"))
        prepared = []
        for case in cases:
            if case.debtor_id in debtors:
                todo.append(case.pk)
                continue
            debtors.add(case.debtor_id)
            party, phone = debtor_sms_phone(case)
            try:
                if phone is None:
                    raise ActionError({"phone": _("No usable number.")})
                body, request = prepare_sms(case, party=party, phone=phone, version=version, acting_user=user)
            except ActionError as exc:
                audit("sms.skipped", actor=user, obj=batch, case_id=case.pk, batch_id=batch.pk,
                      errors=[str(m) for m in exc.messages])
                counts["skipped"] += 1
                continue
            prepared.append((case, party, phone, body, request))
        decisions = check_contacts([p[4] for p in prepared])
        for (case, party, phone, body, request), decision in zip(prepared, decisions, strict=True):
            message = store_sms(case, party=party, phone=phone, version=version, acting_user=user, body=body,
                                request=request, decision=decision, batch=batch)
            counts["refused" if message.status == SmsStatus.REFUSED else "queued"] += 1
    return counts


def batch_progress(batch) -> dict:
    from django.db.models import Count

    from qingshou.core.models import AuditLog
    from qingshou.messaging.models import SmsStatus

    by_status = dict(batch.messages.values_list("status").annotate(n=Count("pk")).order_by())
    skipped = AuditLog.objects.filter(action="sms.skipped", data__batch_id=batch.pk).count()
    processed = sum(by_status.values()) + skipped
    return {
        "total": batch.total, "processed": processed, "skipped": skipped,
        "percent": int(100 * processed / batch.total) if batch.total else 100,
        **{s: by_status.get(s, 0) for s in SmsStatus.values},
        "finished": batch.finished_at is not None,
    }


# --- delivery, receipts, replies ---------------------------------------------------------------

def _set_status(message, status, *, error="", **fields):
    from qingshou.portfolio import events

    message.status = status
    message.error_code = (error or "")[:40]
    for k, v in fields.items():
        setattr(message, k, v)
    message.save(update_fields=["status", "error_code", *fields])
    events.sms_status(message.case, message, error=message.error_code)


def _mark_contact_failed(message):
    from qingshou.contact.models import ContactAttempt

    if message.contact_id:
        ContactAttempt.objects.filter(pk=message.contact_id).update(outcome=sms_outcome("sms_failed"))


@transaction.atomic(durable=True)
def do_record_send_result(message_id: int, *, gateway_id: str = "", error: str = "", permanent: bool = False,
                          final: bool = False, backend: str = ""):
    """After one delivery attempt: sent (gateway id), or an error (failed when permanent or the last try)."""
    from qingshou.messaging.models import SmsMessage, SmsStatus

    message = lock_one(SmsMessage, message_id)
    if message.status != SmsStatus.QUEUED:
        return message
    message.attempts += 1
    if gateway_id:
        _set_status(message, SmsStatus.SENT, gateway_id=gateway_id, sent_at=timezone.now(), attempts=message.attempts,
                    backend=backend)
        audit("sms.sent", actor=None, obj=message, case_id=message.case_id, gateway_id=gateway_id,
              attempts=message.attempts)
    elif permanent or final:
        _set_status(message, SmsStatus.FAILED, error=error, attempts=message.attempts, backend=backend)
        _mark_contact_failed(message)
        audit("sms.failed", actor=None, obj=message, case_id=message.case_id, error=error,
              attempts=message.attempts, permanent=permanent)
    else:
        message.error_code = error[:40]
        message.save(update_fields=["attempts", "error_code"])
    return message


RECEIPT_STATUS = {"DELIVERED": "delivered", "FAILED": "failed", "UNDELIVERED": "failed", "REJECTED": "failed"}


@transaction.atomic(durable=True)
def do_record_receipt(*, gateway_id: str = "", out_id: str = "", status: str, error_code: str = ""):
    """A delivery receipt from the gateway. Unknown message: None. Repeated receipts are harmless."""
    from qingshou.messaging.models import SmsMessage, SmsStatus

    new = RECEIPT_STATUS.get((status or "").upper())
    if new is None:
        raise ActionError({"status": _("Unknown receipt status.")})
    qs = SmsMessage.objects.none()
    if out_id.startswith("qs-") and out_id[3:].isdigit():
        qs = SmsMessage.objects.filter(pk=int(out_id[3:]))
    elif gateway_id:
        qs = SmsMessage.objects.filter(gateway_id=gateway_id)
    row = qs.values_list("pk", flat=True).first()
    if row is None:
        return None
    message = lock_one(SmsMessage, row)
    if message.status not in (SmsStatus.SENT, SmsStatus.QUEUED) or message.status == new:
        return message
    if new == SmsStatus.DELIVERED:
        _set_status(message, SmsStatus.DELIVERED, delivered_at=timezone.now())
    else:
        _set_status(message, SmsStatus.FAILED, error=error_code or "undelivered")
        _mark_contact_failed(message)
    audit("sms.receipt", actor=None, obj=message, case_id=message.case_id, status=new, error=error_code[:40])
    return message


@transaction.atomic(durable=True)
def do_receive_sms(*, phone_number: str, text: str, gateway_id: str = ""):
    """An inbound reply. An opt-out (退订/TD/T/STOP) places a do-not-contact entry for SMS on that number,
    for every debtor file the number belongs to, so the compliance engine refuses later SMS to it."""
    from qingshou.compliance.models import DoNotContact
    from qingshou.core.crypto import lookup_hashes
    from qingshou.messaging.models import InboundSms
    from qingshou.portfolio import events
    from qingshou.portfolio.models import Case, Phone
    from qingshou.portfolio.search import number_candidates

    candidates = number_candidates(phone_number)
    phones = list(Phone.objects.filter(number__in=candidates).select_related("party")) if candidates else []
    opt_out = is_opt_out(text)
    hashes = lookup_hashes(candidates[-1]) if candidates else [""]
    inbound = InboundSms.objects.create(phone_hash=hashes[0][:64], text=(text or "")[:500],
                                        gateway_id=gateway_id[:80], phone=phones[0] if phones else None,
                                        opt_out=opt_out)
    audit("sms.inbound", actor=None, obj=inbound, opt_out=opt_out, phones=[p.pk for p in phones])
    for phone in phones:
        debtor_id = phone.party.debtor_id
        cases = list(Case.objects.filter(debtor_id=debtor_id).order_by("pk"))
        for case in cases:
            events.sms_reply(case, inbound, opt_out=opt_out)
        if not opt_out:
            continue
        exists = DoNotContact.objects.filter(debtor_id=debtor_id, phone=phone, channel="sms", case__isnull=True,
                                             lifted_at__isnull=True).exists()
        if exists:
            continue
        dnc = DoNotContact.objects.create(debtor_id=debtor_id, phone=phone, channel="sms",
                                          reason=_("SMS opt-out reply: %(text)s") % {"text": (text or "")[:40]},
                                          created_by=None)
        for case in cases:
            events.dnc_added(case, dnc, user=None)
        audit("dnc.add", actor=None, obj=dnc, reason="sms opt-out", debtor_id=debtor_id, phone_id=phone.pk,
              channel="sms", inbound_id=inbound.pk)
    return inbound
