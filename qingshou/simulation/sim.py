"""Day-by-day strategy simulator: limited call capacity, the real compliance engine, the real rules.

For each strategy the same population (same seed) is replayed from day 0. Every working day the
strategy ranks the open cases; the dialer walks the ranking and asks the compliance engine
(`compliance.engine.decide`, cn preset + house layer, China calendar) about each call. A refused call
is counted and skipped; an allowed call is made until the day's capacity is used. Outcomes (answer,
right party, promise, kept, payment) are drawn from the population model in `world.py`.

Strategies:
    fifo         by days past due, oldest first (a system without a strategy)
    balance      largest balance first
    score        production: strategy.rules.DEFAULT_RULES compiled, with the propensity score, ordered
                 like the work queue (its tiers: promises due or just broken, first calls overdue; then agent
                 work first, rule priority, expected money of the next call);
                 "none", "visit" and "legal_review" treatments are not phoned
    oracle       the issue's oracle: knows every debtor's true propensity to pay (world.Population.
                 latent_pay_probability = willingness × ability × decay, hidden from every other strategy) and ranks
                 by the money it stands for, propensity × balance; it works the same queue discipline as production
                 (see `queue_tier`): promises due or just broken first, then first calls overdue (seed 000:
                 电催小组2日内应完成首次电催), then the rest. It does not know which numbers work nor any random draw.
                 The "% oracle" column refers to it.
    oracle_ev    a stronger yardstick: knows the whole outcome model besides, and ranks by the true expected money
                 of a right-party conversation today (probability of a promise × of keeping it × amount, plus the
                 reminder effect), within the same discipline. The "% oracle_ev" column refers to it.
    oracle_free  the issue's oracle without the queue discipline: it may leave cases uncalled for the whole run,
                 which the seeds forbid; shown to measure what the discipline costs
    fifo_queue   by days past due within the queue discipline: what the discipline alone gains over fifo
"""

from __future__ import annotations

import time as clock
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from qingshou.compliance.calendars import china_calendar
from qingshou.compliance.engine import decide
from qingshou.compliance.presets import CN, HOUSE
from qingshou.compliance.types import CaseFacts as EngineFacts
from qingshou.compliance.types import ContactRequest, Context, PastContact, Policy
from qingshou.propensity.score import FEATURE_NAMES, Predictor, feature_matrix, rules_score
from qingshou.propensity.training import MIN_CLASS_ROWS, MIN_TRAIN_ROWS, make_estimator, make_value_estimator
from qingshou.simulation import world as W
from qingshou.strategy.facts import CaseFacts
from qingshou.strategy.rules import DEFAULT_RULES, compile_rules

STRATEGIES = ("fifo", "balance", "score", "oracle")
EXTRA_STRATEGIES = ("oracle_ev", "oracle_free", "fifo_queue")
ALL_STRATEGIES = STRATEGIES + EXTRA_STRATEGIES
TZ = ZoneInfo("Asia/Shanghai")
POLICY = Policy((CN, HOUSE))
PHONED = {"agent_call": 0, "robot_call": 1, "sms_reminder": 1}   # treatment -> queue group (agent work first)
DAY_STOPPERS = ("holiday", "blackout")                           # the engine refuses the whole day
FIRST_HOUR, LAST_HOUR = 9, 20
SNAPSHOT_EVERY = 3
FIRST_CALL_DAYS = 2        # settings.FIRST_CALL_DAYS's default: the first call within 2 days of assignment
BROKEN_PROMISE_DAYS = 3    # strategy.queue.BROKEN_PROMISE_DAYS: a promise broken this recently is called first
LABEL_DAYS = 30


@dataclass
class Config:
    cases: int = 50000
    days: int = 60
    capacity: int = 1000
    seed: int = 1
    start: date = date(2026, 9, 14)
    strategies: tuple[str, ...] = STRATEGIES
    # production strategy: retrain the propensity model on the run's own past every `retrain_every` days
    # (0 = never: the rules score throughout); label = paid within `retrain_horizon` days of a snapshot
    retrain_every: int = 7
    retrain_horizon: int = 14
    retrain_max_rows: int = 200000
    value_model: bool = False   # the paid-amount regressor of an earlier version (kept for comparison runs)
    call_value: bool = True


@dataclass
class Result:
    strategy: str
    recovered: float = 0.0
    contacts: int = 0
    right_party: int = 0
    promises: int = 0
    kept: int = 0
    broken: int = 0
    refused: int = 0
    breaches: int = 0
    engine_calls: int = 0
    seconds: float = 0.0
    daily: list[float] = field(default_factory=list)    # money recovered per day
    snapshots: dict | None = None                       # score strategy: features, labels, latent p
    retrains: list[dict] = field(default_factory=list)  # score strategy: one entry per model trained

    @property
    def kept_rate(self) -> float | None:
        done = self.kept + self.broken
        return self.kept / done if done else None


class State:
    """The mutable, partly observable state of every case during one replay."""

    def __init__(self, pop: W.Population, cfg: Config, rng: np.random.Generator):
        n = pop.n
        self.pop, self.cfg, self.rng = pop, cfg, rng
        self.balance = pop.balance0.copy()
        self.promise_due = np.full(n, -1)
        self.promise_amount = np.zeros(n)
        self.promise_keep = np.zeros(n, dtype=bool)
        self.kept = np.zeros(n, dtype=int)
        self.broken = np.zeros(n, dtype=int)
        self.broken_on = np.full(n, -1000)
        self.promise_made_on = np.full(n, -1)
        self.call_money = np.zeros((cfg.days, n), dtype=np.float32)   # money of kept promises, by the call's day
        self.pay_n = np.zeros(n, dtype=int)
        self.paid = np.zeros(n)
        self.contacts = np.zeros((cfg.days, n), dtype=np.uint8)
        self.rpc = np.zeros((cfg.days, n), dtype=np.uint8)
        self.paid_on = np.zeros((cfg.days, n), dtype=bool)
        self.paid_amount = np.zeros((cfg.days, n), dtype=np.float32)
        self.last_contact = np.full(n, -1)
        self.refusals = np.zeros((cfg.days, n), dtype=np.uint8)   # conversations coded 拒绝还款, by day
        self.cannot_pay_on = np.full(n, -1000)                     # last conversation coded 无力还款
        self.reminder_until = np.full(n, -1)
        self.known_bad = np.zeros((n, 3), dtype=bool)
        # placement data marks about half of the working numbers as verified
        self.known_ok = pop.phone_ok & (rng.random((n, 3)) < 0.5)
        self.hold = pop.hold.copy()
        self.history: dict[int, list[PastContact]] = {}

    def open(self) -> np.ndarray:
        return self.balance > 0.5

    def window(self, arr: np.ndarray, day: int, span: int) -> np.ndarray:
        return arr[max(0, day - span):day].sum(axis=0, dtype=int)

    def next_phone(self) -> np.ndarray:
        """The phone the dialer would use: the first one not known to be dead (0 if all are)."""
        usable = ~self.known_bad & (np.arange(3)[None, :] < self.pop.phones_total[:, None])
        return np.where(usable.any(axis=1), usable.argmax(axis=1), 0)

    def next_phone_one(self, i: int) -> int:
        for j in range(int(self.pop.phones_total[i])):
            if not self.known_bad[i, j]:
                return j
        return 0

    def facts(self, idx: np.ndarray, day: int) -> list[CaseFacts]:
        """What the production strategy may see (CaseFacts), as of the start of `day`."""
        pop = self.pop
        dpd = (pop.dpd0[idx] + day).tolist()
        buckets = W.bucket_of(pop.dpd0[idx] + day).tolist()
        c30 = self.window(self.contacts, day, 30)[idx].tolist()
        r30 = self.window(self.rpc, day, 30)[idx].tolist()
        total = pop.phones_total[idx]
        valid = self.known_ok[idx].sum(axis=1).tolist()
        all_bad = (self.known_bad[idx].sum(axis=1) >= total).tolist()
        last = self.last_contact[idx].tolist()
        due = self.promise_due[idx].tolist()
        holds = self.hold[idx].tolist()
        refusals = self.window(self.refusals, day, 90)[idx].tolist()
        hardship = (day - self.cannot_pay_on[idx] <= 90).tolist()
        out = []
        for k, i in enumerate(idx.tolist()):
            flags = set()
            if holds[k]:
                flags.update(("hold", holds[k]))
            if all_bad[k]:
                flags.add("lost_contact")
            if hardship[k]:
                flags.add("hardship")
            d = due[k]
            out.append(CaseFacts(
                case_id=i, bucket=buckets[k], dpd=dpd[k], balance=float(self.balance[i]),
                flags=frozenset(flags), open_promise=d >= 0, promise_due_in_days=d - day if d >= 0 else None,
                broken_promises_90d=int(self.broken[i]), kept_promises_90d=int(self.kept[i]),
                payments_90d=int(self.pay_n[i]), paid_amount_90d=float(self.paid[i]),
                contacts_30d=c30[k], right_party_contacts_30d=r30[k],
                days_since_contact=day - last[k] if last[k] >= 0 else None, days_since_assigned=day,
                phones_valid=valid[k], phones_total=int(total[k]), refusals_90d=refusals[k]))
        return out

    def pay(self, idx: np.ndarray, amount: np.ndarray, day: int) -> float:
        amount = np.minimum(amount, self.balance[idx])
        self.balance[idx] -= amount
        self.pay_n[idx] += 1
        self.paid[idx] += amount
        self.paid_on[day, idx] = True
        self.paid_amount[day, idx] += amount
        return float(amount.sum())


def _p_promise(pop, i, decay):
    return 0.6 * pop.willingness[i] * (0.3 + 0.7 * pop.ability[i]) * decay


def _p_keep(pop, i):
    return 0.25 + 0.6 * pop.ability[i] * (0.4 + 0.6 * pop.willingness[i])


def _share(pop, i, u):
    return np.clip(pop.ability[i] * u, 0.1, 1.0)


def oracle_value(st: State, day: int) -> np.ndarray:
    """The oracle's ranking, per case: the true propensity to pay × the balance (−1: not to be called).

    The issue's oracle "knows each debtor's true propensity": the hidden willingness × ability × decay of the
    population model (`world.Population.latent_pay_probability`), which no other strategy sees. A case with an
    open promise not yet due is worth 0 today (nothing to ask for); held and closed cases are not called. Like
    every strategy it does NOT know which numbers are in service, the answer rates or any per-day random draw.
    """
    v = np.where(st.promise_due < 0, st.pop.latent_pay_probability(day) * st.balance, 0.0)
    return np.where((st.hold == "") & st.open(), v, -1.0)


def ev_value(st: State, day: int) -> np.ndarray:
    """The `oracle_ev` ranking: true expected money from a right-party conversation today, per case.

    Knows the propensity and the outcome model around it: probability of a promise × of keeping it × the
    expected amount, from the hidden willingness and ability, plus the reminder effect on self-payment. It does
    NOT know which numbers are in service, the answer rates or any per-day random draw. Only what every strategy
    sees is used besides: open promise, hold, balance, days since the last right-party conversation (the
    reminder window).
    """
    pop = st.pop
    i = np.arange(pop.n)
    decay = pop.decay(day)
    promise_money = np.where(st.promise_due < 0, _p_promise(pop, i, decay) * _p_keep(pop, i)
                             * st.balance * _share(pop, i, 0.85), 0.0)
    self_rate = W.SELF_PAY * pop.willingness * pop.ability * decay
    boost_days = np.clip(day + W.REMINDER_DAYS - np.maximum(st.reminder_until, day), 0, W.REMINDER_DAYS)
    reminder_money = (W.REMINDER_BOOST - 1) * self_rate * boost_days * st.balance * _share(pop, i, 0.6)
    value = promise_money + reminder_money
    return np.where((st.hold == "") & st.open(), value, -1.0)


def queue_tier(st: State, idx: np.ndarray, day: int) -> np.ndarray:
    """The work queue's discipline (strategy.queue.annotate_priority), per case: 0 = a promise due today or
    overdue, or broken in the last BROKEN_PROMISE_DAYS days; 1 = first call overdue (never called, assigned
    FIRST_CALL_DAYS or more days ago: every simulated case is assigned on day 0); 2 = the rest."""
    due = ((st.promise_due[idx] >= 0) & (st.promise_due[idx] <= day)) | (day - st.broken_on[idx] < BROKEN_PROMISE_DAYS)
    first_call_overdue = (st.last_contact[idx] < 0) & (day >= FIRST_CALL_DAYS)
    return np.where(due, 0, np.where(first_call_overdue, 1, 2))


def rank(strategy: str, st: State, day: int, decide_rules, score_fn,
         value_fn=None) -> tuple[np.ndarray, dict | None]:
    """Case indices in calling order (open cases only) and, for "score", the day's snapshot data."""
    pop = st.pop
    idx = np.flatnonzero(st.open())
    if strategy == "fifo":
        return idx[np.lexsort((idx, -(pop.dpd0[idx])))], None
    if strategy == "balance":
        return idx[np.lexsort((idx, -st.balance[idx]))], None
    if strategy == "fifo_queue":
        idx = idx[st.hold[idx] == ""]   # the work queue leaves held cases out (strategy.queue.work_queue)
        return idx[np.lexsort((idx, -(pop.dpd0[idx]), queue_tier(st, idx, day)))], None
    if strategy in ("oracle", "oracle_ev", "oracle_free"):
        v = (ev_value if strategy == "oracle_ev" else oracle_value)(st, day)[idx]
        keep = v >= 0
        idx, v = idx[keep], v[keep]
        if strategy == "oracle_free":
            return idx[np.lexsort((idx, -v))], None
        return idx[np.lexsort((idx, -v, queue_tier(st, idx, day)))], None
    if strategy == "score":
        facts = st.facts(idx, day)
        x = feature_matrix(facts)
        scores = score_fn(x)
        groups = np.empty(len(idx), dtype=int)
        prio = np.empty(len(idx), dtype=int)
        for k, (f, s) in enumerate(zip(facts, scores.tolist(), strict=True)):
            t = decide_rules(_with_score(f, s))
            groups[k] = PHONED.get(t.code, 9)
            prio[k] = t.priority
        keep = groups < 9
        # expected money of the next call (propensity.score.value_matrix): the call-value model trained on the
        # run's own calls when there is one, else propensity × balance
        value = value_fn(x) if value_fn is not None else scores * st.balance[idx]
        # the work queue's own tiers first (strategy.queue.annotate_priority), then the strategy's decision
        order = np.lexsort((idx[keep], -value[keep], prio[keep], groups[keep], queue_tier(st, idx[keep], day)))
        return idx[keep][order], {"idx": idx, "x": x, "score": scores}
    raise ValueError(f"unknown strategy {strategy!r}")


_set = object.__setattr__


def _with_score(f: CaseFacts, s: float) -> CaseFacts:
    _set(f, "score", s)   # our own fresh facts: fill the score in place (as strategy.engine does)
    return f


def engine_context(st: State, i: int, calendar, day_start: datetime) -> Context:
    pop = st.pop
    phones = tuple(i * 3 + j for j in range(int(pop.phones_total[i])))
    bad = tuple(i * 3 + j for j in range(3) if st.known_bad[i, j])
    facts = EngineFacts(holds=(st.hold[i],) if st.hold[i] else (), debtor_phone_ids=phones, invalid_phone_ids=bad,
                        timezones=("Asia/Shanghai",), institution_stated=st.last_contact[i] >= 0)
    since = day_start - timedelta(days=7)
    hist = tuple(h for h in st.history.get(i, ()) if h.started_at >= since)
    return Context(policy=POLICY, history=hist, facts=facts, calendar=calendar)


def training_set(history: list[tuple[int, np.ndarray, np.ndarray]], paid_past: np.ndarray,
                 horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training rows from the run's own past: (x, money paid in the label window, snapshot day).

    `history` holds (snapshot day, case indices, feature matrix as of the start of that day);
    `paid_past` is the money paid per day and case for the days already over ONLY (shape (today, n)),
    so nothing after today can be looked at. A snapshot is used only when its whole label window
    [day, day + horizon) is over. The classifier's label is "paid anything" (amount > 0).
    """
    today = paid_past.shape[0]
    xs, amounts, ds = [], [], []
    for day, idx, x in history:
        if day + horizon > today:
            continue
        xs.append(x)
        amounts.append(paid_past[day:day + horizon, idx].sum(axis=0, dtype=np.float64))
        ds.append(np.full(len(idx), day))
    if not xs:
        return np.zeros((0, len(FEATURE_NAMES))), np.zeros(0), np.zeros(0, dtype=int)
    return np.concatenate(xs).astype(np.float64), np.concatenate(amounts), np.concatenate(ds)


def retrain(history, paid_past: np.ndarray, cfg: Config, day: int):
    """Fit the production models on the past (as a nightly `train_model` would); (None, None, info) if too little.

    The propensity classifier (the score the rules see: paid anything in the label window) and, with
    cfg.value_model (off by default, an earlier design kept for comparison runs), a regressor of the money paid in
    the window (then the expected value that orders
    cases within a rule priority). Rows are subsampled deterministically to `retrain_max_rows`.
    """
    x, amount, days = training_set(history, paid_past, cfg.retrain_horizon)
    y = amount > 0
    info = {"day": day, "rows": int(len(y)), "positives": int(y.sum()),
            "last_snapshot": int(days.max()) if len(days) else None}
    pos = int(y.sum())
    if len(y) < MIN_TRAIN_ROWS or pos < MIN_CLASS_ROWS or len(y) - pos < MIN_CLASS_ROWS:
        info["trained"] = False
        return None, None, info
    if len(y) > cfg.retrain_max_rows:
        pick = np.sort(np.random.default_rng([cfg.seed, 4, day]).choice(len(y), cfg.retrain_max_rows,
                                                                          replace=False))
        x, y, amount = x[pick], y[pick], amount[pick]
        info["fitted_rows"] = int(len(y))
    classifier = make_estimator(cfg.seed)
    classifier.fit(x, y.astype(int))
    info["trained"] = True
    value = None
    if cfg.value_model:
        value = make_value_estimator(cfg.seed)
        value.fit(x, amount)
    return Predictor(classifier, FEATURE_NAMES), value, info


CALL_SETTLE_DAYS = 9   # a promise is due at most 7 days after the call and resolved on its due date


def retrain_call_value(calls, call_money_past: np.ndarray, cfg: Config, day: int):
    """Regressor of the money a call brings (through the promise made in it and kept), from past calls only.

    The simulator's counterpart of `train_model`'s call-value model (propensity.training.fit_call_value): one row
    per call made, with the features of the case at the start of that day; label = money paid toward the promise
    made in that call. A call is used once CALL_SETTLE_DAYS are over, so its promise is resolved."""
    today = call_money_past.shape[0]
    xs, ys = [], []
    for d, made, x in calls:
        if d + CALL_SETTLE_DAYS > today:
            continue
        xs.append(x)
        ys.append(call_money_past[d, made])
    if not xs:
        return None
    x, y = np.concatenate(xs).astype(np.float64), np.concatenate(ys).astype(np.float64)
    if len(y) < MIN_TRAIN_ROWS or int((y > 0).sum()) < MIN_CLASS_ROWS:
        return None
    model = make_value_estimator(cfg.seed)
    model.fit(x, y)
    return model


def run_strategy(strategy: str, pop: W.Population, cfg: Config, *, score_fn=rules_score) -> Result:
    """Replay the population under one strategy, with scikit-learn/numpy limited to one thread.

    The simulator is single-threaded; OpenMP threads of the model's predict on a busy machine only
    contend (measured: 10x slower on the shared 2-core box).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _run_strategy(strategy, pop, cfg, score_fn=score_fn)


def _run_strategy(strategy: str, pop: W.Population, cfg: Config, *, score_fn=rules_score) -> Result:
    """Replay the population under one strategy. Randomness: one Generator per (seed, strategy-neutral)."""
    started = clock.perf_counter()
    rng = np.random.default_rng([cfg.seed, 2])
    st = State(pop, cfg, rng)
    res = Result(strategy)
    calendar = china_calendar({cfg.start.year, cfg.start.year + 1})
    decide_rules = compile_rules(DEFAULT_RULES)
    snaps = {"idx": [], "x": [], "score": [], "rules": [], "day": [], "latent": []}
    history: list[tuple[int, np.ndarray, np.ndarray]] = []     # the production strategy's own snapshots
    calls: list[tuple[int, np.ndarray, np.ndarray]] = []       # (day, cases called, their features that day)
    value_fn = None
    for day in range(cfg.days):
        if strategy == "score" and cfg.retrain_every and day and day % cfg.retrain_every == 0:
            predictor, value_model, info = retrain(history, st.paid_amount[:day], cfg, day)
            res.retrains.append(info)
            if predictor is not None:
                score_fn = predictor.predict_matrix
                value_fn = value_model.predict if value_model is not None else None
            if cfg.call_value:
                cm = retrain_call_value(calls, st.call_money[:day], cfg, day)
                if cm is not None:
                    value_fn = cm.predict
        today = cfg.start + timedelta(days=day)
        day_start = datetime.combine(today, time(0), tzinfo=TZ)
        recovered = 0.0
        # 1. promises due today are kept or broken
        due = np.flatnonzero(st.promise_due == day)
        if len(due):
            keep = st.promise_keep[due]
            before = st.balance[due[keep]].copy()
            recovered += st.pay(due[keep], st.promise_amount[due[keep]], day)
            st.call_money[st.promise_made_on[due[keep]], due[keep]] += before - st.balance[due[keep]]
            st.kept[due[keep]] += 1
            st.broken[due[~keep]] += 1
            st.broken_on[due[~keep]] = day
            res.kept += int(keep.sum())
            res.broken += int((~keep).sum())
            st.promise_due[due] = -1
        # 2. debtors who pay by themselves
        open_ = np.flatnonzero(st.open())
        boost = np.where(st.reminder_until[open_] >= day, W.REMINDER_BOOST, 1.0)
        p_self = W.SELF_PAY * pop.willingness[open_] * pop.ability[open_] * pop.decay(day)[open_] * boost
        # common random numbers: the same case on the same day draws the same numbers under every strategy
        day_rng = np.random.default_rng([cfg.seed, 3, day])
        u_day = day_rng.random((pop.n, 2))
        st.u_call = day_rng.random((pop.n, 6))
        u_self, u_share = u_day[open_, 0], u_day[open_, 1]
        payers = open_[u_self < p_self]
        recovered += st.pay(payers, st.balance[payers] * _share(pop, payers, 0.2 + 0.8 * u_share[u_self < p_self]),
                            day)
        # 3. the strategy ranks, the dialer asks the engine call by call
        order, snap = rank(strategy, st, day, decide_rules, score_fn, value_fn)
        if snap is not None and day % SNAPSHOT_EVERY == 0 and cfg.retrain_every:
            history.append((day, snap["idx"], snap["x"].astype(np.float32)))
        if snap is not None and day % SNAPSHOT_EVERY == 0 and day + LABEL_DAYS <= cfg.days:
            snaps["idx"].append(snap["idx"])
            snaps["x"].append(snap["x"])
            snaps["score"].append(snap["score"])
            snaps["rules"].append(rules_score(snap["x"]))
            snaps["day"].append(np.full(len(snap["idx"]), day))
            snaps["latent"].append(pop.latent_pay_probability(day)[snap["idx"]])
        made, hours, made_decisions = [], [], []
        for i in order.tolist():
            if len(made) >= cfg.capacity:
                break
            minute = FIRST_HOUR * 60 + (len(made) * (LAST_HOUR - FIRST_HOUR + 1) * 60) // cfg.capacity
            at = day_start + timedelta(minutes=minute)
            phone = int(st.next_phone_one(i))
            req = ContactRequest(case_id=i, party_id=i, channel="call", at=at, party_is_debtor=True,
                                 party_relation="self", phone_id=i * 3 + phone, institution_stated=True)
            decision = decide(req, engine_context(st, i, calendar, day_start))
            res.engine_calls += 1
            if not decision.allowed:
                res.refused += 1
                if any(r.rule.endswith(DAY_STOPPERS) for r in decision.reasons):
                    break   # a holiday or blackout: nobody is called today
                continue
            made.append(i)
            made_decisions.append(decision)
            hours.append(minute // 60)
        # 4. outcomes of the calls made. A breach is a call made although the engine refused it: counted
        # from the decisions of the calls actually made (zero by construction, and checked by the tests).
        res.breaches += sum(1 for d in made_decisions if not d.allowed)
        if made and snap is not None and cfg.call_value:
            made_arr = np.array(made)
            calls.append((day, made_arr, snap["x"][np.searchsorted(snap["idx"], made_arr)].astype(np.float32)))
        if made:
            recovered += _outcomes(st, np.array(made), np.array(hours), day, day_start, res)
        res.recovered += recovered
        res.daily.append(recovered)
    if strategy == "score" and snaps["idx"]:
        res.snapshots = {k: np.concatenate(v) for k, v in snaps.items()}
        res.snapshots["label"] = _labels(st, res.snapshots["idx"], res.snapshots["day"])
    res.seconds = clock.perf_counter() - started
    return res


def _labels(st: State, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Paid anything on days [snapshot day, snapshot day + 30)."""
    cum = np.vstack([np.zeros((1, st.pop.n), dtype=int), np.cumsum(st.paid_on, axis=0, dtype=int)])
    return (cum[day + LABEL_DAYS, idx] - cum[day, idx]) > 0


def _outcomes(st: State, made: np.ndarray, hours: np.ndarray, day: int, day_start: datetime, res: Result) -> float:
    pop = st.pop
    n = len(made)
    u = st.u_call[made]
    phone = st.next_phone()[made]
    works = pop.phone_ok[made, phone]
    st.known_bad[made[~works], phone[~works]] = True
    fatigue = 0.85 ** st.window(st.contacts, day, 7)[made]
    p_answer = np.array([W.HOUR_ANSWER[h] for h in hours.tolist()]) * W.SEG_ANSWER[pop.segment[made]] * fatigue
    answered = works & (u[:, 0] < p_answer)
    st.known_ok[made[answered], phone[answered]] = True
    rpc = answered & (u[:, 1] < W.RIGHT_PARTY)
    st.contacts[day, made] = 1
    st.rpc[day, made[rpc]] = 1
    st.last_contact[made] = day
    st.reminder_until[made[rpc]] = day + W.REMINDER_DAYS
    res.contacts += n
    res.right_party += int(rpc.sum())
    decay = pop.decay(day)[made]
    can_promise = rpc & (st.promise_due[made] < 0)
    promised = can_promise & (u[:, 2] < _p_promise(pop, made, decay))
    p_idx = made[promised]
    st.promise_due[p_idx] = day + 1 + (u[promised, 3] * 7).astype(int)
    st.promise_made_on[p_idx] = day
    st.promise_amount[p_idx] = np.round(st.balance[p_idx] * _share(pop, p_idx, 0.5 + 0.7 * u[promised, 4]), 2)
    st.promise_keep[p_idx] = u[promised, 5] < _p_keep(pop, p_idx)
    res.promises += int(promised.sum())
    # a conversation without a promise is coded by what the debtor says (world.stated_position): refuses to pay
    # (拒绝还款) or willing but unable to pay now (无力还款); the rest stay a plain right-party contact
    quiet = can_promise & ~promised
    u_said = np.random.default_rng([st.cfg.seed, 5, day]).random((pop.n, 2))[made]   # common random numbers
    refuse, cannot = W.stated_position(pop, made, u_said)
    st.refusals[day, made[quiet & refuse]] = 1
    st.cannot_pay_on[made[quiet & ~refuse & cannot]] = day
    # a few right-party conversations end in a complaint: a hold the engine enforces from tomorrow
    complaint = rpc & (u[:, 4] < 0.002) & ~promised
    st.hold[made[complaint]] = "complaint"
    for k, i in enumerate(made.tolist()):
        st.history.setdefault(i, []).append(PastContact(
            party_id=i, channel="call", started_at=day_start + timedelta(hours=int(hours[k])), party_is_debtor=True,
            phone_id=i * 3 + int(phone[k]), connected=bool(answered[k]), right_party=bool(rpc[k]), case_id=i,
            reached_line=bool(works[k])))
        if len(st.history[i]) > 20:
            del st.history[i][:-20]
    return 0.0   # calls bring money later: through promises kept and the reminder effect
