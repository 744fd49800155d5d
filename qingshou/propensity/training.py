"""Fitting a propensity model with a time-based holdout: train before the cut-off, evaluate after it.

`fit_evaluate(x, y, snapshot_days, cutoff)` is shared by `qingshou train_model` (snapshots built from
the database history, see `dataset.py`) and the simulator (snapshots of its own history). Rows whose
snapshot is before the cut-off train the model; rows on or after it are only ever scored, never fitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.utils.translation import gettext as _

from qingshou.propensity.metrics import evaluate

ALGORITHM = "sklearn.HistGradientBoostingClassifier"
MIN_TRAIN_ROWS = 200
MIN_HOLDOUT_ROWS = 50
MIN_CLASS_ROWS = 10


class TrainingRefused(ValueError):
    """Too little data, or only one class: no model is stored."""


@dataclass
class FitResult:
    estimator: object
    metrics: dict
    train_index: np.ndarray
    holdout_index: np.ndarray
    extra: dict = field(default_factory=dict)


def split(snapshot_days: np.ndarray, cutoff) -> tuple[np.ndarray, np.ndarray]:
    """Row indices before the cut-off (training) and on/after it (holdout)."""
    snapshot_days = np.asarray(snapshot_days)
    return np.flatnonzero(snapshot_days < cutoff), np.flatnonzero(snapshot_days >= cutoff)


def check_trainable(y_train: np.ndarray, y_holdout: np.ndarray) -> None:
    if len(y_train) < MIN_TRAIN_ROWS or len(y_holdout) < MIN_HOLDOUT_ROWS:
        raise TrainingRefused(_(
            "Too little history to train: %(train)s training rows and %(holdout)s holdout rows; at least "
            "%(min_train)s and %(min_holdout)s are needed.") % {
            "train": len(y_train), "holdout": len(y_holdout), "min_train": MIN_TRAIN_ROWS,
            "min_holdout": MIN_HOLDOUT_ROWS})
    for name, y in (("training", y_train), ("holdout", y_holdout)):
        pos = int(np.sum(y))
        if pos < MIN_CLASS_ROWS or len(y) - pos < MIN_CLASS_ROWS:
            raise TrainingRefused(_(
                "The %(part)s rows have %(pos)s cases that paid and %(neg)s that did not; both need at least "
                "%(min)s (a model cannot learn, or be measured, from one class).") % {
                "part": _("training") if name == "training" else _("holdout"), "pos": pos,
                "neg": len(y) - pos, "min": MIN_CLASS_ROWS})


def make_estimator(seed: int = 0):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.08, max_leaf_nodes=31,
                                          min_samples_leaf=40, l2_regularization=1.0, random_state=seed)


def fit_evaluate(x: np.ndarray, y: np.ndarray, snapshot_days: np.ndarray, cutoff, *,
                 seed: int = 0) -> FitResult:
    """Fit on rows before `cutoff`, measure on rows on/after it (never on a row that was fitted)."""
    y = np.asarray(y, dtype=int)
    train_idx, hold_idx = split(snapshot_days, cutoff)
    check_trainable(y[train_idx], y[hold_idx])
    estimator = make_estimator(seed)
    estimator.fit(x[train_idx], y[train_idx])
    p = estimator.predict_proba(x[hold_idx])[:, 1]
    metrics = {"holdout": evaluate(y[hold_idx], p), "train_base_rate": float(y[train_idx].mean()),
               "train_rows": int(len(train_idx)), "holdout_rows": int(len(hold_idx))}
    return FitResult(estimator, metrics, train_idx, hold_idx)


VALUE_ALGORITHM = "sklearn.HistGradientBoostingRegressor"
TOP_SHARE = 0.2


def make_value_estimator(seed: int = 0):
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=200, learning_rate=0.08, max_leaf_nodes=31, min_samples_leaf=40,
                                         l2_regularization=1.0, random_state=seed)


def top_capture(value: np.ndarray, calls: np.ndarray, money: np.ndarray, share: float = TOP_SHARE) -> float | None:
    """Share of the money that the calls ranked highest by `value` brought, taking calls until `share` of all
    calls: 0.2 for a random order at share 0.2, 1.0 when all the money is in that top fifth. None if no money."""
    total = float(money.sum())
    if total <= 0 or calls.sum() <= 0:
        return None
    order = np.argsort(-value, kind="stable")
    within = np.cumsum(calls[order]) <= share * calls.sum()
    return float(money[order][within].sum() / total)


def fit_call_value(x: np.ndarray, calls: np.ndarray, money: np.ndarray, snapshot_days: np.ndarray, cutoff, *,
                   seed: int = 0) -> tuple[object | None, dict]:
    """The call-value regressor: expected money per call, from snapshot rows with calls in the week after.

    Rows without a call are left out (nothing was tried); the target is the money paid toward the promises
    made in those calls divided by their number, weighted by the number of calls. Fitted on rows before the
    cut-off, measured on the later ones (top-fifth capture). (None, reason) when there is too little to learn."""
    if calls is None or money is None:
        return None, {"algorithm": VALUE_ALGORITHM, "refused": _("No call history in the training data.")}
    calls, money = np.asarray(calls), np.asarray(money, dtype=np.float64)
    called = calls > 0
    train_idx, hold_idx = split(snapshot_days, cutoff)
    train_idx, hold_idx = train_idx[called[train_idx]], hold_idx[called[hold_idx]]
    metrics = {"algorithm": VALUE_ALGORITHM, "label": "money paid toward promises made in a call, per call",
               "train_rows": int(len(train_idx)), "holdout_rows": int(len(hold_idx)),
               "train_calls": int(calls[train_idx].sum()), "holdout_calls": int(calls[hold_idx].sum())}
    paying = int((money[train_idx] > 0).sum())
    if len(train_idx) < MIN_TRAIN_ROWS or paying < MIN_CLASS_ROWS or len(hold_idx) < MIN_HOLDOUT_ROWS:
        metrics["refused"] = _(
            "Too few calls to learn their value: %(rows)s called training rows (%(paying)s brought money) and "
            "%(hold)s holdout rows; at least %(min_train)s, %(min_class)s and %(min_hold)s are needed.") % {
            "rows": len(train_idx), "paying": paying, "hold": len(hold_idx), "min_train": MIN_TRAIN_ROWS,
            "min_class": MIN_CLASS_ROWS, "min_hold": MIN_HOLDOUT_ROWS}
        return None, metrics
    estimator = make_value_estimator(seed)
    estimator.fit(x[train_idx], money[train_idx] / calls[train_idx], sample_weight=calls[train_idx])
    pred = estimator.predict(x[hold_idx])
    metrics.update(
        holdout_money=round(float(money[hold_idx].sum()), 2),
        holdout_money_per_call=round(float(money[hold_idx].sum() / max(calls[hold_idx].sum(), 1)), 2),
        top_fifth_capture=top_capture(pred, calls[hold_idx], money[hold_idx]))
    return estimator, metrics
