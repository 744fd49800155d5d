"""Run every strategy on one population, train a model on the simulator's own history, print and plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qingshou.propensity.metrics import evaluate
from qingshou.propensity.training import TrainingRefused, fit_evaluate
from qingshou.simulation import sim, world


def simulate(cfg: sim.Config) -> dict:
    """Results per strategy plus the model check: {"results": {name: Result}, "model": {...}}."""
    pop = world.Population.generate(cfg.cases, np.random.default_rng([cfg.seed, 1]))
    results = {name: sim.run_strategy(name, pop, cfg) for name in cfg.strategies}
    return {"config": cfg, "results": results, "model": model_check(results.get("score"), cfg)}


def model_check(res: sim.Result | None, cfg: sim.Config) -> dict | None:
    """Train on snapshots of the first days, measure on later snapshots (never fitted).

    Snapshots are taken every 3 days while a full 30-day label window is still inside the run; the
    cut-off is the middle of the snapshot days. Reported beside the model: the AUC of the rules score
    and the Bayes AUC (the hidden latent probability) on exactly the same holdout rows.
    """
    if res is None or not res.snapshots:
        return None
    s = res.snapshots
    days = np.unique(s["day"])
    cutoff = int(days[len(days) // 2]) if len(days) > 1 else int(days[0]) + 1
    out = {"cutoff_day": cutoff, "snapshot_days": days.tolist()}
    try:
        fit = fit_evaluate(s["x"], s["label"], s["day"], cutoff, seed=cfg.seed)
    except TrainingRefused as exc:
        out["refused"] = str(exc)
        return out
    hold = fit.holdout_index
    out.update(model=fit.metrics["holdout"], train_rows=len(fit.train_index), holdout_rows=len(hold),
               rules=evaluate(s["label"][hold], s["rules"][hold]),
               production=evaluate(s["label"][hold], s["score"][hold]),
               bayes=evaluate(s["label"][hold], s["latent"][hold]))
    return out


def _money(v: float) -> str:
    return f"{v:,.0f}"


def table(report: dict) -> str:
    cfg = report["config"]
    res = report["results"]
    oracle = res.get("oracle") or res.get("oracle_free")
    ev = res.get("oracle_ev")
    fifo = res.get("fifo")
    head = (f"Simulation: {cfg.cases:,} cases, {cfg.days} days from {cfg.start}, capacity {cfg.capacity:,} calls/day, "
            f"seed {cfg.seed}")
    cols = ("strategy", "recovered", "% oracle", *(("% oracle_ev",) if ev else ()), "vs fifo", "contacts",
            "right party", "promises", "kept rate", "refused", "breaches", "seconds")

    def share(r, of):
        return f"{100 * r.recovered / of.recovered:.1f}%" if of and of.recovered else "-"

    rows = []
    for name, r in res.items():
        rows.append((
            name, _money(r.recovered), share(r, oracle), *((share(r, ev),) if ev else ()),
            f"{100 * (r.recovered / fifo.recovered - 1):+.1f}%" if fifo and fifo.recovered and r is not fifo else "-",
            f"{r.contacts:,}", f"{r.right_party:,}", f"{r.promises:,}",
            f"{100 * r.kept_rate:.1f}%" if r.kept_rate is not None else "-",
            f"{r.refused:,}", f"{r.breaches:,}", f"{r.seconds:.1f}"))
    widths = [max(len(str(x)) for x in col) for col in zip(cols, *rows, strict=True)]
    lines = [head, "  ".join(c.rjust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(str(x).rjust(w) for x, w in zip(row, widths, strict=True)) for row in rows]
    if "oracle" in res:
        lines.append("% oracle: of the oracle that knows each debtor's true propensity and works the production queue "
                     "discipline (promises due or just broken first, then first calls overdue: seed 000, 2 days); "
                     "oracle_free, fifo and balance ignore that discipline, fifo_queue follows it")
    if ev:
        lines.append("% oracle_ev: of the oracle that also knows the outcome model (promise, keeping, amount, reminder "
                     "effect) and ranks by the true expected money of a conversation, within the same discipline")
    score = res.get("score")
    if score is not None and score.retrains:
        done = [r for r in score.retrains if r["trained"]]
        lines.append(
            f"Production model retrained every {cfg.retrain_every} days on the run's own past (label window "
            f"{cfg.retrain_horizon} days, finished windows only): trained on days {[r['day'] for r in done]}"
            + (f", last from {done[-1]['rows']:,} rows ({done[-1]['positives']:,} paid)" if done else "")
            + "; rules score before the first model")
    m = report.get("model")
    if m:
        if "refused" in m:
            lines.append(f"Model: not trained ({m['refused']})")
        else:
            def auc(d):
                return f"{d['auc']:.3f}" if d["auc"] is not None else "-"
            lines.append(
                f"Paid within 30 days, holdout snapshots from day {m['cutoff_day']} ({m['holdout_rows']:,} rows, "
                f"base rate {m['model']['base_rate']:.3f}; trained on {m['train_rows']:,} earlier rows): "
                f"model AUC {auc(m['model'])}, Brier {m['model']['brier']:.4f}; rules score AUC {auc(m['rules'])}; "
                f"production score of the day (retrained in the run) AUC {auc(m['production'])}; "
                f"Bayes AUC (true latent probability) {auc(m['bayes'])}")
    return "\n".join(lines)


def chart(report: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = report["config"]
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for name, r in report["results"].items():
        ax.plot(np.arange(1, len(r.daily) + 1), np.cumsum(r.daily) / 1e6, label=name, linewidth=1.8)
    ax.set_xlabel("day")
    ax.set_ylabel("cumulative recovery (million CNY)")
    ax.set_title(f"Strategy simulator: {cfg.cases:,} cases, capacity {cfg.capacity:,}/day, seed {cfg.seed}")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
