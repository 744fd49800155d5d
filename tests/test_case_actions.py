"""Case actions: Get Next, reassignment, withdrawal, PII reveal, holds, and the queue order."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from qingshou.core.errors import ActionError
from qingshou.core.models import AuditLog
from qingshou.payments.actions import do_make_promise
from qingshou.portfolio.actions import (
    do_get_next,
    do_place_hold,
    do_reassign_cases,
    do_release_hold,
    do_release_lock,
    do_reveal_pii,
    do_withdraw_cases,
    expire_case_locks,
)
from qingshou.portfolio.models import Assignment, Case, CaseEvent
from qingshou.strategy.queue import work_queue
from tests.factories import make_case


def test_queue_order_promise_due_then_first_call_overdue_then_balance(office_hours, world):
    c = world.collector
    big = make_case(world.placement_a, collector=c, total=Decimal("90000"))
    overdue = make_case(world.placement_a, collector=c, total=Decimal("1000"), assigned_days_ago=3)
    promised = make_case(world.placement_a, collector=c, total=Decimal("500"))
    do_make_promise(promised, amount=Decimal("100"), due_date=timezone.localdate(), acting_user=c)
    order = list(work_queue(c).values_list("pk", flat=True))
    assert order[:3] == [promised.pk, overdue.pk, big.pk]
    assert world.case.pk in order


def test_held_and_settled_cases_leave_the_queue(office_hours, world):
    do_place_hold(world.case, "deceased", acting_user=world.collector, note="家属告知")
    assert world.case.pk not in work_queue(world.collector).values_list("pk", flat=True)


def test_get_next_locks_the_case_and_skips_cases_locked_by_others(office_hours, world):
    c = world.collector
    second = make_case(world.placement_a, collector=c, total=Decimal("1"))
    got = do_get_next(acting_user=c)
    assert got.pk == world.case.pk  # larger balance first
    got.refresh_from_db()
    assert got.locked_by == c and got.locked_until > timezone.now()
    assert AuditLog.objects.filter(action="case.get_next", object_id=str(got.pk)).exists()
    # Someone else holds the top case's lock: Get Next must pass over it.
    Case.objects.filter(pk=got.pk).update(locked_by=world.leader)
    assert do_get_next(acting_user=c).pk == second.pk


def test_get_next_conditional_update_is_exclusive(office_hours, world):
    # Simulate the race: both collectors see the same candidate; only the first UPDATE wins.
    now = timezone.now()
    first = Case.objects.filter(pk=world.case.pk, locked_until__isnull=True).update(
        locked_by=world.collector, locked_until=now + timedelta(minutes=5))
    second = Case.objects.filter(pk=world.case.pk, locked_until__isnull=True).update(
        locked_by=world.collector_peer, locked_until=now + timedelta(minutes=5))
    assert (first, second) == (1, 0)


def test_get_next_skips_cases_not_due_for_follow_up_and_returns_none_when_empty(office_hours, world):
    Case.objects.filter(pk=world.case.pk).update(next_work_at=timezone.now() + timedelta(hours=1))
    assert do_get_next(acting_user=world.collector) is None


def test_release_and_expire_locks(office_hours, world):
    case = do_get_next(acting_user=world.collector)
    assert do_release_lock(case, acting_user=world.collector)
    case = do_get_next(acting_user=world.collector)
    Case.objects.filter(pk=case.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert expire_case_locks() == 1
    case.refresh_from_db()
    assert case.locked_by is None


def test_reassign_requires_reason_and_records_history(office_hours, world):
    with pytest.raises(ActionError) as e:
        do_reassign_cases([world.case.pk], world.collector_peer, acting_user=world.leader, reason="")
    assert "reason" in e.value.message_dict
    n = do_reassign_cases([world.case.pk], world.collector_peer, acting_user=world.leader, reason="休假调案")
    assert n == 1
    world.case.refresh_from_db()
    assert world.case.assigned_to == world.collector_peer
    a = Assignment.objects.get(case=world.case, kind="reassign")
    assert a.from_user == world.collector and a.by == world.leader and a.reason == "休假调案"
    assert CaseEvent.objects.filter(case=world.case, type="reassigned").exists()
    assert AuditLog.objects.filter(action="case.reassign", reason="休假调案").count() == 1


def test_reassign_only_to_collectors(office_hours, world):
    with pytest.raises(ActionError):
        do_reassign_cases([world.case.pk], world.creditor_user_a, acting_user=world.leader, reason="测试原因")


def test_withdraw(office_hours, world):
    assert do_withdraw_cases([world.case.pk], acting_user=world.leader, reason="收回重分") == 1
    world.case.refresh_from_db()
    assert world.case.assigned_to is None and world.case.team == world.team1
    assert CaseEvent.objects.filter(case=world.case, type="withdrawn").exists()


def test_reveal_pii_needs_reason_and_is_audited(office_hours, world):
    phone = world.case.debtor.parties.get(relation="self").phones.first()
    with pytest.raises(ActionError):
        do_reveal_pii(world.case, what=f"phone:{phone.pk}", reason=" ", acting_user=world.collector)
    full = do_reveal_pii(world.case, what=f"phone:{phone.pk}", reason="核实号码", acting_user=world.collector)
    assert full == phone.number
    assert do_reveal_pii(world.case, what="id_number", reason="核实身份", acting_user=world.collector) == \
        world.case.debtor.id_number
    assert AuditLog.objects.filter(action="pii.reveal", actor=world.collector).count() == 2
    assert CaseEvent.objects.filter(case=world.case, type="pii_revealed").count() == 2
    other_phone = world.case_peer.debtor.parties.first().phones.first()
    with pytest.raises(ActionError):
        do_reveal_pii(world.case, what=f"phone:{other_phone.pk}", reason="核实号码", acting_user=world.collector)


def test_hold_release(office_hours, world):
    hold = do_place_hold(world.case, "fraud", acting_user=world.leader, note="疑似冒名")
    do_release_hold(hold, acting_user=world.leader, note="核实无误")
    assert world.case.pk in work_queue(world.collector).values_list("pk", flat=True)
    with pytest.raises(ActionError):
        do_release_hold(hold, acting_user=world.leader)
