"""Skip-tracing actions: place and clear the lost-contact flag, record leads, verify them.

Each public `do_…` is one durable transaction that writes the audit row and the timeline event with the
change; the inner helpers (no `durable`) compose into the enrichment import's per-file transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.locking import lock_one, lock_rows
from qingshou.portfolio import events
from qingshou.portfolio.intake.validation import parse_phone
from qingshou.portfolio.models import Address, Case, CaseStatus, Party, Phone, Relation, Verification
from qingshou.skiptrace.detection import assess_cases
from qingshou.skiptrace.models import Lead, LostContact
from qingshou.skiptrace.sources import check_source

logger = logging.getLogger("qingshou.skiptrace")

PHONE_STATUS_FOR = {Verification.VERIFIED: Phone.Status.VALID, Verification.WRONG: Phone.Status.INVALID}


def open_flag(case) -> LostContact | None:
    return LostContact.objects.filter(case_id=case.pk, cleared_at__isnull=True).first()


# --- the flag ---------------------------------------------------------------------------------


def place_flag(case: Case, *, reason: str, tried: dict, acting_user=None, at: datetime | None = None) -> LostContact:
    flag = LostContact.objects.create(case=case, since=at or timezone.now(), reason=reason, tried=tried)
    events.lost_contact(case, flag, user=acting_user)
    audit("skiptrace.lost_contact", actor=acting_user, obj=case, reason=reason, flag=flag.pk, **tried)
    return flag


def recover(case: Case, flag: LostContact, *, source: str, lead: Lead | None, acting_user) -> LostContact:
    flag.cleared_at = timezone.now()
    flag.cleared_by = acting_user if getattr(acting_user, "pk", None) else None
    flag.recovered_by_source = source or ""
    flag.recovered_by_lead = lead
    flag.save(update_fields=["cleared_at", "cleared_by", "recovered_by_source", "recovered_by_lead"])
    events.contact_recovered(case, flag, user=flag.cleared_by)
    audit("skiptrace.recovered", actor=acting_user, obj=case, flag=flag.pk, source=source,
          lead=lead.pk if lead else None)
    return flag


def detect_case(case: Case, *, acting_user=None) -> LostContact | None:
    """Place the flag if the (locked) case is active, not flagged, and every phone is dead."""
    if case.status != CaseStatus.ACTIVE or open_flag(case) is not None:
        return None
    result = assess_cases([case.pk])[case.pk]
    if not result.lost:
        return None
    return place_flag(case, reason=result.reason, tried=result.tried, acting_user=acting_user)


@transaction.atomic(durable=True)
def do_detect_case(case_id: int, *, acting_user=None) -> LostContact | None:
    return detect_case(lock_one(Case, case_id), acting_user=acting_user)


@transaction.atomic(durable=True)
def do_after_contact(contact_id: int) -> str:
    """Runs after a contact record commits. A right-party contact on a number verifies it and recovers a
    lost case; anything else may make the case lost-contact."""
    from qingshou.contact.models import ContactAttempt

    contact = ContactAttempt.objects.select_related("outcome", "phone", "collector").get(pk=contact_id)
    case = lock_one(Case, contact.case_id)
    if contact.outcome.right_party:
        lead = None
        if contact.phone_id:
            phone = lock_one(Phone, contact.phone_id)
            lead = phone.leads.filter(case=case).order_by("-found_at").first()
            if phone.verification != Verification.VERIFIED:
                phone.verification = Verification.VERIFIED
                phone.save(update_fields=["verification"])
            for pending in phone.leads.exclude(verification=Verification.VERIFIED):
                _set_lead_verification(pending, Verification.VERIFIED, acting_user=contact.collector)
        flag = open_flag(case)
        if flag is not None:
            source = contact.phone.source if contact.phone_id else ""
            recover(case, flag, source=source, lead=lead, acting_user=contact.collector)
            return "recovered"
        return "reached"
    return "lost" if detect_case(case) else "ok"


# --- leads --------------------------------------------------------------------------------------


def _party_for(case: Case, *, party: Party | None, new_name: str, new_relation: str) -> Party:
    new_name = (new_name or "").strip()[:100]
    if new_name:
        if new_relation not in Relation.values or new_relation == Relation.SELF:
            raise ActionError({"new_relation": _("Choose the new person's relation to the debtor.")})
        return Party.objects.create(debtor_id=case.debtor_id, name=new_name, relation=new_relation)
    if party is not None:
        if party.debtor_id != case.debtor_id:
            raise ActionError({"party": _("This person is not a party to the case.")})
        return party
    own = Party.objects.filter(debtor_id=case.debtor_id, relation=Relation.SELF).first()
    return own or Party.objects.create(debtor_id=case.debtor_id, name=case.debtor.name, relation=Relation.SELF)


def add_lead(case: Case, *, kind: str, source: str, acting_user, party: Party | None = None, new_party_name="",
             new_party_relation="", number="", address_kind=Address.Kind.HOME, address_text="", employer="",
             verification=Verification.UNVERIFIED, note="", enrichment=None) -> Lead:
    """Record a new phone / address / employer with its lawful source. Inside the caller's transaction."""
    source = check_source(source)
    if verification not in Verification.values:
        raise ActionError({"verification": _("Unknown verification status.")})
    if kind not in Lead.Kind.values:
        raise ActionError({"kind": _("Choose phone, address or employer.")})
    flag = open_flag(case)
    common = {"case": case, "kind": kind, "source": source, "verification": verification, "note": (note or "")[:300],
              "flag": flag, "enrichment": enrichment, "found_by": acting_user if getattr(acting_user, "pk", None)
              else None}
    if verification != Verification.UNVERIFIED:
        common.update(verified_at=timezone.now(), verified_by=common["found_by"])

    if kind == Lead.Kind.PHONE:
        try:
            parsed = parse_phone(str(number or ""))
        except ValueError as exc:
            raise ActionError({"number": str(exc.args[0]) if exc.args else _("Not a phone number.")}) from None
        target = _party_for(case, party=party, new_name=new_party_name, new_relation=new_party_relation)
        if Phone.objects.filter(party=target, number=parsed).exists():
            raise ActionError({"number": _("This number is already recorded for this person.")})
        phone = Phone.objects.create(party=target, number=parsed, source=source, verification=verification,
                                     status=PHONE_STATUS_FOR.get(verification, Phone.Status.UNKNOWN),
                                     status_changed_at=timezone.now() if verification in PHONE_STATUS_FOR else None)
        lead = Lead.objects.create(party=target, phone=phone, **common)
        events.phone_added(case, phone, user=common["found_by"], source=source, lead_id=lead.pk)
        audit("skiptrace.lead_add", actor=acting_user, obj=lead, case_id=case.pk, kind=kind, source=source,
              verification=verification, phone=phone.pk)
    elif kind == Lead.Kind.ADDRESS:
        text = " ".join(str(address_text or "").split())[:300]
        if len(text) < 4:
            raise ActionError({"address_text": _("Enter the full address.")})
        if address_kind not in Address.Kind.values:
            raise ActionError({"address_kind": _("Choose the kind of address.")})
        target = _party_for(case, party=party, new_name=new_party_name, new_relation=new_party_relation)
        if Address.objects.filter(party=target, text=text).exists():
            raise ActionError({"address_text": _("This address is already recorded for this person.")})
        address = Address.objects.create(party=target, kind=address_kind, text=text, source=source,
                                         verification=verification)
        lead = Lead.objects.create(party=target, address=address, **common)
        events.address_added(case, address, user=common["found_by"], source=source, lead_id=lead.pk)
        audit("skiptrace.lead_add", actor=acting_user, obj=lead, case_id=case.pk, kind=kind, source=source,
              verification=verification, address=address.pk)
    else:
        text = " ".join(str(employer or "").split())[:200]
        if len(text) < 2:
            raise ActionError({"employer": _("Enter the employer's name.")})
        debtor = case.debtor
        if debtor.employer == text or Lead.objects.filter(case__debtor_id=debtor.pk, kind=kind,
                                                          employer=text).exists():
            raise ActionError({"employer": _("This employer is already recorded.")})
        lead = Lead.objects.create(employer=text, **common)
        if verification == Verification.VERIFIED or not debtor.employer:
            debtor.employer = text
            debtor.save(update_fields=["employer"])
        events.employer_added(case, lead, user=common["found_by"])
        audit("skiptrace.lead_add", actor=acting_user, obj=lead, case_id=case.pk, kind=kind, source=source,
              verification=verification)

    if kind == Lead.Kind.PHONE and verification == Verification.VERIFIED and flag is not None:
        recover(case, flag, source=source, lead=lead, acting_user=acting_user)
    return lead


@transaction.atomic(durable=True)
def do_add_lead(case: Case, *, acting_user, **fields) -> Lead:
    case = lock_one(Case, case.pk)
    return add_lead(case, acting_user=acting_user, **fields)


def _set_lead_verification(lead: Lead, verification: str, *, acting_user) -> str:
    old = lead.verification
    lead.verification = verification
    lead.verified_at = timezone.now() if verification != Verification.UNVERIFIED else None
    lead.verified_by = acting_user if getattr(acting_user, "pk", None) and lead.verified_at else None
    lead.save(update_fields=["verification", "verified_at", "verified_by"])
    if lead.phone_id:
        phone = lead.phone
        phone.verification = verification
        fields = ["verification"]
        status = PHONE_STATUS_FOR.get(verification)
        if status and phone.status != status:
            phone.status, phone.status_changed_at = status, timezone.now()
            fields += ["status", "status_changed_at"]
        phone.save(update_fields=fields)
    elif lead.address_id:
        Address.objects.filter(pk=lead.address_id).update(verification=verification)
    elif verification == Verification.VERIFIED:
        debtor = lead.case.debtor
        debtor.employer = lead.employer
        debtor.save(update_fields=["employer"])
    events.lead_verified(lead.case, lead, user=lead.verified_by, old=old)
    audit("skiptrace.lead_verify", actor=acting_user, obj=lead, case_id=lead.case_id, old=old, new=verification)
    return old


@transaction.atomic(durable=True)
def do_verify_lead(lead: Lead, verification: str, *, acting_user) -> Lead:
    """Mark a lead verified / wrong / unverified. A verified phone recovers a lost case."""
    if verification not in Verification.values:
        raise ActionError({"verification": _("Unknown verification status.")})
    case = lock_one(Case, lead.case_id)
    lead = Lead.objects.select_for_update(of=("self",)).select_related("phone", "address").get(pk=lead.pk)
    lead.case = case
    if lead.verification == verification:
        raise ActionError({"verification": _("The lead already has this status.")})
    _set_lead_verification(lead, verification, acting_user=acting_user)
    flag = open_flag(case)
    if lead.kind == Lead.Kind.PHONE and verification == Verification.VERIFIED and flag is not None:
        recover(case, flag, source=lead.source, lead=lead, acting_user=acting_user)
    elif verification == Verification.WRONG:
        detect_case(case, acting_user=acting_user)
    return lead


# --- the nightly pass ---------------------------------------------------------------------------

CHUNK = 500


def detect_lost_contact(now: datetime | None = None) -> dict:
    """Assess every active case without an open flag, in chunks; flag the lost ones (each its own action)."""
    flagged = checked = 0
    last = 0
    base = Case.objects.filter(status=CaseStatus.ACTIVE).exclude(
        pk__in=LostContact.objects.filter(cleared_at__isnull=True).values("case_id"))
    while True:
        ids = list(base.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:CHUNK])
        if not ids:
            break
        last = ids[-1]
        checked += len(ids)
        lost = [case_id for case_id, result in assess_cases(ids).items() if result.lost]
        if lost:
            flagged += len(do_detect_cases(lost))
    return {"checked": checked, "flagged": flagged}


@transaction.atomic(durable=True)
def do_detect_cases(case_ids, *, acting_user=None) -> list[LostContact]:
    """Flag many cases in one transaction: lock them, re-check under the lock, flag the lost ones."""
    cases = [c for c in lock_rows(Case.objects.filter(pk__in=list(case_ids), status=CaseStatus.ACTIVE))]
    flagged_already = set(LostContact.objects.filter(case_id__in=[c.pk for c in cases], cleared_at__isnull=True)
                          .values_list("case_id", flat=True))
    cases = [c for c in cases if c.pk not in flagged_already]
    results = assess_cases([c.pk for c in cases])
    return [place_flag(c, reason=results[c.pk].reason, tried=results[c.pk].tried, acting_user=acting_user)
            for c in cases if results[c.pk].lost]
