"""Strategy simulator: deterministic per seed, no breaches, oracle on top, honest model check, command."""

import numpy as np
import pytest
from django.core.management import call_command

from qingshou.compliance.types import Decision
from qingshou.simulation import report, sim, world

SMALL = dict(cases=1500, days=40, capacity=60)


@pytest.fixture(scope="module")
def small_report():
    return report.simulate(sim.Config(seed=7, **SMALL))


def test_same_seed_same_table_other_seed_differs(small_report):
    again = report.simulate(sim.Config(seed=7, **SMALL))
    other = report.simulate(sim.Config(seed=8, **SMALL))
    strip = lambda t: [line.split()[:-1] for line in t.splitlines()]  # noqa: E731 - drop the seconds column
    assert strip(report.table(again)) == strip(report.table(small_report))
    assert [r.daily for r in again["results"].values()] == [r.daily for r in small_report["results"].values()]
    assert strip(report.table(other)) != strip(report.table(small_report))


def test_breaches_are_zero_and_the_engine_refuses_held_cases(small_report):
    res = small_report["results"]
    assert all(r.breaches == 0 for r in res.values())
    # fifo and balance do not look at holds: the engine refuses those calls (and the holidays)
    assert res["fifo"].refused > 0 and res["balance"].refused > 0
    assert all(r.engine_calls == r.contacts + r.refused for r in res.values())
    assert all(r.contacts <= SMALL["capacity"] * SMALL["days"] for r in res.values())


def test_a_refusing_engine_means_no_contact_and_no_breach(monkeypatch):
    def refuse(request, context):
        return Decision(allowed=False, policy_version="test")

    monkeypatch.setattr(sim, "decide", refuse)
    cfg = sim.Config(seed=3, cases=300, days=5, capacity=20)
    pop = world.Population.generate(cfg.cases, np.random.default_rng([cfg.seed, 1]))
    r = sim.run_strategy("score", pop, cfg)
    assert r.contacts == 0 and r.promises == 0 and r.breaches == 0 and r.refused == r.engine_calls > 0


def test_oracle_recovers_at_least_as_much_as_the_others(small_report):
    res = small_report["results"]
    assert res["oracle"].recovered >= max(res["fifo"].recovered, res["balance"].recovered, res["score"].recovered)
    assert res["score"].recovered > res["fifo"].recovered


def test_model_check_holds_out_later_snapshots(small_report):
    m = small_report["model"]
    assert m["snapshot_days"] == [0, 3, 6, 9]
    assert m["cutoff_day"] == 6
    s = small_report["results"]["score"].snapshots
    assert m["holdout_rows"] == int((s["day"] >= 6).sum()) and m["train_rows"] == int((s["day"] < 6).sum())
    for key in ("model", "rules", "production", "bayes"):
        assert m[key]["rows"] == m["holdout_rows"]
        assert m[key]["auc"] is None or 0.0 <= m[key]["auc"] <= 1.0
    # the label is "paid within the next 30 days": positives only where a payment happened in the window
    assert 0 < s["label"].mean() < 0.5


def test_population_is_realistic_and_documented_ranges():
    pop = world.Population.generate(20000, np.random.default_rng(1))
    means = [pop.willingness[pop.segment == k].mean() for k in range(4)]
    assert means == sorted(means, reverse=True)          # willingness falls with the stage
    assert 0.38 < means[0] < 0.48 and 0.08 < means[3] < 0.18
    assert ((pop.ability > 0) & (pop.ability < 1)).all()
    assert 0.02 < (pop.hold != "").mean() < 0.04
    assert list(world.bucket_of(np.array([0, 1, 30, 31, 180, 181, 700]))) == ["M0", "M1", "M1", "M2", "M6", "M7+",
                                                                               "M7+"]


def test_simulate_command_prints_the_table_and_writes_the_chart(tmp_path, capsys):
    call_command("simulate", "--cases", "400", "--days", "35", "--capacity", "20", "--seed", "2",
                 "--strategies", "fifo,score,oracle", "--out", str(tmp_path))
    out = capsys.readouterr().out
    assert "oracle" in out and "breaches" in out
    assert "Bayes AUC" in out or "Model: not trained" in out
    png = tmp_path / "simulation-seed2.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "simulation-seed2.json").exists()


def test_retraining_uses_only_finished_past_label_windows(monkeypatch):
    """The production model is retrained from the run's own past: every row's label window ended before the day."""
    seen = []
    real = sim.training_set

    def spy(history, paid_past, horizon):
        x, amount, days = real(history, paid_past, horizon)
        seen.append((paid_past.shape[0], horizon, days.copy(), amount.copy(), [h[0] for h in history]))
        return x, amount, days

    monkeypatch.setattr(sim, "training_set", spy)
    cfg = sim.Config(seed=5, cases=1500, days=30, capacity=60, retrain_every=5, retrain_horizon=7)
    pop = world.Population.generate(cfg.cases, np.random.default_rng([cfg.seed, 1]))
    res = sim.run_strategy("score", pop, cfg)
    assert [day for day, *_ in seen] == [5, 10, 15, 20, 25]          # the payment record handed in ends today
    assert [r["day"] for r in res.retrains] == [5, 10, 15, 20, 25]
    assert any(r["trained"] for r in res.retrains)
    for today, horizon, days, amount, snapshot_days in seen:
        assert all(d < today for d in snapshot_days)                   # no snapshot of today or later exists
        assert (days + horizon <= today).all()                         # every label window is over
        assert len(amount) == len(days)
    assert seen[-1][3].sum() > 0                                      # some money was paid in the windows


def test_training_set_cannot_see_beyond_the_payment_record():
    x = np.ones((3, len(sim.FEATURE_NAMES)))
    history = [(0, np.array([0, 1, 2]), x), (3, np.array([0, 1, 2]), x), (6, np.array([0, 1, 2]), x)]
    paid = np.zeros((8, 3), dtype=np.float32)
    paid[2, 1] = 50.0     # inside the window of snapshot 0
    paid[7, 2] = 80.0     # inside the window of snapshot 3 (3..7), over on day 8
    xs, amount, days = sim.training_set(history, paid, horizon=5)
    assert days.tolist() == [0, 0, 0, 3, 3, 3]                          # snapshot 6 ends on day 11: not used
    assert amount.tolist() == [0, 50, 0, 0, 0, 80]
    xs, amount, days = sim.training_set(history, paid[:7], horizon=5)   # one day earlier: day 7 is unknown
    assert days.tolist() == [0, 0, 0]


def test_oracle_knows_the_propensity_but_not_the_phones_or_the_draws():
    cfg = sim.Config(seed=4, cases=500, days=5, capacity=20)
    pop = world.Population.generate(cfg.cases, np.random.default_rng([cfg.seed, 1]))
    st = sim.State(pop, cfg, np.random.default_rng(0))
    for value_of in (sim.oracle_value, sim.ev_value):
        v = value_of(st, 0)
        pop.phone_ok[:] = False                   # which numbers work: not part of an oracle's value
        st.u_call = np.zeros((cfg.cases, 6))
        assert np.array_equal(value_of(st, 0), v)
        saved = pop.willingness.copy()
        pop.willingness[:] = pop.willingness * 0.5    # the true propensity is
        assert not np.array_equal(value_of(st, 0), v)
        pop.willingness[:] = saved


def test_the_oracle_ranks_by_true_propensity_times_balance():
    cfg = sim.Config(seed=4, cases=400, days=5, capacity=20)
    pop = world.Population.generate(cfg.cases, np.random.default_rng([cfg.seed, 1]))
    pop.hold[:] = ""
    pop.hold[5] = "dispute"
    st = sim.State(pop, cfg, np.random.default_rng(0))
    st.promise_due[7] = 4                         # an open promise, due on day 4
    st.balance[9] = 0.0                           # paid off
    v = sim.oracle_value(st, 2)
    expect = pop.willingness * pop.ability * np.exp(-(pop.dpd0 + 2) / world.DECAY_DAYS) * st.balance
    free = np.setdiff1d(np.arange(cfg.cases), [5, 7, 9])
    assert np.allclose(v[free], expect[free])
    assert v[5] == -1.0 and v[9] == -1.0 and v[7] == 0.0
    # the ev oracle knows more than the propensity: its order differs from the propensity oracle's
    assert not np.array_equal(np.argsort(-sim.ev_value(st, 2)[free]), np.argsort(-v[free]))


def _state(cases=6, days=5):
    cfg = sim.Config(seed=4, cases=cases, days=days, capacity=10)
    pop = world.Population.generate(cfg.cases, np.random.default_rng([cfg.seed, 1]))
    pop.hold[:] = ""
    return sim.State(pop, cfg, np.random.default_rng(0))


def test_queue_tier_follows_the_work_queue_discipline():
    st = _state()
    idx = np.arange(6)
    st.last_contact[:] = [-1, -1, 0, 0, 0, -1]
    st.promise_due[2] = 3                 # promise due on day 3
    st.broken_on[3] = 1                   # broken on day 1
    assert sim.queue_tier(st, idx, 1).tolist() == [2, 2, 2, 0, 2, 2]     # before day 2 no first call is overdue
    assert sim.queue_tier(st, idx, 2).tolist() == [1, 1, 2, 0, 2, 1]
    assert sim.queue_tier(st, idx, 3).tolist() == [1, 1, 0, 0, 2, 1]     # due today
    assert sim.queue_tier(st, idx, 4).tolist() == [1, 1, 0, 2, 2, 1]     # overdue; broken 3 days ago: normal again


def test_oracle_calls_first_calls_overdue_first_oracle_free_does_not():
    st = _state()
    st.last_contact[:] = [-1, 0, -1, 0, -1, 0]     # 1, 3, 5 called already
    st.balance[:] = [300, 90000, 300, 90000, 300, 90000]
    st.pop.willingness[:] = [0.05, 0.9, 0.05, 0.9, 0.05, 0.9]
    value = sim.oracle_value(st, 3)
    assert value[[1, 3, 5]].min() > value[[0, 2, 4]].max()
    order, _ = sim.rank("oracle", st, 3, None, None)
    assert set(order[:3].tolist()) == {0, 2, 4}    # the seed-000 discipline first, however little they are worth
    ev, _ = sim.rank("oracle_ev", st, 3, None, None)
    assert set(ev[:3].tolist()) == {0, 2, 4}
    free, _ = sim.rank("oracle_free", st, 3, None, None)
    assert set(free[:3].tolist()) == {1, 3, 5}
    st.hold[0] = "dispute"
    fq, _ = sim.rank("fifo_queue", st, 3, None, None)
    assert 0 not in fq.tolist() and set(fq[:2].tolist()) == {2, 4}   # held cases are out of the queue


def test_command_accepts_the_extra_strategies_and_refuses_unknown_ones(tmp_path, capsys):
    call_command("simulate", "--cases", "300", "--days", "5", "--capacity", "10", "--seed", "2",
                 "--strategies", "fifo_queue,oracle,oracle_ev,oracle_free", "--out", str(tmp_path))
    out = capsys.readouterr().out
    assert "oracle_free" in out and "fifo_queue" in out and "queue discipline" in out
    header = next(line for line in out.splitlines() if line.strip().startswith("strategy"))
    assert header.split()[:5] == ["strategy", "recovered", "%", "oracle", "%"] and "% oracle_ev" in header
    ev_row = next(line for line in out.splitlines() if line.strip().startswith("oracle_ev "))
    assert ev_row.split()[3] == "100.0%"          # the oracle_ev column of oracle_ev itself
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="unknown strategies"):
        call_command("simulate", "--strategies", "fifo,magic", "--out", str(tmp_path))


def test_production_ranking_applies_the_work_queue_tiers_first():
    from qingshou.propensity.score import rules_score
    from qingshou.strategy.rules import DEFAULT_RULES, compile_rules

    st = _state()
    st.last_contact[:] = [-1, 0, 0, 0, 0, 0]      # only case 0 still waits for its first call
    st.balance[:] = [300, 90000, 90000, 90000, 90000, 90000]
    order, _ = sim.rank("score", st, 3, compile_rules(DEFAULT_RULES), rules_score,
                        value_fn=lambda x: np.expm1(x[:, 1]))           # value = balance: case 0 is worth least
    assert order[0] == 0
    st.broken_on[4] = 2                            # broken yesterday: before even the first call overdue
    order, _ = sim.rank("score", st, 3, compile_rules(DEFAULT_RULES), rules_score,
                        value_fn=lambda x: np.expm1(x[:, 1]))
    assert order[:2].tolist() == [4, 0]


def test_call_value_model_learns_only_from_settled_calls(monkeypatch):
    """A call's promise may be due 7 days later: only calls CALL_SETTLE_DAYS old or more are used."""
    fitted = []

    class Spy:
        def fit(self, x, y):
            fitted.append((x.copy(), y.copy()))
            return self

    monkeypatch.setattr(sim, "make_value_estimator", lambda seed: Spy())
    cfg = sim.Config(seed=1, cases=10, days=20, capacity=10)
    width = len(sim.FEATURE_NAMES)
    made = np.arange(300)
    calls = [(0, made, np.full((300, width), 0.0, dtype=np.float32)),
             (5, made, np.full((300, width), 5.0, dtype=np.float32))]
    money = np.zeros((12, 300), dtype=np.float32)
    money[0, :20] = 100.0
    money[5, :20] = 999.0                                   # day 5's promises are not settled on day 12
    assert isinstance(sim.retrain_call_value(calls, money, cfg, 12), Spy)
    x, y = fitted[0]
    assert len(y) == 300 and (x == 0).all() and y.max() == 100.0
    assert sim.retrain_call_value(calls, money[:8], cfg, 8) is None   # nothing settled yet on day 8
    money[0, :] = 0
    assert sim.retrain_call_value(calls, money[:12], cfg, 12) is None  # no call brought money: nothing to learn


def test_conversations_without_a_promise_say_refusal_or_hardship_and_the_facts_show_it():
    pop = world.Population.generate(20000, np.random.default_rng([5, 1]))
    idx = np.arange(pop.n)
    refuse, cannot = world.stated_position(pop, idx, np.random.default_rng(9).random((pop.n, 2)))
    assert not (refuse & cannot).any()
    low_w, high_w = pop.willingness < 0.15, pop.willingness > 0.5
    assert refuse[low_w].mean() > refuse[high_w].mean() + 0.15     # refusals tell about willingness
    low_a, high_a = pop.ability < 0.3, pop.ability > 0.7
    assert cannot[low_a].mean() > cannot[high_a].mean() + 0.1      # "cannot pay" about ability
    st = _state(cases=4, days=10)
    st.refusals[2, 1] = st.refusals[5, 1] = 1
    st.cannot_pay_on[3] = 4
    facts = st.facts(np.arange(4), 8)
    assert [f.refusals_90d for f in facts] == [0, 2, 0, 0]
    assert ["hardship" in f.flags for f in facts] == [False, False, False, True]


def test_a_run_records_what_debtors_said(monkeypatch):
    cfg = sim.Config(seed=6, cases=2000, days=12, capacity=400)
    pop = world.Population.generate(cfg.cases, np.random.default_rng([cfg.seed, 1]))
    st_seen = {}
    original = sim.State

    class Spy(original):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            st_seen["st"] = self

    monkeypatch.setattr(sim, "State", Spy)
    r = sim.run_strategy("score", pop, cfg)
    st = st_seen["st"]
    said = int(st.refusals.sum()) + int((st.cannot_pay_on >= 0).sum())
    assert 0 < said <= r.right_party - r.promises
    # only cases that had a right-party conversation that day said anything
    assert not (st.refusals.astype(bool) & ~st.rpc.astype(bool)).any()
