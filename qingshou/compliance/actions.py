"""Compliance actions: the only code that changes policy layers, do-not-contact requests, contact-time
preferences and calendar dates. Each is one durable transaction with its audit row (and, for what
concerns a debtor, a timeline event on the case, or on every case of the debtor).

Authorisation is the caller's (views / API check capabilities); actions check the business rules.
"""

from __future__ import annotations

from datetime import date, time

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from qingshou.compliance import policies
from qingshou.compliance.models import CalendarDate, ContactPreference, DoNotContact, PolicyLayerVersion
from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.locking import lock_one
from qingshou.portfolio import events

PV = PolicyLayerVersion


def _require(text: str, field: str = "reason") -> str:
    text = (text or "").strip()
    if not text:
        raise ActionError({field: _("Give a reason.")})
    return text[:300]


# --- policy layers ----------------------------------------------------------------------------

def _layer_identity(kind: str, name: str, creditor) -> str:
    from qingshou.org.models import Jurisdiction

    if kind == PV.Kind.PRESET:
        if name not in Jurisdiction.values:
            raise ActionError({"name": _("A preset layer is named after a jurisdiction: %(v)s.")
                               % {"v": ", ".join(Jurisdiction.values)}})
        if creditor is not None:
            raise ActionError({"creditor": _("Only creditor layers belong to a creditor.")})
        return name
    if kind == PV.Kind.HOUSE:
        if creditor is not None:
            raise ActionError({"creditor": _("Only creditor layers belong to a creditor.")})
        return "house"
    if kind == PV.Kind.CREDITOR:
        if creditor is None:
            raise ActionError({"creditor": _("Choose the creditor.")})
        return policies.creditor_layer_name(creditor)
    raise ActionError({"kind": _("Unknown layer kind.")})


def _validated(params) -> dict:
    errors = policies.validate_params(params)
    if errors:
        raise ActionError({f"params.{k}" if k != "params" else "params": v for k, v in errors.items()})
    return policies.clean_params(params)


def _new_version(kind, name, creditor, params, note, acting_user, status) -> PolicyLayerVersion:
    # Lock the name's rows so two publishers number their versions one after the other.
    list(PV.objects.select_for_update().filter(name=name).values_list("pk", flat=True))
    last = PV.objects.filter(name=name).aggregate(m=Max("version"))["m"] or 0
    return PV.objects.create(kind=kind, name=name, creditor=creditor, version=last + 1, params=params,
                             status=status, note=(note or "").strip()[:300], created_by=acting_user)


def _publish(row: PolicyLayerVersion, acting_user, note: str = "") -> PolicyLayerVersion:
    previous = PV.objects.select_for_update().filter(name=row.name, status=PV.Status.PUBLISHED).exclude(pk=row.pk)
    retired = [p.label for p in previous]
    previous.update(status=PV.Status.RETIRED)
    row.status = PV.Status.PUBLISHED
    row.published_at = timezone.now()
    row.published_by = acting_user
    fields = ["status", "published_at", "published_by"]
    if note:
        row.note = note.strip()[:300]
        fields.append("note")
    row.save(update_fields=fields)
    audit("policy.publish", actor=acting_user, obj=row, reason=row.note, layer=row.name, version=row.version,
          kind=row.kind, creditor_id=row.creditor_id, params=row.params, retired=retired)
    transaction.on_commit(policies.invalidate)
    return row


@transaction.atomic(durable=True)
def do_save_policy_draft(*, kind: str, params: dict, acting_user, name: str = "", creditor=None,
                         note: str = "") -> PolicyLayerVersion:
    """A new draft version of a layer (validated; not in force until published)."""
    name = _layer_identity(kind, name, creditor)
    row = _new_version(kind, name, creditor, _validated(params), note, acting_user, PV.Status.DRAFT)
    audit("policy.draft", actor=acting_user, obj=row, layer=row.name, version=row.version, params=row.params)
    return row


@transaction.atomic(durable=True)
def do_publish_policy_version(version: PolicyLayerVersion, *, acting_user, note: str = "") -> PolicyLayerVersion:
    """Publish a draft: it is in force from now; the previously published version is retired."""
    row = lock_one(PV, version.pk)
    if row.status != PV.Status.DRAFT:
        raise ActionError({"status": _("Only a draft can be published.")})
    _validated(row.params)
    return _publish(row, acting_user, note)


@transaction.atomic(durable=True)
def do_publish_policy_layer(*, kind: str, params: dict, acting_user, name: str = "", creditor=None,
                            note: str = "") -> PolicyLayerVersion:
    """Save and publish a new version of a layer in one step (the next version number of its name)."""
    name = _layer_identity(kind, name, creditor)
    row = _new_version(kind, name, creditor, _validated(params), note, acting_user, PV.Status.DRAFT)
    return _publish(row, acting_user)


# --- do not contact ---------------------------------------------------------------------------

def _debtor_cases(debtor_id: int, case=None):
    from qingshou.portfolio.models import Case

    return [case] if case is not None else list(Case.objects.filter(debtor_id=debtor_id).order_by("pk"))


@transaction.atomic(durable=True)
def do_add_do_not_contact(*, acting_user, reason: str, debtor=None, case=None, phone=None,
                          channel: str = "") -> DoNotContact:
    """The debtor asked not to be contacted: on a number, by a channel, or at all (blank channel)."""
    from qingshou.contact.models import Channel

    reason = _require(reason)
    if case is not None:
        debtor_id = case.debtor_id
    elif debtor is not None:
        debtor_id = debtor.pk
    else:
        raise ActionError({"case": _("Choose the case or the debtor.")})
    errors = {}
    if channel and channel not in Channel.values:
        errors["channel"] = _("Unknown channel.")
    if phone is not None and phone.party.debtor_id != debtor_id:
        errors["phone"] = _("This number does not belong to the debtor's file.")
    if errors:
        raise ActionError(errors)
    dnc = DoNotContact.objects.create(debtor_id=debtor_id, case=case, phone=phone, channel=channel or "",
                                      reason=reason, created_by=acting_user)
    for c in _debtor_cases(debtor_id, case):
        events.dnc_added(c, dnc, user=acting_user)
    audit("dnc.add", actor=acting_user, obj=dnc, case_id=case.pk if case else None, reason=reason,
          debtor_id=debtor_id, phone_id=dnc.phone_id, channel=dnc.channel)
    return dnc


@transaction.atomic(durable=True)
def do_lift_do_not_contact(dnc: DoNotContact, *, acting_user, reason: str) -> DoNotContact:
    reason = _require(reason)
    dnc = lock_one(DoNotContact, dnc.pk)
    if dnc.lifted_at is not None:
        raise ActionError({"dnc": _("This request was already lifted.")})
    dnc.lifted_at = timezone.now()
    dnc.lifted_by = acting_user
    dnc.lift_reason = reason
    dnc.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    for c in _debtor_cases(dnc.debtor_id, dnc.case):
        events.dnc_lifted(c, dnc, user=acting_user)
    audit("dnc.lift", actor=acting_user, obj=dnc, case_id=dnc.case_id, reason=reason, debtor_id=dnc.debtor_id)
    return dnc


# --- contact-time preferences -----------------------------------------------------------------

@transaction.atomic(durable=True)
def do_add_contact_preference(*, acting_user, kind: str, start: time, end: time, debtor=None, case=None,
                              weekdays=(), on_date: date | None = None, note: str = "") -> ContactPreference:
    """A time the debtor said is inconvenient, or agreed to (a window may wrap midnight: 21:00–09:00)."""
    if case is not None:
        debtor_id = case.debtor_id
    elif debtor is not None:
        debtor_id = debtor.pk
    else:
        raise ActionError({"case": _("Choose the case or the debtor.")})
    errors = {}
    if kind not in ContactPreference.Kind.values:
        errors["kind"] = _("Unknown kind.")
    if start is None or end is None or start == end:
        errors["end"] = _("Give a start and an end time that differ.")
    days = []
    for d in weekdays or ():
        try:
            d = int(d)
        except (TypeError, ValueError):
            d = -1
        if not 0 <= d <= 6:
            errors["weekdays"] = _("Weekdays are 0 (Monday) to 6 (Sunday).")
            break
        days.append(d)
    if on_date is not None and days:
        errors["on_date"] = _("Give either weekdays or one date, not both.")
    if errors:
        raise ActionError(errors)
    pref = ContactPreference.objects.create(debtor_id=debtor_id, kind=kind, weekdays=sorted(set(days)),
                                            on_date=on_date, start=start, end=end, note=(note or "").strip()[:300],
                                            created_by=acting_user)
    for c in _debtor_cases(debtor_id, case):
        events.preference_added(c, pref, user=acting_user)
    audit("preference.add", actor=acting_user, obj=pref, case_id=case.pk if case else None, debtor_id=debtor_id,
          kind=kind, start=f"{start:%H:%M}", end=f"{end:%H:%M}", weekdays=pref.weekdays, on_date=on_date)
    return pref


@transaction.atomic(durable=True)
def do_remove_contact_preference(pref: ContactPreference, *, acting_user, case=None) -> ContactPreference:
    pref = lock_one(ContactPreference, pref.pk)
    if pref.removed_at is not None:
        raise ActionError({"preference": _("This preference was already removed.")})
    pref.removed_at = timezone.now()
    pref.removed_by = acting_user
    pref.save(update_fields=["removed_at", "removed_by"])
    for c in _debtor_cases(pref.debtor_id, case):
        events.preference_removed(c, pref, user=acting_user)
    audit("preference.remove", actor=acting_user, obj=pref, case_id=case.pk if case else None,
          debtor_id=pref.debtor_id)
    return pref


# --- calendar ---------------------------------------------------------------------------------

@transaction.atomic(durable=True)
def do_add_calendar_date(*, acting_user, day: date, kind: str, creditor=None, name: str = "") -> CalendarDate:
    """An admin-added holiday / adjusted working day (for everyone) or a blackout date (everyone or
    one creditor)."""
    errors = {}
    if kind not in CalendarDate.Kind.values:
        errors["kind"] = _("Unknown kind.")
    elif creditor is not None and kind != CalendarDate.Kind.BLACKOUT:
        errors["creditor"] = _("Only blackout dates can be set for one creditor.")
    if day is None or not (2000 <= day.year <= 2999):
        errors["date"] = _("Enter a valid date.")
    if not errors and CalendarDate.objects.filter(date=day, kind=kind, creditor=creditor).exists():
        errors["date"] = _("This date is already in the calendar.")
    if errors:
        raise ActionError(errors)
    row = CalendarDate.objects.create(date=day, kind=kind, creditor=creditor, name=(name or "").strip()[:100],
                                      created_by=acting_user)
    audit("calendar.add", actor=acting_user, obj=row, day=day, kind=kind,
          creditor_id=creditor.pk if creditor else None, name=row.name)
    return row
