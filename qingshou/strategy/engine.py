"""Segmentation of live cases: facts from the database (chunked, set-based), score, arm, rules, state.

`evaluate_cases(ids_or_None, ...)` walks open cases in primary-key chunks. Per chunk it runs one
query per fact family (cases, holds, promises, payments, contacts, phones: GROUP BY over the chunk's
id range), builds `CaseFacts`, scores them in one call (`qingshou.propensity.score.score_facts`),
splits them between champion and challenger by a stable hash, applies the compiled rules, and
upserts `CaseStrategy` rows (PostgreSQL: COPY into a temporary table + one INSERT … ON CONFLICT;
elsewhere bulk_create with update_conflicts). It never calls the ORM once per case.
"""

from __future__ import annotations

import hashlib
import io
from collections import Counter, defaultdict, namedtuple
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from qingshou.strategy.facts import CaseFacts
from qingshou.strategy.rules import compile_rules

OPEN_STATUSES = ("active", "legal")
CHUNK = 20000
COPY_MIN_ROWS = 500  # PostgreSQL: from this many rows, upsert states through COPY into a temporary table
CHAMPION, CHALLENGER = "champion", "challenger"


def arm_for(case_id: int, experiment_id: int, share: float) -> str:
    """Stable split: the same case in the same experiment always lands in the same arm."""
    h = hashlib.blake2b(f"{experiment_id}:{case_id}".encode(), digest_size=8).digest()
    return CHALLENGER if int.from_bytes(h) / 2**64 < share else CHAMPION


def fallback_score(f: CaseFacts) -> float:
    """A transparent stand-in, used only when the propensity app is not installed."""
    s = 0.5 - min(f.dpd, 360) / 900 + 0.1 * min(f.kept_promises_90d, 2) - 0.08 * min(f.broken_promises_90d, 3)
    s += 0.1 * min(f.payments_90d, 2) + 0.05 * min(f.right_party_contacts_30d, 2)
    if f.balance > 50000:
        s -= 0.05
    return max(0.0, min(1.0, s))


def score_facts(facts: list[CaseFacts]) -> list[float]:
    try:
        from qingshou.propensity.score import score_facts as real
    except ImportError:
        return [fallback_score(f) for f in facts]
    return real(facts)


def score_and_value(facts) -> tuple[list[float], list[float]]:
    """Propensity and expected money of the next call per fact (the queue's order within a priority)."""
    try:
        from qingshou.propensity.score import score_and_value_facts
    except ImportError:
        scores = [fallback_score(f) for f in facts]
        return scores, [round(s * f.balance, 2) for s, f in zip(scores, facts, strict=True)]
    return score_and_value_facts(facts)


def _day_diff(today: date, when: datetime | None, tz) -> int | None:
    if when is None:
        return None
    return (today - when.astimezone(tz).date()).days


_PG_CASES_SQL = """
SELECT c.id, c.bucket, c.dpd, c.total_due::float8, c.product, COALESCE(d.region, ''), c.creditor_id,
       %(today)s::date - (c.last_contact_at AT TIME ZONE %(tz)s)::date,
       %(today)s::date - (c.assigned_at AT TIME ZONE %(tz)s)::date, c.debtor_id
FROM {case} c
-- one primary-key look-up per case: a plain join hashes the whole debtor table for every chunk
JOIN LATERAL (SELECT d.region FROM {debtor} d WHERE d.id = c.debtor_id OFFSET 0) d ON true
WHERE c.id >= %(lo)s AND c.id < %(hi)s AND c.status IN ('active', 'legal')
ORDER BY c.id
"""


def _case_rows(case_filter: Q | None, pk_range, today: date, tz) -> list[tuple]:
    """(pk, bucket, dpd, balance float, product, region, creditor_id, days since contact, days since assigned,
    debtor_id) of the open cases: raw SQL over a pk range on PostgreSQL (the nightly run's hot path: no
    Decimal or datetime objects per row), the ORM otherwise."""
    from qingshou.portfolio.models import Case, Debtor

    if pk_range is not None and connection.vendor == "postgresql":
        sql = _PG_CASES_SQL.format(case=Case._meta.db_table, debtor=Debtor._meta.db_table)
        with transaction.atomic(), connection.cursor() as cur:
            # Costed high (one index look-up per row), the query would be JIT-compiled each time: slower here.
            cur.execute("SET LOCAL jit = off")
            cur.execute(sql, {"today": today, "tz": timezone.get_current_timezone_name(), "lo": pk_range[0],
                              "hi": pk_range[1]})
            return cur.fetchall()
    if pk_range is not None:
        case_filter = Q(pk__gte=pk_range[0], pk__lt=pk_range[1])
    return [(pk, bucket, dpd, float(total), product, region or "", creditor_id, _day_diff(today, last, tz),
             _day_diff(today, assigned, tz), debtor_id)
            for pk, bucket, dpd, total, product, region, creditor_id, last, assigned, debtor_id in
            Case.objects.filter(case_filter, status__in=OPEN_STATUSES).order_by("pk").values_list(
                "pk", "bucket", "dpd", "total_due", "product", "debtor__region", "creditor_id", "last_contact_at",
                "assigned_at", "debtor_id")]


def build_facts(case_filter: Q | None, today: date, now: datetime, *, pk_range=None, light: bool = False
                ) -> list[CaseFacts]:
    """CaseFacts (score None) of the open cases matching `case_filter` (a Q on portfolio.Case) or, faster,
    with primary keys in `pk_range` = (lo, hi) (hi excluded).

    light=True returns `FactRow` named tuples instead (same attributes, about 10x cheaper to build than the
    frozen dataclass): what the run uses internally for rules and scoring."""
    make = _fact_row if light else _case_facts
    from qingshou.contact.models import ContactAttempt
    from qingshou.payments.models import Payment, Promise
    from qingshou.portfolio.models import CaseHold, Phone

    tz = timezone.get_current_timezone()
    rows = _case_rows(case_filter, pk_range, today, tz)
    if not rows:
        return []
    ids = [r[0] for r in rows]
    lo, hi = ids[0], ids[-1]
    rng = Q(case_id__gte=lo, case_id__lte=hi)
    flags: dict[int, set[str]] = defaultdict(set)
    for cid, reason in CaseHold.objects.filter(rng, released_at__isnull=True).values_list("case_id", "reason"):
        flags[cid].update(("hold", reason))
    due: dict[int, date] = dict(
        Promise.objects.filter(rng, status="pending").values("case_id").annotate(d=Min("due_date"))
        .values_list("case_id", "d"))
    since90 = now - timedelta(days=90)
    kept, broken = Counter(), Counter()
    for cid, status, n in (Promise.objects.filter(rng, status__in=("kept", "broken"), resolved_at__gte=since90)
                           .values("case_id", "status").annotate(n=Count("id")).values_list("case_id", "status", "n")):
        (kept if status == "kept" else broken)[cid] = n
    pays = {cid: (n, float(s or 0)) for cid, n, s in Payment.objects.filter(rng, paid_at__gte=since90)
            .values("case_id").annotate(n=Count("id"), s=Sum("amount")).values_list("case_id", "n", "s")}
    since30 = now - timedelta(days=30)
    contacts = {cid: (n, rpc) for cid, n, rpc in ContactAttempt.objects.filter(rng, started_at__gte=since30)
                .values("case_id").annotate(n=Count("id"), rpc=Count("id", filter=Q(outcome__right_party=True)))
                .values_list("case_id", "n", "rpc")}
    refusals, hardship = stated_positions(ContactAttempt.objects.filter(rng, started_at__gte=since90))
    debtor_ids = {r[9] for r in rows}
    phones: dict[int, tuple[int, int]] = {}
    if len(debtor_ids) <= 5000:
        phone_q = Phone.objects.filter(party__debtor_id__in=debtor_ids)
    else:
        dmin, dmax = min(debtor_ids), max(debtor_ids)
        phone_q = Phone.objects.filter(party__debtor_id__gte=dmin, party__debtor_id__lte=dmax)
    for did, total, valid, invalid in (phone_q.values("party__debtor_id")
                                       .annotate(t=Count("id"), v=Count("id", filter=Q(status="valid")),
                                                 i=Count("id", filter=Q(status="invalid")))
                                       .values_list("party__debtor_id", "t", "v", "i")):
        phones[did] = (total, valid, invalid)
    last_contact_any = {}
    if any(r[7] is None for r in rows):
        # Case.last_contact_at is kept by contact logging; fall back to the contact table for older rows.
        last_contact_any = {cid: _day_diff(today, m, tz) for cid, m in ContactAttempt.objects.filter(rng)
                            .values("case_id").annotate(m=Max("started_at")).values_list("case_id", "m")}
    out = []
    append = out.append
    empty = frozenset()
    for pk, bucket, dpd, balance, product, region, creditor_id, since_contact, since_assigned, debtor_id in rows:
        f = flags.get(pk)
        ptotal, pvalid, pinvalid = phones.get(debtor_id, _NO_PHONES)
        if ptotal and pinvalid == ptotal:
            f = (f or set()) | {"lost_contact"}
        if pk in hardship:
            f = (f or set()) | {"hardship"}
        d = due.get(pk)
        pay_n, pay_s = pays.get(pk, _NO_PAYMENTS)
        c_n, c_rpc = contacts.get(pk, _NO_CONTACTS)
        # positional, in the field order of CaseFacts (see _FACT_FIELDS)
        append(make((pk, bucket, dpd, balance, product, region, creditor_id, None,
                     frozenset(f) if f else empty, d is not None, (d - today).days if d is not None else None,
                     broken.get(pk, 0), kept.get(pk, 0), pay_n, pay_s, c_n, c_rpc,
                     since_contact if since_contact is not None else last_contact_any.get(pk),
                     since_assigned, pvalid, ptotal, refusals.get(pk, 0))))
    return out


REFUSE_TO_PAY, CANNOT_PAY = "refuse_to_pay", "cannot_pay"


def stated_positions(attempts) -> tuple[Counter, set[int]]:
    """What debtors said in the given contact attempts (a ContactAttempt queryset, already limited in time):
    per case, the number of conversations coded 拒绝还款 (refuse_to_pay), and the cases with one coded 无力还款
    (cannot_pay: willing but unable to pay now, read as the "hardship" flag)."""
    refusals: Counter = Counter()
    hardship: set[int] = set()
    for cid, code, n in (attempts.filter(outcome__code__in=(REFUSE_TO_PAY, CANNOT_PAY))
                         .values("case_id", "outcome__code").annotate(n=Count("id"))
                         .values_list("case_id", "outcome__code", "n")):
        if code == REFUSE_TO_PAY:
            refusals[cid] = n
        else:
            hardship.add(cid)
    return refusals, hardship


_FACT_FIELDS = tuple(f.name for f in dataclass_fields(CaseFacts))
# A CaseFacts look-alike for the hot path: the same attribute names (rules and scores read attributes only),
# built from a tuple without the per-field object.__setattr__ of a frozen dataclass.
FactRow = namedtuple("FactRow", _FACT_FIELDS)
_SCORE_AT = _FACT_FIELDS.index("score")
_NO_PHONES, _NO_PAYMENTS, _NO_CONTACTS = (0, 0, 0), (0, 0.0), (0, 0)


def _fact_row(values: tuple) -> FactRow:
    return tuple.__new__(FactRow, values)


def _case_facts(values: tuple) -> CaseFacts:
    return CaseFacts(*values)


@dataclass
class EvalResult:
    cases: int = 0
    moves: dict = field(default_factory=lambda: defaultdict(Counter))   # from treatment -> {to: n}
    by_rule: Counter = field(default_factory=Counter)
    by_arm: Counter = field(default_factory=Counter)

    def as_report(self) -> dict:
        return {"moves": {k: dict(v) for k, v in self.moves.items()}, "by_rule": dict(self.by_rule),
                "by_arm": dict(self.by_arm)}


def _deciders():
    """(champion version, champion decide, experiment or None, challenger decide or None)."""
    from qingshou.strategy.models import Experiment, StrategyVersion

    champion = StrategyVersion.objects.filter(status=StrategyVersion.Status.PUBLISHED).first()
    if champion is None:
        from qingshou.strategy.actions import ensure_default_strategy

        champion = ensure_default_strategy()
    exp = Experiment.objects.filter(status=Experiment.Status.RUNNING).select_related("challenger").first()
    return champion, compile_rules(champion.rules), exp, (compile_rules(exp.challenger.rules) if exp else None)


def evaluate_cases(case_ids=None, *, now=None, chunk: int = CHUNK) -> EvalResult:
    """Re-evaluate open cases (all of them, or the given ids) and store their CaseStrategy rows."""
    from qingshou.portfolio.models import Case

    now = now or timezone.now()
    today = timezone.localdate(now)
    champion, decide, exp, decide_challenger = _deciders()
    share = float(exp.share) if exp else 0.0
    result = EvalResult()
    if case_ids is not None:
        id_list = sorted(set(case_ids))
        chunks = ((Q(pk__in=id_list[i:i + chunk]), None) for i in range(0, len(id_list), chunk))
    else:
        chunks = ((None, r) for r in _pk_ranges(Case, chunk))
    # A full run on PostgreSQL, outside any transaction, writes chunk N on a second connection while it
    # computes chunk N+1 (the database and Python then work at the same time), and may split the id ranges
    # over STRATEGY_RUN_PROCESSES forked processes.
    full_pg = case_ids is None and connection.vendor == "postgresql" and not connection.in_atomic_block
    processes = settings.STRATEGY_RUN_PROCESSES if full_pg else 1
    if processes > 1:
        return _evaluate_forked(list(chunks), now, processes, result)
    writer = _Writer() if full_pg else None
    try:
        _evaluate_chunks(chunks, today, now, champion, decide, exp, decide_challenger, share, result, writer)
    finally:
        if writer:
            writer.finish()
    return result


def _evaluate_part(chunks, now) -> dict:
    """In a forked process: evaluate some id ranges with a fresh connection; the report as plain data."""
    from django.db import connections

    connections.close_all()  # never reuse the parent's sockets
    today = timezone.localdate(now)
    champion, decide, exp, decide_challenger = _deciders()
    part = EvalResult()
    writer = _Writer()
    try:
        _evaluate_chunks(chunks, today, now, champion, decide, exp, decide_challenger,
                         float(exp.share) if exp else 0.0, part, writer)
    finally:
        writer.finish()
        connections.close_all()
    return {"cases": part.cases, **part.as_report()}


def _evaluate_forked(chunks, now, processes, result: EvalResult) -> EvalResult:
    import multiprocessing

    from django.db import connections

    connections.close_all()
    parts = [chunks[i::processes] for i in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        outs = pool.starmap(_evaluate_part, [(p, now) for p in parts if p])
    for out in outs:
        result.cases += out["cases"]
        for src, tos in out["moves"].items():
            result.moves[src].update(tos)
        result.by_rule.update(out["by_rule"])
        result.by_arm.update(out["by_arm"])
    return result


class _Writer:
    """One background thread writing state chunks; at most one chunk in flight; errors surface in the caller."""

    def __init__(self):
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="strategy-writer")
        self.pending = None

    def submit(self, rows, now, today):
        self.wait()
        self.pending = self.pool.submit(_write_states, rows, now, today)

    def wait(self):
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def finish(self):
        try:
            self.wait()
        finally:
            self.pool.submit(lambda: connection.close()).result()  # the worker thread's own connection
            self.pool.shutdown()


def _evaluate_chunks(chunks, today, now, champion, decide, exp, decide_challenger, share, result, writer):
    from qingshou.strategy.models import CaseStrategy

    for q, pk_range in chunks:
        facts = build_facts(q, today, now, pk_range=pk_range, light=True)
        if not facts:
            continue
        scores, values = score_and_value(facts)
        # by id range, not an IN list of 20,000 ids (facts come ordered by pk)
        old = dict(CaseStrategy.objects.filter(case_id__gte=facts[0].case_id, case_id__lte=facts[-1].case_id)
                   .values_list("case_id", "treatment"))
        rows = []
        append = rows.append
        moves, by_rule, by_arm = result.moves, result.by_rule, result.by_arm
        champion_id, exp_id = champion.pk, (exp.pk if exp else None)
        new_row, at = tuple.__new__, _SCORE_AT
        for f, s, value in zip(facts, scores, values, strict=True):
            f = new_row(FactRow, (*f[:at], s, *f[at + 1:]))  # the same facts, now with their score
            cid = f.case_id
            if exp is not None and arm_for(cid, exp_id, share) == CHALLENGER:
                arm, t, version_id = CHALLENGER, decide_challenger(f), exp.challenger_id
            else:
                arm, t, version_id = CHAMPION, decide(f), champion_id
            append((cid, t.code, t.priority, s, arm, version_id, exp_id, t.rule_id, value))
            moves[old.get(cid, "")][t.code] += 1
            by_rule[t.rule_id] += 1
            by_arm[arm] += 1
        if writer:
            writer.submit(rows, now, today)
        else:
            _write_states(rows, now, today)
        result.cases += len(rows)


def _pk_ranges(model, chunk):
    from django.db.models import Max as Max_
    from django.db.models import Min as Min_

    bounds = model.objects.filter(status__in=OPEN_STATUSES).aggregate(lo=Min_("pk"), hi=Max_("pk"))
    if bounds["lo"] is None:
        return
    lo = bounds["lo"]
    while lo <= bounds["hi"]:
        yield lo, lo + chunk
        lo += chunk


def _write_states(rows, now, today):
    from qingshou.strategy.models import CaseStrategy

    if connection.vendor == "postgresql" and len(rows) >= COPY_MIN_ROWS:
        _copy_upsert(rows, now, today)
        return
    CaseStrategy.objects.bulk_create(
        [CaseStrategy(case_id=c, treatment=t, priority=p, score=s, arm=a, version_id=v, experiment_id=e, rule_id=r,
                      value=val, evaluated_at=now, business_date=today) for c, t, p, s, a, v, e, r, val in rows],
        update_conflicts=True, unique_fields=["case"],
        update_fields=["treatment", "priority", "score", "arm", "version", "experiment", "rule_id", "value",
                       "evaluated_at", "business_date"],
        batch_size=2000,
    )


def _copy_upsert(rows, now, today):
    table = "strategy_casestrategy"
    cols = ("case_id, treatment, priority, score, arm, version_id, experiment_id, rule_id, value, evaluated_at, "
            "business_date")
    buf = io.StringIO()
    stamp, day = now.isoformat(), today.isoformat()
    for c, t, p, s, a, v, e, r, val in rows:
        buf.write(f"{c}\t{t}\t{p}\t{'\\N' if s is None else float(s)!r}\t{a}\t{v}\t{'\\N' if e is None else e}"
                  f"\t{r}\t{'\\N' if val is None else float(val)!r}\t{stamp}\t{day}\n")
    with transaction.atomic(), connection.cursor() as cur:
        # The states are recomputable from the facts: no need to wait for the WAL flush of each chunk. (A crash
        # loses at most the last chunks' states, never the order: the run's final commit flushes them all.)
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS _cs_in (LIKE {table}) ON COMMIT DROP")
        cur.execute("TRUNCATE _cs_in")
        with cur.cursor.copy(f"COPY _cs_in ({cols}) FROM STDIN") as copy:
            copy.write(buf.getvalue())
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols.split(", ")[1:])
        cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _cs_in "  # noqa: S608 - constants only
                    f"ON CONFLICT (case_id) DO UPDATE SET {sets}")
