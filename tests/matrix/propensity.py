"""Permission matrix of the propensity model page: supervisors and admins view and activate versions."""

import io
import itertools

from tests.matrix.common import Endpoint, rule

VIEW = rule(403, supervisor=200, admin=200)
EDIT = rule(403, supervisor=302, admin=302)

_seq = itertools.count(1000)


def make_model(active=False):
    """A stored model version with a tiny real estimator (no training on the world's data)."""
    from datetime import date

    import joblib
    import numpy as np
    from sklearn.dummy import DummyClassifier

    from qingshou.propensity.models import ScoreModel
    from qingshou.propensity.score import FEATURE_NAMES

    est = DummyClassifier(strategy="prior").fit(np.zeros((4, len(FEATURE_NAMES))), [0, 1, 0, 0])
    buf = io.BytesIO()
    joblib.dump(est, buf)
    if active:
        ScoreModel.objects.filter(active=True).update(active=False)
    return ScoreModel.objects.create(
        version=next(_seq), algorithm="test.Dummy", feature_names=list(FEATURE_NAMES), blob=buf.getvalue(),
        train_from=date(2026, 1, 5), train_to=date(2026, 6, 1), cutoff=date(2026, 4, 27), train_rows=300,
        holdout_rows=100, metrics={"holdout": {"auc": None, "brier": 0.1, "base_rate": 0.25, "rows": 100,
                                               "positives": 25, "reliability": []}}, active=active)


def _inactive(w, u):
    return {"pk": make_model().pk}


def _make_active(w, u):
    make_model(active=True)
    return {}


WEB = [
    Endpoint("propensity:index", "get", VIEW),
    Endpoint("propensity:detail", "get", VIEW, kwargs=_inactive),
    Endpoint("propensity:activate", "post", EDIT, audit="propensity.activate", kwargs=_inactive),
    Endpoint("propensity:deactivate", "post", EDIT, audit="propensity.deactivate", data=_make_active),
]
