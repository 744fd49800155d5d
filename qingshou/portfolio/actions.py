"""State changes of cases: assignment, reassignment, withdrawal, Get Next locks, holds, PII reveal.

Every function here is an action (Zulip's pattern): durable transaction, keyword-only acting_user,
audit row and timeline event in the same transaction.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.locking import lock_one, lock_rows
from qingshou.org.models import Role
from qingshou.portfolio import events
from qingshou.portfolio.models import Assignment, Case, CaseHold, CaseStatus, CaseStatusChange, Phone, Placement


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ActionError({"reason": _("Please give a reason.")})
    return reason


@transaction.atomic(durable=True)
def do_assign_case(case: Case, collector, *, acting_user, reason: str = "") -> Case:
    """分案: first assignment of a case to a collector (and the collector's team)."""
    case = lock_one(Case, case.pk)
    if collector.role not in (Role.COLLECTOR, Role.TEAM_LEADER) or not collector.team_id:
        raise ActionError({"collector": _("Cases can only be assigned to a collector in a team.")})
    previous = case.assigned_to
    case.assigned_to = collector
    case.team_id = collector.team_id
    case.assigned_at = timezone.now()
    case.save(update_fields=["assigned_to", "team", "assigned_at"])
    Assignment.objects.create(case=case, kind=Assignment.Kind.ASSIGN, from_user=previous, to_user=collector,
                              team_id=collector.team_id, by=acting_user, reason=reason)
    events.case_assigned(case, to_user=collector, user=acting_user, reason=reason)
    audit("case.assign", actor=acting_user, obj=case, reason=reason, to=collector.pk)
    return case


@transaction.atomic(durable=True)
def do_reassign_cases(case_ids, to_user, *, acting_user, reason: str) -> int:
    """调案: move cases to another collector. The caller passes ids already scoped to the acting user."""
    reason = _require_reason(reason)
    if to_user.role not in (Role.COLLECTOR, Role.TEAM_LEADER) or not to_user.team_id or not to_user.is_active:
        raise ActionError({"to_user": _("Cases can only be assigned to an active collector in a team.")})
    cases = lock_rows(Case.objects.filter(pk__in=list(case_ids)).select_related("assigned_to"))
    if not cases:
        raise ActionError({"cases": _("Select at least one case.")})
    now = timezone.now()
    moved = 0
    for case in cases:
        if case.assigned_to_id == to_user.pk:
            continue
        previous = case.assigned_to
        case.assigned_to = to_user
        case.team_id = to_user.team_id
        case.assigned_at = now
        case.first_contact_at = None  # the new collector's first-call clock starts now
        case.locked_by = None
        case.locked_until = None
        case.save(update_fields=["assigned_to", "team", "assigned_at", "first_contact_at", "locked_by",
                                 "locked_until"])
        Assignment.objects.create(case=case, kind=Assignment.Kind.REASSIGN, from_user=previous, to_user=to_user,
                                  team_id=to_user.team_id, by=acting_user, reason=reason)
        events.case_reassigned(case, from_user=previous, to_user=to_user, user=acting_user, reason=reason)
        audit("case.reassign", actor=acting_user, obj=case, reason=reason,
              **{"from": previous.pk if previous else None, "to": to_user.pk})
        moved += 1
    return moved


@transaction.atomic(durable=True)
def do_withdraw_cases(case_ids, *, acting_user, reason: str) -> int:
    """收案: take cases back from their collector into the team pool."""
    reason = _require_reason(reason)
    cases = lock_rows(Case.objects.filter(pk__in=list(case_ids), assigned_to__isnull=False)
                      .select_related("assigned_to"))
    for case in cases:
        previous = case.assigned_to
        case.assigned_to = None
        case.assigned_at = None
        case.locked_by = None
        case.locked_until = None
        case.save(update_fields=["assigned_to", "assigned_at", "locked_by", "locked_until"])
        Assignment.objects.create(case=case, kind=Assignment.Kind.WITHDRAW, from_user=previous, to_user=None,
                                  team_id=case.team_id, by=acting_user, reason=reason)
        events.case_withdrawn(case, from_user=previous, user=acting_user, reason=reason)
        audit("case.withdraw", actor=acting_user, obj=case, reason=reason, **{"from": previous.pk})
    return len(cases)


def _lock_free(now):
    return Q(locked_until__isnull=True) | Q(locked_until__lt=now)


@transaction.atomic(durable=True)
def do_get_next(*, acting_user) -> Case | None:
    """下一个: lock the top case of the user's queue to them for CASE_LOCK_MINUTES.

    The claim is a conditional UPDATE, so two collectors pressing the button at once never get
    the same case.
    """
    from qingshou.strategy.queue import work_queue

    now = timezone.now()
    until = now + timedelta(minutes=settings.CASE_LOCK_MINUTES)
    Case.objects.filter(locked_by=acting_user).update(locked_by=None, locked_until=None)
    candidates = (
        work_queue(acting_user)
        .filter(Q(next_work_at__isnull=True) | Q(next_work_at__lte=now))
        .filter(_lock_free(now) | Q(locked_by=acting_user))
        .values_list("pk", flat=True)[:20]
    )
    for pk in list(candidates):
        claimed = (
            Case.objects.filter(pk=pk)
            .filter(_lock_free(now) | Q(locked_by=acting_user))
            .update(locked_by=acting_user, locked_until=until)
        )
        if claimed == 1:
            case = Case.objects.get(pk=pk)
            audit("case.get_next", actor=acting_user, obj=case, locked_until=until)
            return case
    return None


@transaction.atomic(durable=True)
def do_release_lock(case: Case, *, acting_user) -> bool:
    released = Case.objects.filter(pk=case.pk, locked_by=acting_user).update(locked_by=None, locked_until=None)
    if released:
        audit("case.release_lock", actor=acting_user, obj=case)
    return bool(released)


def expire_case_locks(now=None) -> int:
    """Scheduler job: clear locks whose time has passed. Each row by conditional UPDATE."""
    now = now or timezone.now()
    expired = 0
    for pk, until in Case.objects.filter(locked_until__lt=now).values_list("pk", "locked_until")[:1000]:
        with transaction.atomic(durable=True):
            n = Case.objects.filter(pk=pk, locked_until=until).update(locked_by=None, locked_until=None)
            if n:
                audit("case.lock_expired", actor=None, case_id=pk)
                expired += n
    return expired


@transaction.atomic(durable=True)
def do_reveal_pii(case: Case, *, what: str, reason: str, acting_user) -> str:
    """Show one full number. Always with a reason, always audited and on the timeline.

    `what` is "id_number" or "phone:<phone id>"; the phone must belong to the case's debtor.
    """
    reason = _require_reason(reason)
    if what == "id_number":
        value = case.debtor.id_number
    elif what.startswith("phone:"):
        try:
            phone = Phone.objects.get(pk=int(what.split(":", 1)[1]), party__debtor_id=case.debtor_id)
        except (ValueError, Phone.DoesNotExist):
            raise ActionError({"what": _("No such number on this case.")}) from None
        value = phone.number
    else:
        raise ActionError({"what": _("No such number on this case.")})
    events.pii_revealed(case, what=what, user=acting_user, reason=reason)
    audit("pii.reveal", actor=acting_user, obj=case, reason=reason, what=what)
    return value


def place_hold(case: Case, reason: str, *, acting_user, note: str = "") -> CaseHold | None:
    """Place a hold unless one with the same reason is active. Runs inside the caller's transaction."""
    if case.holds.filter(reason=reason, released_at__isnull=True).exists():
        return None
    hold = CaseHold.objects.create(case=case, reason=reason, note=note[:300], placed_by=acting_user)
    events.hold_placed(case, hold, user=acting_user)
    audit("case.hold", actor=acting_user, obj=case, reason=note, hold=reason)
    return hold


@transaction.atomic(durable=True)
def do_place_hold(case: Case, reason: str, *, acting_user, note: str = "") -> CaseHold | None:
    return place_hold(case, reason, acting_user=acting_user, note=note)


@transaction.atomic(durable=True)
def do_release_hold(hold: CaseHold, *, acting_user, note: str = "") -> CaseHold:
    hold = lock_one(CaseHold, hold.pk)
    if hold.released_at:
        raise ActionError({"hold": _("This hold was already released.")})
    hold.released_at = timezone.now()
    hold.released_by = acting_user
    hold.save(update_fields=["released_at", "released_by"])
    events.hold_released(hold.case, hold, user=acting_user)
    audit("case.hold_release", actor=acting_user, obj=hold.case, reason=note, hold=hold.reason)
    return hold


def change_status(case: Case, new: str, *, acting_user, reason: str = "") -> None:
    """Status change with history; inside the caller's transaction."""
    old = case.status
    if old == new:
        return
    case.status = new
    case.save(update_fields=["status"])
    CaseStatusChange.objects.create(case=case, from_status=old, to_status=new, by=acting_user, reason=reason)
    events.status_changed(case, old=old, new=new, user=acting_user, reason=reason)
    audit("case.status", actor=acting_user, obj=case, reason=reason, old=old, new=new)


@transaction.atomic(durable=True)
def do_change_status(case: Case, new: str, *, acting_user, reason: str) -> Case:
    if new not in CaseStatus.values:
        raise ActionError({"status": _("Unknown status.")})
    case = lock_one(Case, case.pk)
    change_status(case, new, acting_user=acting_user, reason=_require_reason(reason))
    return case


# --- recall (退案) and retention (留案) -----------------------------------------------------------

# Cases still with the agency; settled, closed and already recalled cases are left alone.
RECALLABLE = (CaseStatus.ACTIVE, CaseStatus.LEGAL)


def recall_due_filter(today: date) -> Q:
    """Cases whose placement period ended before `today` and that are not retained on `today`."""
    return (
        Q(status__in=RECALLABLE, placement__ends_on__lt=today)
        & (Q(retained_until__isnull=True) | Q(retained_until__lt=today))
    )


def is_recall_due(case: Case, today: date) -> bool:
    return (
        case.status in RECALLABLE
        and case.placement.ends_on < today
        and (case.retained_until is None or case.retained_until < today)
    )


@transaction.atomic(durable=True)
def do_recall_cases(case_ids, *, acting_user, reason: str, due_on: date | None = None) -> list[int]:
    """退案: hand cases back to the creditor. Returns the ids recalled.

    The collector's assignment ends (history kept), the status becomes recalled (history kept), the
    timeline and the audit log say who and why. Cases not in a recallable status are skipped. With
    `due_on` (the scheduler), a case is recalled only if it is still due on that day once locked, so
    a retention or extension made meanwhile wins, and two schedulers never recall a case twice.
    """
    reason = _require_reason(reason)
    cases = lock_rows(Case.objects.filter(pk__in=list(case_ids), status__in=RECALLABLE)
                      .select_related("assigned_to", "placement"))
    recalled = []
    for case in cases:
        if due_on is not None and not is_recall_due(case, due_on):
            continue
        previous = case.assigned_to
        old = case.status
        case.status = CaseStatus.RECALLED
        case.assigned_to = None
        case.assigned_at = None
        case.locked_by = None
        case.locked_until = None
        case.next_work_at = None
        case.save(update_fields=["status", "assigned_to", "assigned_at", "locked_by", "locked_until",
                                 "next_work_at"])
        if previous is not None:
            Assignment.objects.create(case=case, kind=Assignment.Kind.WITHDRAW, from_user=previous, to_user=None,
                                      team_id=case.team_id, by=acting_user, reason=reason)
        CaseStatusChange.objects.create(case=case, from_status=old, to_status=CaseStatus.RECALLED, by=acting_user,
                                        reason=reason)
        events.case_recalled(case, user=acting_user, reason=reason, from_status=old, from_user=previous)
        audit("case.recall", actor=acting_user, obj=case, reason=reason, old=old,
              **{"from": previous.pk if previous else None})
        recalled.append(case.pk)
    return recalled


@transaction.atomic(durable=True)
def do_retain_cases(case_ids, *, until: date, acting_user, reason: str) -> int:
    """留案: keep cases past their placement's end, up to and including `until`."""
    reason = _require_reason(reason)
    if until is None or until < timezone.localdate():
        raise ActionError({"until": _("A case can only be retained until a day that has not passed.")})
    cases = lock_rows(Case.objects.filter(pk__in=list(case_ids), status__in=RECALLABLE))
    for case in cases:
        old = case.retained_until
        case.retained_until = until
        case.save(update_fields=["retained_until"])
        events.case_retained(case, user=acting_user, until=until, reason=reason)
        audit("case.retain", actor=acting_user, obj=case, reason=reason, until=until, old=old)
    return len(cases)


@transaction.atomic(durable=True)
def do_extend_placement(placement: Placement, *, ends_on: date, acting_user, reason: str) -> Placement:
    """Placement.extend(): the creditor extends the placement period (留案 for the whole batch)."""
    reason = _require_reason(reason)
    placement = lock_one(Placement, placement.pk)
    if ends_on is None or ends_on <= placement.ends_on:
        raise ActionError({"ends_on": _("The new end date must be later than the current one (%(date)s).") % {
            "date": placement.ends_on.isoformat()}})
    old = placement.ends_on
    placement.ends_on = ends_on
    placement.save(update_fields=["ends_on"])
    audit("placement.extend", actor=acting_user, obj=placement, reason=reason, old=old, new=ends_on)
    return placement


# --- intake profiles ------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def do_save_import_profile(creditor, *, name: str, mapping: dict[str, str], acting_user, kind: str = "placement",
                           options: dict | None = None):
    """Save (create or replace) a creditor's file layout {our_field: their header} under a name."""
    from qingshou.portfolio.models import ImportProfile

    name = (name or "").strip()
    if not name:
        raise ActionError({"profile_name": _("Give the profile a name.")})
    if len(name) > 60:
        raise ActionError({"profile_name": _("At most 60 characters.")})
    clean = {str(k): str(v) for k, v in (mapping or {}).items() if k and v}
    profile, created = ImportProfile.objects.select_for_update().get_or_create(
        creditor=creditor, kind=kind, name=name, defaults={"mapping": clean, "options": options or {}})
    if not created:
        profile.mapping = clean
        profile.options = {**(profile.options or {}), **(options or {})}
        profile.save(update_fields=["mapping", "options", "updated_at"])
    audit("import_profile.save", actor=acting_user, obj=profile, created=created, fields=sorted(clean))
    return profile
