"""Promises to pay and payments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.locking import lock_one, lock_rows
from qingshou.payments.models import Payment, Promise
from qingshou.portfolio import events
from qingshou.portfolio.models import Case, CaseStatus

# The default latest promise date (days ahead) when a creditor has no terms of its own.
MAX_PROMISE_DAYS = 60


def _terms(case):
    from qingshou.arrangements.terms import current_terms

    return current_terms(case.creditor_id)


def promise_check_at(due_date, grace_days: int | None = None) -> datetime:
    """When the scheduler decides a promise: the start of the day after due date + grace days."""
    grace = settings.PROMISE_GRACE_DAYS if grace_days is None else grace_days
    day = due_date + timedelta(days=grace + 1)
    return timezone.make_aware(datetime.combine(day, time(0, 5)))


def promise_minimum(case, terms) -> Decimal:
    """The smallest promise the creditor accepts: its minimum amount or share of the balance, at most the balance."""
    share = (case.total_due * terms.promise_min_share).quantize(Decimal("0.01"))
    return min(max(terms.promise_min_amount, share), case.total_due)


def validate_promise(case: Case, amount, due_date, terms=None) -> None:
    """The creditor's promise limits: minimum amount or share of the balance, latest date."""
    terms = terms or _terms(case)
    errors = {}
    if amount is None or amount <= 0:
        errors["promise_amount"] = _("Enter the promised amount.")
    elif amount > case.total_due:
        errors["promise_amount"] = _("The promised amount exceeds the balance (%(total)s).") % {
            "total": case.total_due}
    elif amount < promise_minimum(case, terms):
        errors["promise_amount"] = _("The creditor accepts promises of at least %(min)s.") % {
            "min": promise_minimum(case, terms)}
    today = timezone.localdate()
    if due_date is None:
        errors["promise_due_date"] = _("Enter the date the debtor promised to pay by.")
    elif due_date < today:
        errors["promise_due_date"] = _("The promised date cannot be in the past.")
    elif due_date > today + timedelta(days=terms.promise_max_days):
        errors["promise_due_date"] = _("A promise must fall within %(days)s days.") % {"days": terms.promise_max_days}
    if errors:
        raise ActionError(errors)


def create_promise(case: Case, *, amount: Decimal, due_date, acting_user, party=None, contact=None) -> Promise:
    """Inside the caller's transaction.

    With the creditor's default of one open promise per case, a new promise supersedes the pending one.
    A creditor that allows several (split promises) gets them side by side, up to its limit.
    """
    terms = _terms(case)
    validate_promise(case, amount, due_date, terms)
    pending = list(Promise.objects.filter(case=case, status=Promise.Status.PENDING).order_by("id"))
    if terms.promise_max_open <= 1:
        superseded = pending
    elif len(pending) >= terms.promise_max_open:
        raise ActionError({"promise_amount": _("This case already has %(n)s open promises, the creditor's limit.")
                           % {"n": terms.promise_max_open}})
    else:
        superseded = []
    for old in superseded:
        old.status = Promise.Status.CANCELLED
        old.resolved_at = timezone.now()
        old.check_at = None
        old.save(update_fields=["status", "resolved_at", "check_at"])
        audit("promise.superseded", actor=acting_user, obj=old, case_id=case.pk)
    promise = Promise.objects.create(
        case=case, party=party, contact=contact, amount=amount, due_date=due_date, created_by=acting_user,
        check_at=promise_check_at(due_date, terms.grace_days),
        grace_until=due_date + timedelta(days=terms.grace_days),
    )
    events.promise_made(case, promise, user=acting_user)
    audit("promise.create", actor=acting_user, obj=promise, case_id=case.pk, amount=amount, due_date=due_date,
          grace_until=promise.grace_until)
    return promise


@transaction.atomic(durable=True)
def do_make_promise(case: Case, *, amount: Decimal, due_date, acting_user, party=None) -> Promise:
    case = lock_one(Case, case.pk)
    return create_promise(case, amount=amount, due_date=due_date, acting_user=acting_user, party=party)


def _grace_end(promise: Promise) -> datetime:
    tz = timezone.get_current_timezone()
    last = promise.grace_until or promise.due_date + timedelta(days=settings.PROMISE_GRACE_DAYS)
    return datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)


def _allocate_pending(case_id: int, promises: list[Promise]) -> None:
    """Spread the case's payments over its pending promises, earliest due first: each payment counts once,
    toward a promise made on or before the day it was paid and before that promise's grace ran out."""
    if not promises:
        return
    tz = timezone.get_current_timezone()
    promises = sorted(promises, key=lambda p: (p.due_date, p.pk))
    start = min(datetime.combine(timezone.localtime(p.created_at).date(), time(0), tzinfo=tz) for p in promises)
    pool = [[pay.paid_at, pay.amount] for pay in
            Payment.objects.filter(case_id=case_id, paid_at__gte=start).order_by("paid_at", "id")]
    for promise in promises:
        begin = datetime.combine(timezone.localtime(promise.created_at).date(), time(0), tzinfo=tz)
        end = _grace_end(promise)
        got = Decimal("0.00")
        for entry in pool:
            if got >= promise.amount:
                break
            if begin <= entry[0] < end and entry[1] > 0:
                take = min(entry[1], promise.amount - got)
                entry[1] -= take
                got += take
        promise.paid_amount = got


def _settle_promise_if_covered(promise: Promise) -> bool:
    if promise.paid_amount >= promise.amount:
        promise.status = Promise.Status.KEPT
        promise.resolved_at = timezone.now()
        promise.check_at = None
        promise.save(update_fields=["status", "resolved_at", "check_at", "paid_amount"])
        events.promise_kept(promise.case, promise)
        audit("promise.kept", actor=None, obj=promise, case_id=promise.case_id, paid=promise.paid_amount)
        return True
    promise.save(update_fields=["paid_amount"])
    return False


# Payments pay off other fees first, then late fees, interest and principal last.
PAYMENT_WATERFALL = ("other_fees", "late_fees", "interest", "principal")


def apply_to_balance(case: Case, amount: Decimal) -> dict[str, Decimal]:
    """Reduce the balance parts in waterfall order so that the parts always add up to total_due."""
    left = amount
    allocation: dict[str, Decimal] = {}
    for part in PAYMENT_WATERFALL:
        take = min(left, getattr(case, part))
        if take > 0:
            setattr(case, part, getattr(case, part) - take)
            allocation[part] = take
            left -= take
    case.total_due = sum((getattr(case, p) for p in PAYMENT_WATERFALL), Decimal("0.00"))
    if left > 0:
        allocation["overpaid"] = left
    return allocation


def record_payment(case: Case, *, amount: Decimal, paid_at, source_ref: str, acting_user=None,
                   creditor_txn_id: str = "") -> tuple[Payment, dict[str, Decimal]]:
    """One payment on a case already locked by the caller's transaction: balance, timeline, audit.

    Promises and the settled status are looked at by `settle_after_payments` once the caller has
    recorded all of its payments on the case.
    """
    payment = Payment.objects.create(case=case, amount=amount, paid_at=paid_at, source_ref=source_ref,
                                     creditor_id=case.creditor_id, creditor_txn_id=creditor_txn_id)
    allocation = apply_to_balance(case, amount)
    case.save(update_fields=[*PAYMENT_WATERFALL, "total_due"])
    events.payment_received(case, payment)
    audit("payment.record", actor=acting_user, obj=payment, case_id=case.pk, amount=amount, ref=source_ref,
          allocation=allocation)
    return payment, allocation


def settle_after_payments(case: Case, *, acting_user=None, arrangements: bool = True) -> None:
    """Keep the promises the payments now cover, track running plans and approved offers (arrangements=False
    when the caller knows the case has none), settle a case paid in full. Inside the caller's transaction."""
    pending = list(Promise.objects.filter(case=case, status=Promise.Status.PENDING).select_related("case"))
    _allocate_pending(case.pk, pending)
    for promise in pending:
        _settle_promise_if_covered(promise)
    if arrangements:
        from qingshou.arrangements.tracking import after_payments

        after_payments(case, acting_user=acting_user)
    if case.total_due == 0 and case.status == CaseStatus.ACTIVE:
        from qingshou.portfolio.actions import change_status

        change_status(case, CaseStatus.SETTLED, acting_user=acting_user, reason="paid in full")


@transaction.atomic(durable=True)
def do_record_payment(case: Case, *, amount: Decimal, paid_at, source_ref: str, acting_user=None) -> Payment:
    """回款: reduce the balance, keep covered promises, settle a fully paid case. Idempotent on source_ref."""
    if amount is None or amount <= 0:
        raise ActionError({"amount": _("A payment must be a positive amount.")})
    case = lock_one(Case, case.pk)
    existing = Payment.objects.filter(case=case, source_ref=source_ref).first()
    if existing:
        return existing
    payment, _allocation = record_payment(case, amount=amount, paid_at=paid_at, source_ref=source_ref,
                                          acting_user=acting_user)
    settle_after_payments(case, acting_user=acting_user)
    return payment


@dataclass(frozen=True)
class PaymentLine:
    """One payment of a creditor's repayment file, already matched to a case."""

    case_id: int
    amount: Decimal
    paid_at: datetime
    txn_id: str
    row: int = 0


@dataclass
class BatchResult:
    recorded: list[tuple[PaymentLine, Payment]] = field(default_factory=list)
    duplicates: list[PaymentLine] = field(default_factory=list)
    settled_case_ids: list[int] = field(default_factory=list)


@transaction.atomic(durable=True)
def do_record_payments(creditor, lines: list[PaymentLine], *, acting_user=None) -> BatchResult:
    """回款 in bulk (a chunk of a repayment file): the same rules as do_record_payment, one transaction.

    Idempotent on the creditor's transaction id: a line whose id the creditor already has a payment
    for (from an earlier file or an earlier line) is reported as a duplicate and changes nothing.
    Cases are locked in primary-key order; payments are applied in the order they were paid.
    """
    result = BatchResult()
    for line in lines:
        if line.amount is None or line.amount <= 0:
            raise ActionError({"amount": _("A payment must be a positive amount.")})
        if not line.txn_id:
            raise ActionError({"txn_id": _("A payment from a file needs the creditor's transaction id.")})
    if not lines:
        return result
    cases = {c.pk: c for c in lock_rows(Case.objects.filter(pk__in={ln.case_id for ln in lines},
                                                             creditor=creditor))}
    missing = {ln.case_id for ln in lines} - set(cases)
    if missing:
        raise ActionError({"case": _("A payment names a case of another creditor.")})
    seen = set(Payment.objects.filter(creditor=creditor, creditor_txn_id__in={ln.txn_id for ln in lines})
               .values_list("creditor_txn_id", flat=True))
    # A payment recorded on the case under the same reference by other means counts as this one.
    refs = set(Payment.objects.filter(case_id__in=list(cases), source_ref__in={ln.txn_id[:64] for ln in lines})
               .values_list("case_id", "source_ref"))
    touched: dict[int, Case] = {}
    for line in sorted(lines, key=lambda ln: (ln.paid_at, ln.row)):
        if line.txn_id in seen or (line.case_id, line.txn_id[:64]) in refs:
            result.duplicates.append(line)
            continue
        seen.add(line.txn_id)
        case = cases[line.case_id]
        payment, _allocation = record_payment(case, amount=line.amount, paid_at=line.paid_at,
                                              source_ref=line.txn_id[:64], acting_user=acting_user,
                                              creditor_txn_id=line.txn_id)
        result.recorded.append((line, payment))
        touched[case.pk] = case
    from qingshou.arrangements.tracking import cases_with_arrangements

    arranged = cases_with_arrangements(list(touched))   # two queries for the chunk, not two per case
    for pk in sorted(touched):
        case = touched[pk]
        was = case.status
        settle_after_payments(case, acting_user=acting_user, arrangements=pk in arranged)
        if was != case.status and case.status == CaseStatus.SETTLED:
            result.settled_case_ids.append(pk)
    return result


@transaction.atomic(durable=True)
def do_resolve_promise(promise_id: int, *, acting_user=None) -> str:
    """Decide a pending promise after its grace period: kept when payments cover it, partly kept when they
    cover some of it, else broken. A promise not kept in full sends the case back to the top of the queue
    (next follow-up now) and writes the promise_broken event that strategy re-evaluates on."""
    promise = lock_one(Promise, promise_id)
    if promise.status != Promise.Status.PENDING:
        return promise.status
    pending = list(Promise.objects.filter(case_id=promise.case_id, status=Promise.Status.PENDING)
                   .exclude(pk=promise.pk))
    _allocate_pending(promise.case_id, [promise, *pending])
    if _settle_promise_if_covered(promise):
        return promise.status
    now = timezone.now()
    promise.status = Promise.Status.PARTLY_KEPT if promise.paid_amount > 0 else Promise.Status.BROKEN
    promise.resolved_at = now
    promise.check_at = None
    promise.save(update_fields=["status", "resolved_at", "check_at"])
    events.promise_broken(promise.case, promise)
    audit("promise.partly_kept" if promise.status == Promise.Status.PARTLY_KEPT else "promise.broken",
          actor=acting_user, obj=promise, case_id=promise.case_id, paid=promise.paid_amount)
    # Follow up a broken promise at once: back to the top of the queue.
    Case.objects.filter(pk=promise.case_id).update(next_work_at=now)
    return promise.status


@transaction.atomic(durable=True)
def do_cancel_promise(promise: Promise, *, acting_user, reason: str) -> Promise:
    promise = lock_one(Promise, promise.pk)
    if promise.status != Promise.Status.PENDING:
        raise ActionError({"promise": _("Only a pending promise can be cancelled.")})
    promise.status = Promise.Status.CANCELLED
    promise.resolved_at = timezone.now()
    promise.check_at = None
    promise.save(update_fields=["status", "resolved_at", "check_at"])
    audit("promise.cancel", actor=acting_user, obj=promise, case_id=promise.case_id, reason=reason)
    return promise
