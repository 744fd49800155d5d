"""Payments against plans and offers. Called by payments.settle_after_payments inside its transaction,
after the payments are on the balance and before the paid-in-full check."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from qingshou.arrangements.models import Instalment, Offer, RepaymentPlan, WriteOff
from qingshou.core.audit import audit
from qingshou.portfolio import events
from qingshou.portfolio.models import CaseStatus

PARTS = ("principal", "interest", "late_fees", "other_fees")


def _day_start(dt) -> datetime:
    return datetime.combine(timezone.localtime(dt).date(), time(0), tzinfo=timezone.get_current_timezone())


def paid_since(case_id: int, since) -> Decimal:
    from qingshou.payments.models import Payment

    total = Payment.objects.filter(case_id=case_id, paid_at__gte=_day_start(since)).aggregate(s=Sum("amount"))["s"]
    return (total or Decimal("0")).quantize(Decimal("0.01"))


def plan_check_at(due_date, grace_days: int) -> datetime:
    """The start of the day after an instalment's due date + grace: when a shortfall breaks the plan."""
    day = due_date + timedelta(days=grace_days + 1)
    return timezone.make_aware(datetime.combine(day, time(0, 10)))


def allocate_plan(plan: RepaymentPlan) -> list[Instalment]:
    """Payments since the plan was approved, allocated to the instalments in order (recomputed from scratch)."""
    left = paid_since(plan.case_id, plan.activated_at)
    plan.paid_amount = left
    rows = list(plan.schedule.order_by("seq"))
    now = timezone.now()
    for row in rows:
        take = min(left, row.amount)
        left -= take
        changed = take != row.paid_amount
        row.paid_amount = take
        if row.is_paid and row.paid_at is None:
            row.paid_at, changed = now, True
        if changed:
            row.save(update_fields=["paid_amount", "paid_at"])
    return rows


def next_check(plan: RepaymentPlan, rows: list[Instalment], grace_days: int):
    unpaid = next((r for r in rows if not r.is_paid), None)
    return plan_check_at(unpaid.due_date, grace_days) if unpaid else None


def write_off_rest(case, *, offer=None, plan=None, acting_user=None) -> WriteOff:
    """Write the remaining balance off (the record behind a settlement) and settle the case."""
    from qingshou.portfolio.actions import change_status

    parts = {p: getattr(case, p) for p in PARTS}
    wo = WriteOff.objects.create(case=case, offer=offer, plan=plan, total=sum(parts.values(), Decimal("0.00")),
                                 **parts)
    for p in PARTS:
        setattr(case, p, Decimal("0.00"))
    case.total_due = Decimal("0.00")
    case.save(update_fields=[*PARTS, "total_due"])
    events.balance_written_off(case, wo, user=acting_user)
    audit("arrangement.write_off", actor=acting_user, obj=wo, case_id=case.pk, total=wo.total, offer=offer,
          plan=plan, **{k: v for k, v in parts.items()})
    if case.status == CaseStatus.ACTIVE:
        change_status(case, CaseStatus.SETTLED, acting_user=acting_user, reason="settled by agreement")
    return wo


def cases_with_arrangements(case_ids) -> set[int]:
    """Of these cases, those with a running plan or an approved offer (what after_payments looks at)."""
    if not case_ids:
        return set()
    plans = RepaymentPlan.objects.filter(case_id__in=case_ids, status=RepaymentPlan.Status.ACTIVE)
    offers = Offer.objects.filter(case_id__in=case_ids, status=Offer.Status.APPROVED)
    return set(plans.values_list("case_id", flat=True)) | set(offers.values_list("case_id", flat=True))


def after_payments(case, *, acting_user=None) -> None:
    from qingshou.arrangements.terms import current_terms

    for plan in RepaymentPlan.objects.filter(case=case, status=RepaymentPlan.Status.ACTIVE).order_by("pk"):
        rows = allocate_plan(plan)
        if all(r.is_paid for r in rows):
            plan.status = RepaymentPlan.Status.COMPLETED
            plan.ended_at = timezone.now()
            plan.check_at = None
            plan.save(update_fields=["status", "ended_at", "check_at", "paid_amount"])
            events.plan_completed(case, plan)
            audit("plan.completed", actor=acting_user, obj=plan, case_id=case.pk, paid=plan.paid_amount)
            if case.total_due > 0 and plan.treatment == "waived":
                write_off_rest(case, plan=plan, acting_user=acting_user)
        else:
            plan.check_at = next_check(plan, rows, current_terms(case.creditor_id).grace_days)
            plan.save(update_fields=["paid_amount", "check_at"])
    today = timezone.localdate()
    for offer in Offer.objects.filter(case=case, status=Offer.Status.APPROVED).order_by("pk"):
        offer.paid_amount = paid_since(case.pk, offer.approved_at)
        if offer.expires_on and offer.expires_on < today:
            offer.save(update_fields=["paid_amount"])
            continue
        if offer.paid_amount >= offer.pay_amount:
            offer.status = Offer.Status.SETTLED
            offer.ended_at = timezone.now()
            offer.save(update_fields=["paid_amount", "status", "ended_at"])
            audit("offer.settled", actor=acting_user, obj=offer, case_id=case.pk, paid=offer.paid_amount)
            if case.total_due > 0:
                write_off_rest(case, offer=offer, acting_user=acting_user)
            elif case.status == CaseStatus.ACTIVE:
                from qingshou.portfolio.actions import change_status

                change_status(case, CaseStatus.SETTLED, acting_user=acting_user, reason="settled by agreement")
        else:
            offer.save(update_fields=["paid_amount"])
