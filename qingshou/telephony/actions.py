"""Telephony actions: place a call (click-to-call and robot calls), complete it from the dialer's result,
store or flag its recording, play it (audited), purge it after retention, run voice campaigns and
import result files. Every call asks the compliance engine before anything rings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from qingshou.compliance.hook import ContactRequest, Decision, check_contact, check_contacts, record_decision
from qingshou.compliance.types import CALLBACK, COLLECT
from qingshou.contact.actions import apply_outcome_effects, touch_case
from qingshou.contact.models import PENDING_OUTCOME, Channel, ContactAttempt, ContactStatus, OutcomeCode, QaFlag
from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.locking import lock_one
from qingshou.core.tasks import enqueue_on_commit
from qingshou.portfolio import events
from qingshou.portfolio.models import Case, CaseStatus, Party, Phone
from qingshou.telephony.models import Call, Recording

# Hang-up causes (Q.850 / FreeSWITCH names, as CTI gateways report them) -> our outcome codes.
HANGUP_OUTCOMES = {
    "NO_ANSWER": "no_answer", "NO_USER_RESPONSE": "no_answer", "ORIGINATOR_CANCEL": "no_answer",
    "ALLOTTED_TIMEOUT": "no_answer", "RECOVERY_ON_TIMER_EXPIRE": "no_answer",
    "USER_BUSY": "rejected", "CALL_REJECTED": "rejected",
    "UNALLOCATED_NUMBER": "invalid_number", "NUMBER_CHANGED": "invalid_number",
    "INVALID_NUMBER_FORMAT": "invalid_number", "NO_ROUTE_DESTINATION": "invalid_number",
    "SUBSCRIBER_ABSENT": "powered_off", "POWERED_OFF": "powered_off",
}
ANSWERED = {"NORMAL_CLEARING", "ANSWERED"}


@dataclass
class CallResult:
    decision: Decision
    call: Call | None = None

    @property
    def placed(self) -> bool:
        return self.call is not None


def pending_outcome() -> OutcomeCode:
    outcome, _created = OutcomeCode.objects.get_or_create(
        code=PENDING_OUTCOME, defaults={"label_zh": "拨号中", "label_en": "Dialling", "order": 999, "is_active": False})
    return outcome


def extension_for(user) -> str:
    return str(settings.TELEPHONY_EXTENSION_BASE + user.pk)


def outcome_for(hangup_cause: str, duration: int, *, party_is_debtor: bool, disposition: str = "") -> OutcomeCode:
    """The agent's disposition when it is a usable code, else the outcome the hang-up cause implies."""
    if disposition:
        chosen = OutcomeCode.objects.filter(code=disposition, is_active=True).first()
        if chosen is not None:
            return chosen
    cause = (hangup_cause or "").strip().upper()
    if cause in ANSWERED and duration > 0:
        code = "rpc" if party_is_debtor else "tpc"
    else:
        code = HANGUP_OUTCOMES.get(cause, "no_answer")
    return OutcomeCode.objects.get(code=code)


# --- placing a call -------------------------------------------------------------------------------

def place_call(case: Case, *, party: Party, phone: Phone, acting_user, channel: str = Channel.CALL,
               campaign=None, script: str = "", template_id: int | None = None,
               institution_stated: bool = False) -> CallResult:
    """Ask the engine; when allowed make the PENDING contact record and the call, and originate after commit.

    Inner helper (no durable transaction): the campaign runner composes many into one batch."""
    errors = {}
    if party.debtor_id != case.debtor_id:
        errors["party"] = _("This person is not a party to the case.")
    if phone is None or phone.party_id != party.pk:
        errors["phone"] = _("This number does not belong to the chosen person.")
    if errors:
        raise ActionError(errors)
    request = call_request(case, party, phone, acting_user=acting_user, channel=channel, template_id=template_id,
                           institution_stated=institution_stated)
    return place_decided_call(case, party=party, phone=phone, acting_user=acting_user, request=request,
                              decision=check_contact(request), campaign=campaign, script=script)


def call_request(case: Case, party: Party, phone: Phone, *, acting_user, channel: str = Channel.CALL,
                 template_id: int | None = None, institution_stated: bool = False) -> ContactRequest:
    return ContactRequest(
        case_id=case.pk, party_id=party.pk, phone_id=phone.pk, channel=channel, at=timezone.now(),
        party_is_debtor=party.is_debtor, party_relation=party.relation,
        purpose=COLLECT if party.is_debtor else CALLBACK, requested_by_id=acting_user.pk,
        template_id=template_id, institution_stated=institution_stated,
    )


def place_decided_call(case: Case, *, party: Party, phone: Phone, acting_user, request: ContactRequest,
                       decision: Decision, campaign=None, script: str = "") -> CallResult:
    """Store the engine's decision; when allowed make the PENDING contact record and the call."""
    channel, now = request.channel, request.at
    stored = record_decision(request, decision, acting_user=acting_user)
    if not decision.allowed:
        events.contact_refused(case, stored, user=acting_user)
        audit("call.refused", actor=acting_user, obj=case, rules=[r.rule for r in decision.reasons],
              channel=channel, campaign_id=getattr(campaign, "pk", None))
        return CallResult(decision=decision)
    since = int((now - case.assigned_at).total_seconds()) if case.assigned_at else None
    contact = ContactAttempt.objects.create(
        case=case, party=party, phone=phone, collector=acting_user, channel=channel, started_at=now,
        outcome=pending_outcome(), status=ContactStatus.PENDING, decision=stored, seconds_since_assignment=since,
    )
    call = Call.objects.create(contact=contact, campaign=campaign, requested_by=acting_user,
                               backend=settings.TELEPHONY_BACKEND,
                               extension="" if channel == Channel.ROBOT else extension_for(acting_user),
                               script=script)
    events.call_placed(case, call, user=acting_user)
    audit("call.place", actor=acting_user, obj=contact, case_id=case.pk, call_id=call.call_id, channel=channel,
          phone_id=phone.pk, campaign_id=getattr(campaign, "pk", None))
    from qingshou.telephony.tasks import originate_call

    enqueue_on_commit(originate_call, call.pk)
    return CallResult(decision=decision, call=call)


@transaction.atomic(durable=True)
def do_place_call(case: Case, *, party: Party, phone: Phone, acting_user,
                  institution_stated: bool = False) -> CallResult:
    """Click-to-call from the case page: the agent's extension rings, then the number."""
    case = lock_one(Case, case.pk)
    return place_call(case, party=party, phone=phone, acting_user=acting_user,
                      institution_stated=institution_stated or settings.TELEPHONY_ANNOUNCES_INSTITUTION)


@transaction.atomic(durable=True)
def do_record_originate(call_pk: int, *, gateway_call_id: str = "", error: str = "", final: bool = False) -> Call:
    """The originate request's result: ringing, a retryable error (attempt counted) or a final failure."""
    call = Call.objects.select_for_update().select_related("contact").get(pk=call_pk)
    call.attempts += 1
    fields = ["attempts"]
    if gateway_call_id and call.state == Call.State.QUEUED:
        call.state, call.gateway_call_id, call.error = Call.State.RINGING, gateway_call_id[:64], ""
        fields += ["state", "gateway_call_id", "error"]
    elif error:
        call.error = error[:120]
        fields.append("error")
        if final and call.state == Call.State.QUEUED:
            call.state = Call.State.FAILED
            fields.append("state")
            contact = call.contact
            contact.status = ContactStatus.FAILED
            contact.save(update_fields=["status"])
            audit("call.failed", actor=None, obj=contact, case_id=contact.case_id, call_id=call.call_id, error=error)
    call.save(update_fields=fields)
    return call


# --- the result -----------------------------------------------------------------------------------

def _store_recording(contact: ContactAttempt, data: bytes, *, content_type: str, source: str) -> Recording:
    ext = "mp3" if "mpeg" in content_type or source.lower().endswith(".mp3") else "wav"
    keep_until = timezone.localdate(contact.started_at) + timedelta(days=settings.RECORDING_RETENTION_DAYS)
    recording = Recording(contact=contact, content_type=content_type if content_type.startswith("audio/")
                          else f"audio/{'mpeg' if ext == 'mp3' else 'wav'}", size=len(data),
                          sha256=hashlib.sha256(data).hexdigest(), source=source[:300], purge_after=keep_until)
    recording.file.save(f"{contact.case_id}-{contact.pk}.{ext}", ContentFile(data), save=False)
    recording.save()
    contact.recording_ref = recording.file.name[:200]
    fields = ["recording_ref"]
    if contact.qa_flag == QaFlag.NO_RECORDING:
        contact.qa_flag = QaFlag.NONE
        fields.append("qa_flag")
    contact.save(update_fields=fields)
    events.recording_stored(contact.case, recording)
    audit("recording.store", actor=None, obj=recording, case_id=contact.case_id, contact_id=contact.pk,
          size=recording.size, source=source[:300])
    return recording


def _flag_missing(contact: ContactAttempt, *, reason: str) -> None:
    if contact.qa_flag != QaFlag.NO_RECORDING:
        contact.qa_flag = QaFlag.NO_RECORDING
        contact.save(update_fields=["qa_flag"])
        events.recording_missing(contact.case, contact)
        audit("call.no_recording", actor=None, obj=contact, case_id=contact.case_id, reason=reason)


def complete_call(call_id: str, *, duration: int, hangup_cause: str, started_at: datetime | None = None,
                     recording_url: str = "", disposition: str = "", recording: bytes | None = None,
                     recording_type: str = "audio/wav", gateway_call_id: str = "") -> Call | None:
    """Complete the PENDING contact record from the dialer's result (idempotent: a repeat is ignored).

    With `recording_url` the recording is fetched by a task after commit; with `recording` (bytes:
    console backend, file import) it is stored now; with neither the contact is flagged for QA."""
    call = Call.objects.select_for_update().filter(call_id=call_id).first()
    if call is None:
        return None
    if call.state == Call.State.COMPLETED:
        return call
    if duration < 0 or duration > 6 * 3600:
        raise ActionError({"duration": _("Duration must be between 0 and 6 hours.")})
    contact = ContactAttempt.objects.select_related("party", "phone", "case").get(pk=call.contact_id)
    case = lock_one(Case, contact.case_id)
    contact.outcome = outcome_for(hangup_cause, duration, party_is_debtor=contact.party.is_debtor,
                                  disposition=disposition)
    contact.duration_seconds = duration
    if started_at is not None and abs(started_at - contact.started_at) < timedelta(hours=6):
        contact.started_at = started_at
    contact.status = ContactStatus.COMPLETED
    contact.recording_ref = recording_url[:200]
    contact.save(update_fields=["outcome", "duration_seconds", "started_at", "status", "recording_ref"])
    call.state, call.hangup_cause, call.recording_url = Call.State.COMPLETED, hangup_cause[:40], recording_url[:500]
    call.completed_at = timezone.now()
    if gateway_call_id and not call.gateway_call_id:
        call.gateway_call_id = gateway_call_id[:64]
    call.save(update_fields=["state", "hangup_cause", "recording_url", "completed_at", "gateway_call_id"])
    user = call.requested_by
    apply_outcome_effects(case, contact, acting_user=user)
    touch_case(case, contact)
    events.call_completed(case, call)
    audit("call.complete", actor=None, obj=contact, case_id=case.pk, call_id=call.call_id,
          outcome=contact.outcome.code, duration=duration, hangup_cause=hangup_cause[:40],
          campaign_id=call.campaign_id)
    if recording:
        _store_recording(contact, recording, content_type=recording_type, source="console")
    elif recording_url:
        from qingshou.telephony.tasks import fetch_call_recording

        enqueue_on_commit(fetch_call_recording, call.pk)
    else:
        _flag_missing(contact, reason="no recording in the result")
    return call


do_complete_call = transaction.atomic(durable=True)(complete_call)


@transaction.atomic(durable=True)
def do_store_recording(contact_id: int, data: bytes, *, content_type: str, source: str) -> Recording | None:
    contact = ContactAttempt.objects.select_for_update().select_related("case").get(pk=contact_id)
    if Recording.objects.filter(contact=contact).exists():
        return None
    return _store_recording(contact, data, content_type=content_type, source=source)


@transaction.atomic(durable=True)
def do_flag_missing_recording(contact_id: int, *, reason: str) -> None:
    contact = ContactAttempt.objects.select_for_update().select_related("case").get(pk=contact_id)
    if not Recording.objects.filter(contact=contact).exists():
        _flag_missing(contact, reason=reason)


# --- playing and purging ----------------------------------------------------------------------------

def record_play(user, recording: Recording, request=None) -> None:
    """Every play is audited (who, which recording, which case)."""
    audit("recording.play", actor=user, obj=recording, case_id=recording.contact.case_id,
          contact_id=recording.contact_id)


def purge_due_recordings(today, *, limit: int = 500) -> int:
    """Delete the files of recordings past their retention date; the row stays as evidence (purged_at)."""
    purged = 0
    ids = list(Recording.objects.filter(purge_after__lt=today, purged_at__isnull=True)
               .order_by("pk").values_list("pk", flat=True)[:limit])
    for pk in ids:
        with transaction.atomic():
            row = Recording.objects.select_for_update().filter(pk=pk, purged_at__isnull=True).first()
            if row is None:
                continue
            name = row.file.name
            if name:
                row.file.storage.delete(name)
            row.file = ""
            row.purged_at = timezone.now()
            row.save(update_fields=["file", "purged_at"])
            audit("recording.purge", actor=None, obj=row, case_id=row.contact.case_id, file=name,
                  kept_until=row.purge_after.isoformat())
            purged += 1
    return purged


# --- voice campaigns (机器人电催) ------------------------------------------------------------------

CAMPAIGN_MAX_TARGETS = 500


def segment_cases(user, creditor, segment: str):
    """The workable cases of the creditor in the segment (scoped by qingshou.core.scoping)."""
    from qingshou.core.scoping import workable_cases
    from qingshou.payments.models import Promise
    from qingshou.telephony.models import VoiceCampaign

    qs = workable_cases(user).filter(creditor=creditor, status=CaseStatus.ACTIVE)
    S = VoiceCampaign.Segment
    if segment == S.PROMISE_TOMORROW:
        tomorrow = timezone.localdate() + timedelta(days=1)
        return qs.filter(pk__in=Promise.objects.filter(status=Promise.Status.PENDING, due_date=tomorrow)
                         .values("case_id"))
    if segment == S.EARLY_STAGE:
        return qs.filter(bucket="M1")
    if segment == S.ROBOT_TREATMENT:
        return qs.filter(strategy__treatment="robot_call")
    return qs.none()


def robot_target(case: Case) -> tuple[Party, Phone] | tuple[None, None]:
    """The debtor and their first number not known to be invalid (robots call only the debtor)."""
    party = case.debtor.parties.filter(relation="self").first()
    if party is None:
        return None, None
    phone = party.phones.exclude(status=Phone.Status.INVALID).order_by("pk").first()
    return (party, phone) if phone is not None else (None, None)


CAMPAIGN_CHUNK = 50


@transaction.atomic(durable=True)
def do_launch_campaign(*, acting_user, creditor, segment: str, script_version, name: str = ""):
    """Create the campaign with its target list (scoped by the acting user) and start it in the background.

    The calls are placed by the task `run_campaign`, CAMPAIGN_CHUNK targets per transaction."""
    from qingshou.core.scoping import can
    from qingshou.messaging.templates import TemplateKind
    from qingshou.telephony.models import VoiceCampaign
    from qingshou.telephony.tasks import run_campaign

    if not can(acting_user, "voice.campaign"):
        raise ActionError(_("You may not run voice campaigns."))
    if segment not in VoiceCampaign.Segment.values:
        raise ActionError({"segment": _("Unknown segment.")})
    template = script_version.template
    if (template.kind != TemplateKind.VOICE or template.creditor_id != creditor.pk
            or script_version.status != "approved" or not script_version.active):
        raise ActionError({"script": _("Choose an approved, active voice script of this creditor.")})
    ids = list(segment_cases(acting_user, creditor, segment).order_by("pk").values_list("pk", flat=True)
               [:CAMPAIGN_MAX_TARGETS])
    campaign = VoiceCampaign.objects.create(
        name=(name or "").strip()[:80] or f"{VoiceCampaign.Segment(segment).label} {timezone.localdate():%m-%d}",
        creditor=creditor, segment=segment, script_version=script_version, created_by=acting_user,
        case_ids=ids, state=VoiceCampaign.State.RUNNING if ids else VoiceCampaign.State.DONE)
    audit("voice.campaign", actor=acting_user, obj=campaign, segment=segment, script_version_id=script_version.pk,
          cases=len(ids))
    if ids:
        enqueue_on_commit(run_campaign, campaign.pk)
    return campaign


@transaction.atomic(durable=True)
def do_campaign_chunk(campaign_pk: int) -> bool:
    """Place the robot calls of the next CAMPAIGN_CHUNK targets; False when the campaign is finished.

    Locks the campaign row first, so two workers never place the same chunk twice."""
    from qingshou.messaging.actions import sms_context
    from qingshou.messaging.templates import render
    from qingshou.telephony.models import VoiceCampaign

    campaign = VoiceCampaign.objects.select_for_update().get(pk=campaign_pk)
    if campaign.state != VoiceCampaign.State.RUNNING:
        return False
    user, version = campaign.created_by, campaign.script_version
    chunk = campaign.case_ids[campaign.processed:campaign.processed + CAMPAIGN_CHUNK]
    refusals = list(campaign.refusals)
    cases = {c.pk: c for c in Case.objects.select_for_update(of=("self",))
             .select_related("debtor", "creditor", "assigned_to").filter(pk__in=chunk, status=CaseStatus.ACTIVE)
             .order_by("pk")}
    targets, debtors = [], set()
    for case_id in chunk:
        case = cases.get(case_id)
        # One robot call per debtor per chunk: the batch decisions below cannot see each other's calls
        # (later chunks do see them: each chunk commits before the next one is decided).
        party, phone = robot_target(case) if case is not None and case.debtor_id not in debtors else (None, None)
        if party is not None:
            try:
                script = render(version, sms_context(case, party, acting_user=user))
            except ActionError:
                party = None
        if party is None:
            campaign.skipped += 1
            continue
        request = call_request(case, party, phone, acting_user=user, channel=Channel.ROBOT, template_id=version.pk)
        targets.append((case, party, phone, script, request))
        debtors.add(case.debtor_id)
    # One batch of queries for the whole chunk's compliance context (the dialer feed's loader).
    decisions = check_contacts([t[4] for t in targets])
    for (case, party, phone, script, request), decision in zip(targets, decisions, strict=True):
        result = place_decided_call(case, party=party, phone=phone, acting_user=user, request=request,
                                    decision=decision, campaign=campaign, script=script)
        if result.placed:
            campaign.targets += 1
        else:
            campaign.refused += 1
            refusals.append({"case_id": case.pk, "rules": [r.rule for r in result.decision.reasons]})
    campaign.processed += len(chunk)
    campaign.refusals = refusals[:200]
    if campaign.processed >= len(campaign.case_ids):
        campaign.state = VoiceCampaign.State.DONE
    campaign.save()
    return campaign.state == VoiceCampaign.State.RUNNING


def campaign_progress(campaign) -> dict:
    from django.db.models import Count

    states = dict(campaign.calls.values_list("state").annotate(n=Count("pk")))
    outcomes = list(campaign.calls.filter(state=Call.State.COMPLETED)
                    .values("contact__outcome__code", "contact__outcome__label_zh", "contact__outcome__label_en")
                    .annotate(n=Count("pk")).order_by("-n"))
    done = states.get(Call.State.COMPLETED, 0) + states.get(Call.State.FAILED, 0)
    total = campaign.targets
    cases = len(campaign.case_ids)
    placing = campaign.state == campaign.State.RUNNING
    # Until every target is placed, progress counts targets processed; then calls finished.
    percent = (int(100 * campaign.processed / cases) if placing and cases
               else int(100 * done / total) if total else 100)
    return {"states": states, "outcomes": outcomes, "done": done, "total": total, "cases": cases,
            "processed": campaign.processed, "placing": placing, "percent": percent,
            "finished": not placing and done >= total}


# --- results files from dialers that take files -------------------------------------------------------

IMPORT_COLUMNS = ("call_id", "case_id", "phone", "started_at", "duration", "result", "recording")


class _Rollback(Exception):
    pass


def _parse_started(value: str):
    from django.utils.dateparse import parse_datetime

    at = parse_datetime(value.strip()) if value else None
    if at is None:
        return None
    return timezone.make_aware(at) if timezone.is_naive(at) else at


def do_import_results(rows: list[dict], *, acting_user, recordings: dict[str, bytes] | None = None) -> dict:
    """Validate every row, then write all of them or none (NetBox's bulk import).

    A row names a dialer call by `call_id` (completes our PENDING contact), or `case_id` + full `phone`
    (a call the dialer made from our preview list: logged like any contact, so the engine is asked).
    `result` is a hang-up cause or one of our outcome codes; `recording` a file name in the uploaded ZIP.
    Returns {"errors": [(row number, message)], "completed": n, "logged": n}."""
    from qingshou.contact.actions import log_contact
    from qingshou.core.scoping import workable_cases

    recordings = recordings or {}
    errors: list[tuple[int, str]] = []
    plan = []
    workable = workable_cases(acting_user)
    for number, row in enumerate(rows, start=2):   # row 1 is the header
        row = {k: (v or "").strip() for k, v in row.items() if k}
        started = _parse_started(row.get("started_at", ""))
        try:
            duration = int(row.get("duration") or 0)
        except ValueError:
            errors.append((number, _("Duration must be a whole number of seconds.")))
            continue
        if row.get("started_at") and started is None:
            errors.append((number, _("Unreadable start time.")))
            continue
        name = row.get("recording", "")
        if name and name not in recordings:
            errors.append((number, _("Recording file “%(name)s” is not in the ZIP.") % {"name": name}))
            continue
        if row.get("call_id"):
            call = Call.objects.filter(call_id=row["call_id"], contact__case__in=workable.values("pk")).first()
            if call is None:
                errors.append((number, _("Unknown call id.")))
                continue
            plan.append(("call", number, call, started, duration, row, name))
            continue
        case = workable.filter(pk=row.get("case_id") or 0).first() if (row.get("case_id") or "").isdigit() else None
        if case is None:
            errors.append((number, _("Give a call id, or a case you may work and its phone number.")))
            continue
        phone = Phone.objects.filter(party__debtor_id=case.debtor_id, number=row.get("phone", "")).first()
        if phone is None:
            errors.append((number, _("This number is not a number of the case.")))
            continue
        if started is None:
            errors.append((number, _("A start time is required.")))
            continue
        plan.append(("log", number, case, started, duration, row, name, phone))
    if errors:
        return {"errors": errors, "completed": 0, "logged": 0}
    counts = {"completed": 0, "logged": 0}
    try:
        with transaction.atomic(durable=True):
            for item in plan:
                kind, number, target, started, duration, row, name = item[:7]
                data = recordings.get(name) if name else None
                ctype = "audio/mpeg" if name.lower().endswith(".mp3") else "audio/wav"
                if kind == "call":
                    complete_call(target.call_id, duration=duration, hangup_cause=row.get("result", ""),
                                  disposition=row.get("result", "").lower(), started_at=started,
                                  recording=data, recording_type=ctype)
                    if data:
                        Recording.objects.filter(contact_id=target.contact_id).update(source=name[:300])
                    counts["completed"] += 1
                    continue
                phone = item[7]
                case = lock_one(Case, target.pk)
                outcome = outcome_for(row.get("result", ""), duration, party_is_debtor=phone.party.is_debtor,
                                      disposition=row.get("result", "").lower())
                result = log_contact(case, party=phone.party, phone=phone, outcome=outcome, acting_user=acting_user,
                                     started_at=started, duration_seconds=duration,
                                     notes=_("Imported from the dialer's result file."))
                if not result.saved:
                    errors.append((number, _("The compliance engine refuses this call at that time: %(rules)s") % {
                        "rules": ", ".join(r.rule for r in result.decision.reasons)}))
                    continue
                contact = result.contact
                if data:
                    _store_recording(contact, data, content_type=ctype, source=name)
                else:
                    _flag_missing(contact, reason="no recording in the result file")
                counts["logged"] += 1
            if errors:
                raise _Rollback
            audit("calls.import", actor=acting_user, rows=len(plan), **counts)
    except _Rollback:
        return {"errors": errors, "completed": 0, "logged": 0}
    return {"errors": [], **counts}
