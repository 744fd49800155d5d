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
