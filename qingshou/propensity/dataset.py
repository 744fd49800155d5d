"""Training snapshots from the database history: features as of a date, label from the 30 days after.

For a snapshot date D the cut is the start of D (Asia/Shanghai): every feature is computed only from
rows that existed before it — contacts started before it, promises created before it (open, or
resolved before it), payments made before it, holds placed before it, phone statuses set before it —
and the balance is rolled back by the payments made since. Days past due are the current value minus
the days since D (the case ages one day per day). The label is: did the case receive any payment in
[D, D + 30 days). Only dates whose label window has fully passed are used.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from qingshou.propensity.score import feature_matrix
from qingshou.strategy.facts import CaseFacts

LABEL_DAYS = 30
CALL_DAYS = 7   # the call-value label: calls in the week after a (weekly) snapshot


@dataclass
class Dataset:
    x: np.ndarray
    y: np.ndarray
    snapshot: np.ndarray        # snapshot date as a proleptic ordinal (date.toordinal)
    case_ids: np.ndarray
    dates: list[date]
    calls: np.ndarray | None = None        # calls made to the case in [snapshot, snapshot + CALL_DAYS)
    call_money: np.ndarray | None = None   # money paid toward the promises made in those calls


def start_of(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time(0)))


def facts_as_of(d: date, *, today: date | None = None) -> tuple[list[CaseFacts], list[int]]:
    """CaseFacts of the cases that existed and were unpaid at the start of `d`, from history before it."""
    from qingshou.contact.models import ContactAttempt
    from qingshou.payments.models import Payment, Promise
    from qingshou.portfolio.models import Case, CaseHold, CaseStatusChange, Phone, bucket_for_dpd
    from qingshou.strategy.engine import stated_positions

    today = today or timezone.localdate()
    cut = start_of(d)
    age = (today - d).days
    # the status each case had at the cut (its last status change before it); closed ones are left out
    last_at = dict(CaseStatusChange.objects.filter(at__lt=cut).values("case_id").annotate(m=Max("at"))
                   .values_list("case_id", "m"))
    closed = {cid for cid, status, at in CaseStatusChange.objects.filter(at__lt=cut).values_list(
        "case_id", "to_status", "at") if last_at.get(cid) == at and status in ("settled", "recalled", "closed")}
    rows = [r for r in Case.objects.filter(created_at__lt=cut).order_by("pk").values_list(
        "pk", "dpd", "total_due", "product", "debtor__region", "creditor_id", "assigned_at", "debtor_id")
        if r[0] not in closed]
    if not rows:
        return [], []
    later = dict(Payment.objects.filter(paid_at__gte=cut).values("case_id").annotate(s=Sum("amount"))
                 .values_list("case_id", "s"))
    holds: dict[int, set[str]] = defaultdict(set)
    for cid, reason in CaseHold.objects.filter(Q(released_at__isnull=True) | Q(released_at__gte=cut),
                                               placed_at__lt=cut).values_list("case_id", "reason"):
        holds[cid].update(("hold", reason))
    open_due = dict(Promise.objects.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=cut), created_at__lt=cut)
                    .values("case_id").annotate(d=Min("due_date")).values_list("case_id", "d"))
    kept, broken = Counter(), Counter()
    for cid, status, n in (Promise.objects.filter(resolved_at__lt=cut, resolved_at__gte=cut - timedelta(days=90),
                                                  status__in=("kept", "broken"))
                           .values("case_id", "status").annotate(n=Count("id")).values_list("case_id", "status", "n")):
        (kept if status == "kept" else broken)[cid] = n
    pays = {cid: (n, float(s or 0)) for cid, n, s in Payment.objects.filter(
        paid_at__lt=cut, paid_at__gte=cut - timedelta(days=90)).values("case_id")
        .annotate(n=Count("id"), s=Sum("amount")).values_list("case_id", "n", "s")}
    contacts = {cid: (n, rpc) for cid, n, rpc in ContactAttempt.objects.filter(
        started_at__lt=cut, started_at__gte=cut - timedelta(days=30)).values("case_id")
        .annotate(n=Count("id"), rpc=Count("id", filter=Q(outcome__right_party=True)))
        .values_list("case_id", "n", "rpc")}
    refusals, hardship = stated_positions(ContactAttempt.objects.filter(
        started_at__lt=cut, started_at__gte=cut - timedelta(days=90)))
    last_contact = dict(ContactAttempt.objects.filter(started_at__lt=cut).values("case_id")
                        .annotate(m=Max("started_at")).values_list("case_id", "m"))
    phones: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for did, total, valid, invalid in (Phone.objects.values("party__debtor_id").annotate(
            t=Count("id"),
            v=Count("id", filter=Q(status="valid") & (Q(status_changed_at__isnull=True)
                                                      | Q(status_changed_at__lt=cut))),
            i=Count("id", filter=Q(status="invalid", status_changed_at__lt=cut)))
            .values_list("party__debtor_id", "t", "v", "i")):
        phones[did] = [total, valid, invalid]
    facts, ids = [], []
    for pk, dpd_now, total_due, product, region, creditor_id, assigned_at, debtor_id in rows:
        balance = float(total_due) + float(later.get(pk) or 0)
        if balance <= 0.005:
            continue
        dpd = max(0, dpd_now - age)
        flags = set(holds.get(pk, ()))
        ptotal, pvalid, pinvalid = phones.get(debtor_id, (0, 0, 0))
        if ptotal and pinvalid == ptotal:
            flags.add("lost_contact")
        if pk in hardship:
            flags.add("hardship")
        due = open_due.get(pk)
        c_n, c_rpc = contacts.get(pk, (0, 0))
        pay_n, pay_s = pays.get(pk, (0, 0.0))
        lc = last_contact.get(pk)
        facts.append(CaseFacts(
            case_id=pk, bucket=bucket_for_dpd(dpd), dpd=dpd, balance=balance, product=product, region=region or "",
            creditor_id=creditor_id, flags=frozenset(flags), open_promise=due is not None,
            promise_due_in_days=(due - d).days if due is not None else None,
            broken_promises_90d=broken.get(pk, 0), kept_promises_90d=kept.get(pk, 0), payments_90d=pay_n,
            paid_amount_90d=pay_s, contacts_30d=c_n, right_party_contacts_30d=c_rpc,
            days_since_contact=(d - timezone.localdate(lc)).days if lc else None,
            days_since_assigned=(d - timezone.localdate(assigned_at)).days if assigned_at and assigned_at < cut
            else None,
            phones_valid=pvalid, phones_total=ptotal, refusals_90d=refusals.get(pk, 0)))
        ids.append(pk)
    return facts, ids


def labels(d: date, case_ids: list[int]) -> np.ndarray:
    """1 when the case received any payment in [d, d + 30 days)."""
    from qingshou.payments.models import Payment

    cut = start_of(d)
    paid = set(Payment.objects.filter(paid_at__gte=cut, paid_at__lt=cut + timedelta(days=LABEL_DAYS))
               .values_list("case_id", flat=True).distinct())
    return np.array([cid in paid for cid in case_ids], dtype=int)


def call_labels(d: date, case_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Per case: the completed calls made in [d, d + CALL_DAYS) and the money paid so far toward the promises
    recorded in those calls (Promise.contact). Promises are due within days; LABEL_DAYS later they are settled."""
    from qingshou.contact.models import ContactAttempt
    from qingshou.payments.models import Promise

    cut = start_of(d)
    window = Q(started_at__gte=cut, started_at__lt=cut + timedelta(days=CALL_DAYS))
    calls = dict(ContactAttempt.objects.filter(window, channel="call", status="completed").values("case_id")
                 .annotate(n=Count("id")).values_list("case_id", "n"))
    money = dict(Promise.objects.filter(contact__started_at__gte=cut,
                                        contact__started_at__lt=cut + timedelta(days=CALL_DAYS))
                 .values("case_id").annotate(s=Sum("paid_amount")).values_list("case_id", "s"))
    return (np.array([calls.get(c, 0) for c in case_ids], dtype=int),
            np.array([float(money.get(c) or 0) for c in case_ids], dtype=np.float64))


def snapshot_dates(*, weeks: int, today: date | None = None) -> list[date]:
    """Weekly snapshot dates whose 30-day label window has fully passed, oldest first."""
    today = today or timezone.localdate()
    last = today - timedelta(days=LABEL_DAYS)
    return [last - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]


def build(dates: list[date], *, today: date | None = None) -> Dataset:
    xs, ys, snaps, ids, calls, money = [], [], [], [], [], []
    for d in dates:
        facts, case_ids = facts_as_of(d, today=today)
        if not facts:
            continue
        xs.append(feature_matrix(facts))
        ys.append(labels(d, case_ids))
        n, m = call_labels(d, case_ids)
        calls.append(n)
        money.append(m)
        snaps.append(np.full(len(facts), d.toordinal()))
        ids.append(np.array(case_ids))
    if not xs:
        return Dataset(np.zeros((0, 0)), np.zeros(0, dtype=int), np.zeros(0, dtype=int), np.zeros(0, dtype=int), [])
    return Dataset(np.vstack(xs), np.concatenate(ys), np.concatenate(snaps), np.concatenate(ids), list(dates),
                   np.concatenate(calls), np.concatenate(money))
