"""Letters: batches over a segment (each letter a contact through the compliance engine) and the dispatch register.

    batch = do_create_letter_batch(case_ids, kind="letter", version=v, acting_user=sup)   # task renders
    run_letter_batch(batch.pk)                                   # one transaction per case, idempotent
    do_update_dispatch(letter, acting_user=u, status="sent", sent_on=d, carrier="EMS", tracking_number="…")
    result = do_import_tracking(csv_bytes, acting_user=u)        # all rows valid, or nothing written
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.locking import lock_one
from qingshou.core.scoping import visible_cases
from qingshou.letters.models import Letter, LetterBatch, LetterKind
from qingshou.org.models import Role
from qingshou.portfolio import events
from qingshou.portfolio.models import Address, Case

# Who prepares letters: collection letters by team leaders and supervisors, lawyer's letters by lawyers and
# supervisors. The cases are those the user may see (a lawyer sees the branch's legal cases).
LETTER_ROLES = {LetterKind.LETTER: (Role.TEAM_LEADER, Role.SUPERVISOR),
                LetterKind.LAWYER_LETTER: (Role.LAWYER, Role.SUPERVISOR)}
MANAGER_ROLES = (Role.TEAM_LEADER, Role.SUPERVISOR, Role.LAWYER)
ADDRESS_ORDER = (Address.Kind.HOME, Address.Kind.HUKOU, Address.Kind.WORK, Address.Kind.OTHER)
MAX_BATCH = 5000
LETTER_PAY_DAYS = 10   # {due_date} in a letter: pay within this many days of the letter date


def letter_outcome():
    """The outcome code of a letter contact record (created by the letters migration; restored if flushed)."""
    from qingshou.contact.models import OutcomeCode

    return OutcomeCode.objects.get_or_create(code="letter_sent", defaults={
        "label_zh": "信函已生成", "label_en": "letter generated", "order": 910})[0]


def can_manage_letters(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.role in MANAGER_ROLES)


def can_make(user, kind: str) -> bool:
    return can_manage_letters(user) and user.role in LETTER_ROLES.get(kind, ())


def visible_letters(user):
    if not can_manage_letters(user):
        return Letter.objects.none()
    return Letter.objects.filter(case__in=visible_cases(user).values("pk"))


def masked_account(number: str) -> str:
    tail = (number or "")[-4:]
    return f"****{tail}" if tail else ""


def letter_address(party):
    """The debtor's postal address for a letter: home, then registered residence, work, other."""
    by_kind = {}
    for a in party.addresses.all().order_by("id"):
        by_kind.setdefault(a.kind, a)
    for kind in ADDRESS_ORDER:
        if kind in by_kind:
            return by_kind[kind]
    return None


def letter_content(case, party, address, version, *, kind: str, ref: str, acting_user=None):
    """Everything printed on one letter (pdf.LetterContent), with the approved template rendered."""
    from qingshou.letters.pdf import LetterContent
    from qingshou.messaging.actions import sms_context
    from qingshou.messaging.templates import render

    today = timezone.localdate()
    pay_by = today + timedelta(days=LETTER_PAY_DAYS)
    body = render(version, sms_context(case, party, acting_user=acting_user, extra={
        "due_date": f"{pay_by.year}年{pay_by.month}月{pay_by.day}日"}))
    collector = case.assigned_to
    return LetterContent(
        kind=kind, ref=ref, date=f"{today.year}年{today.month:02d}月{today.day:02d}日",
        recipient=party.name, address=address.text if address else "", body=body,
        creditor=case.creditor.name, product=case.product, account_masked=masked_account(case.account_number),
        dpd=case.dpd, principal=case.principal, interest=case.interest, late_fees=case.late_fees,
        other_fees=case.other_fees, total=case.total_due, agency=settings.SMS_AGENCY_NAME,
        hotline=settings.SMS_HOTLINE, sender_address=settings.LETTER_SENDER_ADDRESS,
        collector=collector.label if collector else "",
    )


@transaction.atomic(durable=True)
def do_create_letter_batch(case_ids, *, kind: str, version, acting_user, criteria: dict | None = None) -> LetterBatch:
    """A batch over the cases (of those given) the user may see; a background task renders the letters."""
    from qingshou.core.tasks import enqueue_on_commit
    from qingshou.letters.tasks import run_letter_batch_task

    if kind not in LetterKind.values:
        raise ActionError({"kind": _("Unknown kind.")})
    if not can_make(acting_user, kind):
        raise ActionError({"kind": _("You may not prepare letters of this kind.")})
    if version is None or not version.usable or version.template.kind != kind:
        raise ActionError({"template": _("Only an approved, active template version can be used.")})
    ids = sorted(set(visible_cases(acting_user).filter(pk__in=list(case_ids), creditor_id=version.template.creditor_id)
                     .values_list("pk", flat=True)))
    if not ids:
        raise ActionError({"cases": _("No case of this template's creditor matches.")})
    if len(ids) > MAX_BATCH:
        raise ActionError({"cases": _("At most %(n)s letters per batch.") % {"n": MAX_BATCH}})
    batch = LetterBatch.objects.create(kind=kind, template_version=version, created_by=acting_user,
                                       criteria=criteria or {}, case_ids=ids, total=len(ids))
    audit("letter.batch", actor=acting_user, obj=batch, kind=kind, template_version=version.pk, total=len(ids),
          criteria=criteria or {})
    enqueue_on_commit(run_letter_batch_task, batch.pk)
    return batch


def _skip(batch, case, party, reason: str, user) -> Letter:
    letter = Letter.objects.create(batch=batch, case=case, party=party, status=Letter.Status.SKIPPED,
                                   reasons=[reason])
    audit("letter.skipped", actor=user, obj=letter, case_id=case.pk, batch_id=batch.pk, reason=reason)
    return letter


def make_letter(batch: LetterBatch, case: Case, *, acting_user) -> Letter:
    """One letter of a batch (inner helper: the caller's transaction holds the case lock)."""
    from qingshou.compliance.hook import ContactRequest, check_contact, record_decision
    from qingshou.compliance.types import COLLECT
    from qingshou.contact.models import Channel, ContactAttempt, Direction
    from qingshou.letters.pdf import render_pdf_pages

    version = batch.template_version
    party = case.debtor.parties.filter(relation="self").first()
    if party is None:
        return _skip(batch, case, None, _("The case has no debtor party."), acting_user)
    address = letter_address(party)
    if address is None:
        return _skip(batch, case, party, _("No postal address on file."), acting_user)
    ref = f"L{batch.pk:05d}-{case.pk}"
    try:
        content = letter_content(case, party, address, version, kind=batch.kind, ref=ref, acting_user=acting_user)
    except ActionError as exc:
        return _skip(batch, case, party, "; ".join(str(m) for m in exc.messages), acting_user)
    now = timezone.now()
    request = ContactRequest(
        case_id=case.pk, party_id=party.pk, channel=Channel.LETTER, at=now, party_is_debtor=True,
        party_relation=party.relation, address_id=address.pk, purpose=COLLECT, template_id=version.pk,
        requested_by_id=acting_user.pk, text=content.body, institution_stated=True,
    )
    decision = check_contact(request)
    stored = record_decision(request, decision, acting_user=acting_user)
    letter = Letter(batch=batch, case=case, party=party, address=address, body=content.body, decision=stored)
    if not decision.allowed:
        letter.status = Letter.Status.REFUSED
        letter.reasons = [r.message_zh for r in decision.reasons]
        letter.save()
        events.contact_refused(case, stored, user=acting_user)
        audit("letter.refused", actor=acting_user, obj=letter, case_id=case.pk, batch_id=batch.pk,
              rules=[r.rule for r in decision.reasons])
        return letter
    pdf, pages = render_pdf_pages(content)
    letter.status = Letter.Status.GENERATED
    letter.pages = pages
    letter.pdf.save(f"{ref}.pdf", ContentFile(pdf), save=False)
    letter.save()
    contact = ContactAttempt.objects.create(
        case=case, party=party, collector=acting_user, channel=Channel.LETTER, direction=Direction.OUTBOUND,
        started_at=now, outcome=letter_outcome(), notes=f"{content.title} {ref}",
        decision=stored,
        seconds_since_assignment=int((now - case.assigned_at).total_seconds()) if case.assigned_at else None,
    )
    letter.contact = contact
    letter.save(update_fields=["contact"])
    events.letter_generated(case, letter, user=acting_user)
    events.contact_logged(case, contact, user=acting_user)
    audit("letter.generate", actor=acting_user, obj=letter, case_id=case.pk, batch_id=batch.pk,
          template_version=version.pk, contact_id=contact.pk)
    case.last_contact_at = max(filter(None, [case.last_contact_at, now]))
    case.save(update_fields=["last_contact_at"])
    return letter


def run_letter_batch(batch_id: int) -> dict:
    """Render every letter of the batch, one transaction per case; cases already done are skipped (idempotent)."""
    batch = LetterBatch.objects.select_related("template_version__template", "created_by").get(pk=batch_id)
    done = set(batch.letters.values_list("case_id", flat=True))
    counts = {s: 0 for s in Letter.Status.values}
    for case_id in batch.case_ids:
        if case_id in done:
            continue
        with transaction.atomic():
            case = lock_one(Case, case_id)
            letter = make_letter(batch, case, acting_user=batch.created_by)
        counts[letter.status] += 1
    if batch.finished_at is None:
        LetterBatch.objects.filter(pk=batch.pk, finished_at__isnull=True).update(finished_at=timezone.now())
    return counts


def batch_progress(batch: LetterBatch) -> dict:
    from django.db.models import Count

    by_status = dict(batch.letters.values_list("status").annotate(n=Count("pk")).order_by())
    processed = sum(by_status.values())
    return {
        "total": batch.total, "processed": processed,
        "percent": int(100 * processed / batch.total) if batch.total else 100,
        **{s: by_status.get(s, 0) for s in Letter.Status.values},
        "finished": batch.finished_at is not None,
    }


# --- dispatch register ---------------------------------------------------------------------------

D = Letter.Dispatch
CARRIER_MAX = Letter._meta.get_field("carrier").max_length
TRACKING_MAX = Letter._meta.get_field("tracking_number").max_length


def _dispatch_errors(letter, status, sent_on, carrier, tracking) -> dict:
    errors = {}
    if letter.status != Letter.Status.GENERATED:
        errors["letter"] = _("Only a generated letter can be dispatched.")
    if status not in D.values:
        errors["status"] = _("Unknown dispatch status.")
    elif status != D.PENDING:
        if sent_on is None:
            errors["sent_on"] = _("Enter the date the letter was sent.")
        if not carrier:
            errors["carrier"] = _("Enter the carrier.")
        if not tracking:
            errors["tracking_number"] = _("Enter the tracking number.")
    if sent_on is not None and sent_on > timezone.localdate():
        errors["sent_on"] = _("The date cannot be in the future.")
    if len(carrier) > CARRIER_MAX:
        errors["carrier"] = _("At most %(n)s characters.") % {"n": CARRIER_MAX}
    if len(tracking) > TRACKING_MAX:
        errors["tracking_number"] = _("At most %(n)s characters.") % {"n": TRACKING_MAX}
    return errors


def update_dispatch(letter: Letter, *, acting_user, status: str, sent_on: date | None, carrier: str,
                    tracking_number: str, note: str = "", source: str = "form") -> Letter:
    """Inner helper (caller's transaction, letter locked): change the register row, event and audit."""
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    errors = _dispatch_errors(letter, status, sent_on, carrier, tracking_number)
    if errors:
        raise ActionError(errors)
    old = {"status": letter.dispatch_status, "carrier": letter.carrier, "tracking": letter.tracking_number,
           "sent_on": letter.sent_on}
    letter.dispatch_status = status
    letter.sent_on = sent_on
    letter.carrier = carrier
    letter.tracking_number = tracking_number
    letter.dispatch_note = (note or "").strip()[:300]
    letter.dispatch_updated_at = timezone.now()
    letter.save(update_fields=["dispatch_status", "sent_on", "carrier", "tracking_number", "dispatch_note",
                               "dispatch_updated_at"])
    events.letter_dispatch(letter.case, letter, user=acting_user)
    audit("letter.dispatch", actor=acting_user, obj=letter, case_id=letter.case_id, old=old, status=status,
          carrier=carrier, tracking=tracking_number, sent_on=sent_on, source=source)
    return letter


@transaction.atomic(durable=True)
def do_update_dispatch(letter: Letter, *, acting_user, status: str, sent_on: date | None, carrier: str,
                       tracking_number: str, note: str = "") -> Letter:
    letter = lock_one(Letter, letter.pk)
    return update_dispatch(letter, acting_user=acting_user, status=status, sent_on=sent_on, carrier=carrier,
                           tracking_number=tracking_number, note=note)


# CSV of tracking numbers: header names (Chinese or English) -> field.
IMPORT_HEADERS = {
    "信函编号": "ref", "letter": "ref", "ref": "ref",
    "承运商": "carrier", "快递公司": "carrier", "carrier": "carrier",
    "运单号": "tracking_number", "快递单号": "tracking_number", "tracking_number": "tracking_number",
    "寄出日期": "sent_on", "sent_on": "sent_on",
    "状态": "status", "status": "status",
}
STATUS_WORDS = {"已寄出": D.SENT, "寄出": D.SENT, "sent": D.SENT, "已妥投": D.DELIVERED, "妥投": D.DELIVERED,
                "签收": D.DELIVERED, "已签收": D.DELIVERED, "delivered": D.DELIVERED, "退回": D.RETURNED,
                "已退回": D.RETURNED, "returned": D.RETURNED, "": D.SENT}
MAX_IMPORT_ROWS = 10000


@dataclass
class TrackingImport:
    rows: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)   # (row number, Chinese-or-English message)


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ActionError({"file": _("The file is neither UTF-8 nor GBK text.")})


def _letter_for_ref(ref: str, scope):
    """Letter numbers are printed as L<batch>-<case>; a bare letter id is accepted too."""
    ref = ref.strip()
    if ref.upper().startswith("L") and "-" in ref:
        b, _sep, c = ref[1:].partition("-")
        if b.isdigit() and c.isdigit():
            return scope.filter(batch_id=int(b), case_id=int(c)).first()
        return None
    if ref.isdigit() and len(ref) < 19:
        return scope.filter(pk=int(ref)).first()
    return None


@transaction.atomic(durable=True)
def do_import_tracking(data: bytes, *, acting_user, file_name: str = "") -> TrackingImport:
    """Tracking numbers from a CSV (信函编号, 承运商, 运单号, 寄出日期[, 状态]). Every row is validated and every
    error reported with its row number; nothing is written unless all rows are good."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise ActionError({"file": _("The file is empty.")})
    columns = {}
    for i, h in enumerate(header):
        key = IMPORT_HEADERS.get(h.strip().lower()) or IMPORT_HEADERS.get(h.strip())
        if key:
            columns[key] = i
    missing = [k for k in ("ref", "carrier", "tracking_number", "sent_on") if k not in columns]
    if missing:
        raise ActionError({"file": _("Missing column(s): %(names)s. Expected 信函编号, 承运商, 运单号, 寄出日期 "
                                     "and optionally 状态.") % {"names": ", ".join(missing)}})
    scope = visible_letters(acting_user)
    result = TrackingImport()
    plans = []
    seen = {}
    for rowno, row in enumerate(reader, start=2):
        if not any(c.strip() for c in row):
            continue
        result.rows += 1
        if result.rows > MAX_IMPORT_ROWS:
            raise ActionError({"file": _("At most %(n)s rows per file.") % {"n": MAX_IMPORT_ROWS}})

        def col(key, row=row):
            i = columns.get(key)
            return row[i].strip() if i is not None and i < len(row) else ""

        ref = col("ref")
        letter = _letter_for_ref(ref, scope) if ref else None
        if letter is None:
            result.errors.append((rowno, _("Unknown letter number “%(ref)s”.") % {"ref": ref[:40]}))
            continue
        if letter.pk in seen:
            result.errors.append((rowno, _("The letter is also on row %(row)s.") % {"row": seen[letter.pk]}))
            continue
        seen[letter.pk] = rowno
        raw_status = col("status")
        status = STATUS_WORDS.get(raw_status.lower() if raw_status.isascii() else raw_status)
        if status is None:
            result.errors.append((rowno, _("Unknown status “%(s)s”.") % {"s": raw_status[:20]}))
            continue
        raw_date = col("sent_on").replace("/", "-").replace(".", "-")
        try:
            sent_on = date.fromisoformat(raw_date) if raw_date else None
        except ValueError:
            sent_on = None
            result.errors.append((rowno, _("Invalid date “%(d)s”: use YYYY-MM-DD.") % {"d": raw_date[:20]}))
            continue
        errs = _dispatch_errors(letter, status, sent_on, col("carrier"), col("tracking_number"))
        if errs:
            result.errors.append((rowno, " ".join(str(v) for v in errs.values())))
            continue
        plans.append((letter.pk, status, sent_on, col("carrier"), col("tracking_number")))
    if result.errors:
        audit("letter.import_rejected", actor=acting_user, file=file_name[:200], rows=result.rows,
              errors=len(result.errors))
        return result
    for pk, status, sent_on, carrier, tracking in sorted(plans):
        letter = lock_one(Letter, pk)
        update_dispatch(letter, acting_user=acting_user, status=status, sent_on=sent_on, carrier=carrier,
                        tracking_number=tracking, source="import")
        result.updated += 1
    audit("letter.import", actor=acting_user, file=file_name[:200], rows=result.rows, updated=result.updated)
    return result
