"""Honest metrics of a probability score on held-out rows: AUC, Brier score, reliability by decile."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import brier_score_loss, roc_auc_score


def evaluate(y: np.ndarray, p: np.ndarray) -> dict:
    """AUC (None with one class), Brier score, base rate and a reliability table by score decile."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    out = {"rows": int(len(y)), "positives": int(y.sum()), "base_rate": float(y.mean()) if len(y) else None}
    out["auc"] = float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else None
    out["brier"] = float(brier_score_loss(y, p)) if len(y) else None
    table = []
    if len(y):
        order = np.argsort(p, kind="stable")
        for i, chunk in enumerate(np.array_split(order, 10), start=1):
            if len(chunk):
                table.append({"decile": i, "rows": int(len(chunk)), "mean_score": float(p[chunk].mean()),
                              "observed_rate": float(y[chunk].mean())})
    out["reliability"] = table
    return out
