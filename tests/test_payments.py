"""Payments and promise resolution."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from qingshou.core.errors import ActionError
from qingshou.payments.actions import (
    do_cancel_promise,
    do_make_promise,
    do_record_payment,
    do_resolve_promise,
)
from qingshou.payments.models import Payment, Promise
from qingshou.portfolio.models import CaseEvent, CaseStatus


def test_payment_reduces_balance_and_is_idempotent(office_hours, world):
    do_record_payment(world.case, amount=Decimal("1000.00"), paid_at=timezone.now(), source_ref="TX1")
    do_record_payment(world.case, amount=Decimal("1000.00"), paid_at=timezone.now(), source_ref="TX1")
    world.case.refresh_from_db()
    assert world.case.total_due == Decimal("11000.00")
    parts = world.case.principal + world.case.interest + world.case.late_fees + world.case.other_fees
    assert parts == world.case.total_due
    assert world.case.principal == Decimal("9600.00") and world.case.interest == Decimal("1400.00")
    assert Payment.objects.count() == 1
    assert CaseEvent.objects.filter(case=world.case, type="payment_received").count() == 1


def test_payment_must_be_positive(office_hours, world):
    with pytest.raises(ActionError):
        do_record_payment(world.case, amount=Decimal("0"), paid_at=timezone.now(), source_ref="TX0")


def test_full_payment_settles_the_case(office_hours, world):
    do_record_payment(world.case, amount=world.case.total_due, paid_at=timezone.now(), source_ref="TXALL")
    world.case.refresh_from_db()
    assert world.case.status == CaseStatus.SETTLED and world.case.total_due == 0
    assert world.case.status_history.get().to_status == CaseStatus.SETTLED


def test_covering_payment_keeps_the_promise_at_once(office_hours, world):
    p = do_make_promise(world.case, amount=Decimal("500"), due_date=timezone.localdate() + timedelta(days=2),
                        acting_user=world.collector)
    do_record_payment(world.case, amount=Decimal("300"), paid_at=timezone.now(), source_ref="A")
    p.refresh_from_db()
    assert p.status == Promise.Status.PENDING and p.paid_amount == Decimal("300")
    do_record_payment(world.case, amount=Decimal("200"), paid_at=timezone.now(), source_ref="B")
    p.refresh_from_db()
    assert p.status == Promise.Status.KEPT
    assert CaseEvent.objects.filter(case=world.case, type="promise_kept").exists()


def test_unpaid_promise_is_broken_after_grace(office_hours, world):
    p = do_make_promise(world.case, amount=Decimal("500"), due_date=timezone.localdate(),
                        acting_user=world.collector)
    office_hours.shift(timedelta(days=3))
    assert do_resolve_promise(p.pk) == Promise.Status.BROKEN
    assert CaseEvent.objects.filter(case=world.case, type="promise_broken").exists()
    assert do_resolve_promise(p.pk) == Promise.Status.BROKEN  # idempotent


def test_payment_within_grace_keeps_it(office_hours, world):
    p = do_make_promise(world.case, amount=Decimal("500"), due_date=timezone.localdate(),
                        acting_user=world.collector)
    office_hours.shift(timedelta(days=1))  # grace day
    Payment.objects.create(case=world.case, amount=Decimal("500"), paid_at=timezone.now(), source_ref="late")
    office_hours.shift(timedelta(days=1))
    assert do_resolve_promise(p.pk) == Promise.Status.KEPT


def test_cancel_promise(office_hours, world):
    p = do_make_promise(world.case, amount=Decimal("500"), due_date=timezone.localdate(),
                        acting_user=world.collector)
    do_cancel_promise(p, acting_user=world.collector, reason="客户改约")
    with pytest.raises(ActionError):
        do_cancel_promise(p, acting_user=world.collector, reason="again")
