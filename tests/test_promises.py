"""Promises to pay: creditor limits, partial payments, kept / partly kept / broken after grace, the queue."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from qingshou.arrangements.actions import do_update_terms
from qingshou.core.errors import ActionError
from qingshou.core.models import AuditLog
from qingshou.payments.actions import do_make_promise, do_record_payment, do_resolve_promise
from qingshou.payments.models import Promise
from qingshou.portfolio.models import CaseEvent


def _pay(case, amount, *, days=0, ref):
    at = timezone.now() + timedelta(days=days)
    return do_record_payment(case, amount=Decimal(amount), paid_at=at, source_ref=ref)


def _terms(world, **values):
    return do_update_terms(world.creditor_a, values=values, note="测试条款", acting_user=world.supervisor)


def test_limits_per_creditor(office_hours, world):
    today = timezone.localdate()
    _terms(world, promise_min_amount=Decimal("500.00"), promise_min_share=Decimal("0.10"), promise_max_days=10)
    with pytest.raises(ActionError) as exc:  # 10% of 12,000 is the bigger minimum
        do_make_promise(world.case, amount=Decimal("1000"), due_date=today + timedelta(days=3),
                        acting_user=world.collector)
    assert "promise_amount" in exc.value.error_dict
    with pytest.raises(ActionError) as exc:
        do_make_promise(world.case, amount=Decimal("1200"), due_date=today + timedelta(days=11),
                        acting_user=world.collector)
    assert "promise_due_date" in exc.value.error_dict
    p = do_make_promise(world.case, amount=Decimal("1200"), due_date=today + timedelta(days=10),
                        acting_user=world.collector)
    assert p.status == Promise.Status.PENDING
    # Creditor B keeps the defaults: a small promise far ahead is fine there.
    do_make_promise(world.case_team2, amount=Decimal("50"), due_date=today + timedelta(days=50),
                    acting_user=world.collector_team2)


def test_open_promise_limit_and_split_promises(office_hours, world):
    today = timezone.localdate()
    p1 = do_make_promise(world.case, amount=Decimal("300"), due_date=today + timedelta(days=2),
                         acting_user=world.collector)
    p2 = do_make_promise(world.case, amount=Decimal("300"), due_date=today + timedelta(days=4),
                         acting_user=world.collector)
    p1.refresh_from_db()
    assert p1.status == Promise.Status.CANCELLED  # the default: one open promise, a new one supersedes
    _terms(world, promise_max_open=2)
    p3 = do_make_promise(world.case, amount=Decimal("200"), due_date=today + timedelta(days=6),
                         acting_user=world.collector)
    p2.refresh_from_db()
    assert p2.status == Promise.Status.PENDING and p3.status == Promise.Status.PENDING
    with pytest.raises(ActionError):
        do_make_promise(world.case, amount=Decimal("200"), due_date=today + timedelta(days=7),
                        acting_user=world.collector)
    # One payment of 400 keeps the earlier one (300) and goes 100 toward the later one.
    _pay(world.case, "400", ref="split-1")
    p2.refresh_from_db()
    p3.refresh_from_db()
    assert p2.status == Promise.Status.KEPT and p2.paid_amount == Decimal("300.00")
    assert p3.status == Promise.Status.PENDING and p3.paid_amount == Decimal("100.00")


def test_kept_by_partial_payments_within_grace(office_hours, world):
    today = timezone.localdate()
    _terms(world, grace_days=2)
    p = do_make_promise(world.case, amount=Decimal("1000"), due_date=today + timedelta(days=1),
                        acting_user=world.collector)
    assert p.grace_until == today + timedelta(days=3)
    assert timezone.localtime(p.check_at).date() == today + timedelta(days=4)
    _pay(world.case, "400", ref="pp-1")
    p.refresh_from_db()
    assert p.status == Promise.Status.PENDING and p.paid_amount == Decimal("400.00")
    office_hours.move_to(timezone.now() + timedelta(days=3))  # within grace (due + 2)
    _pay(world.case, "600", ref="pp-2")
    p.refresh_from_db()
    assert p.status == Promise.Status.KEPT and p.paid_amount == Decimal("1000.00")
    assert CaseEvent.objects.filter(case=world.case, type="promise_kept").exists()


def test_partly_kept_after_grace_goes_to_the_top_of_the_queue(office_hours, world):
    today = timezone.localdate()
    p = do_make_promise(world.case, amount=Decimal("1000"), due_date=today + timedelta(days=1),
                        acting_user=world.collector)
    _pay(world.case, "250", ref="part-1")
    # A payment after grace (due + 1 day) does not count toward the promise.
    office_hours.move_to(timezone.make_aware(datetime.combine(today + timedelta(days=3), time(9))))
    _pay(world.case, "750", ref="late-1")
    assert do_resolve_promise(p.pk) == Promise.Status.PARTLY_KEPT
    p.refresh_from_db()
    assert p.paid_amount == Decimal("250.00")
    world.case.refresh_from_db()
    assert world.case.next_work_at is not None and world.case.next_work_at <= timezone.now()
    ev = CaseEvent.objects.get(case=world.case, type="promise_broken")
    assert ev.data["paid"] == "250.00"
    assert AuditLog.objects.filter(action="promise.partly_kept", object_id=str(p.pk)).exists()


def test_broken_when_nothing_paid(office_hours, world):
    today = timezone.localdate()
    p = do_make_promise(world.case, amount=Decimal("500"), due_date=today, acting_user=world.collector)
    office_hours.move_to(timezone.now() + timedelta(days=2))
    assert do_resolve_promise(p.pk) == Promise.Status.BROKEN
    assert do_resolve_promise(p.pk) == Promise.Status.BROKEN  # idempotent, no second event
    assert CaseEvent.objects.filter(case=world.case, type="promise_broken").count() == 1
    world.case.refresh_from_db()
    assert world.case.next_work_at is not None


def test_kept_at_resolution(office_hours, world):
    today = timezone.localdate()
    p = do_make_promise(world.case, amount=Decimal("500"), due_date=today, acting_user=world.collector)
    _pay(world.case, "500", ref="k-1")
    p.refresh_from_db()
    assert p.status == Promise.Status.KEPT
    assert do_resolve_promise(p.pk) == Promise.Status.KEPT


def test_kept_rate_per_collector_and_team(office_hours, world, client):
    from qingshou.reports.figures import team_figures

    today = timezone.localdate()
    kept = do_make_promise(world.case, amount=Decimal("500"), due_date=today, acting_user=world.collector)
    _pay(world.case, "500", ref="kr-1")
    broken = do_make_promise(world.case_peer, amount=Decimal("500"), due_date=today,
                             acting_user=world.collector_peer)
    office_hours.move_to(timezone.now() + timedelta(days=2))
    do_resolve_promise(broken.pk)
    kept.refresh_from_db()
    assert kept.status == "kept"
    figs = team_figures(world.team1)
    by_user = {r.user.username: r.figures for r in figs.rows}
    assert by_user["c1"].kept_rate == 1.0 and by_user["c2"].kept_rate == 0.0
    assert figs.totals.kept_rate == 0.5
    client.force_login(world.leader)
    html = client.get("/reports/team/").content.decode()
    assert "履约率" in html and "50.0%" in html
