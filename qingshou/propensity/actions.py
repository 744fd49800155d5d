"""Training and activating propensity models. Each writes an AuditLog row in its own transaction."""

from __future__ import annotations

import io
from datetime import date

import joblib
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.propensity import dataset, score
from qingshou.propensity.models import ScoreModel
from qingshou.propensity.training import ALGORITHM, TrainingRefused, fit_call_value, fit_evaluate

HOLDOUT_SHARE = 0.3


def cutoff_for(dates: list[date]) -> date:
    """The first snapshot date of the most recent ~30 % of snapshot dates: the holdout starts there."""
    if len(dates) < 2:
        raise ActionError(_("At least two snapshot dates are needed to hold out the later one."))
    k = max(1, round(len(dates) * HOLDOUT_SHARE))
    return sorted(dates)[-k]


def train(dates: list[date], *, today: date | None = None, seed: int = 0):
    """(Dataset, FitResult, cutoff date). Raises ActionError when training is refused."""
    cutoff = cutoff_for(dates)
    data = dataset.build(dates, today=today)
    try:
        fit = fit_evaluate(data.x, data.y, data.snapshot, cutoff.toordinal(), seed=seed)
    except TrainingRefused as exc:
        raise ActionError(str(exc)) from exc
    fit.extra["call_value"] = fit_call_value(data.x, data.calls, data.call_money, data.snapshot, cutoff.toordinal(),
                                             seed=seed)
    return data, fit, cutoff


@transaction.atomic(durable=True)
def do_train_model(*, acting_user, weeks: int = 26, today: date | None = None, activate: bool = False,
                   seed: int = 0) -> ScoreModel:
    """Train on weekly snapshots of the history, measure on the later ones, store a new version."""
    dates = dataset.snapshot_dates(weeks=weeks, today=today)
    data, fit, cutoff = train(dates, today=today, seed=seed)
    value_estimator, value_metrics = fit.extra["call_value"]
    buf = io.BytesIO()
    joblib.dump({"classifier": fit.estimator, "call_value": value_estimator}, buf)
    version = (ScoreModel.objects.aggregate(m=Max("version"))["m"] or 0) + 1
    metrics = dict(fit.metrics)
    metrics["label"] = "paid anything within 30 days after the snapshot date"
    metrics["snapshot_dates"] = [d.isoformat() for d in dates]
    metrics["call_value"] = value_metrics
    row = ScoreModel.objects.create(
        version=version, trained_by=acting_user if getattr(acting_user, "pk", None) else None, algorithm=ALGORITHM,
        feature_names=list(score.FEATURE_NAMES), blob=buf.getvalue(), train_from=dates[0], train_to=dates[-1],
        cutoff=cutoff, train_rows=len(fit.train_index), holdout_rows=len(fit.holdout_index), metrics=metrics)
    audit("propensity.train", actor=acting_user, obj=row, version=version, auc=metrics["holdout"]["auc"],
          brier=metrics["holdout"]["brier"], train_rows=row.train_rows, holdout_rows=row.holdout_rows)
    if activate:
        _activate(row, acting_user)
    return row


def _activate(row: ScoreModel, acting_user) -> ScoreModel:
    previous = ScoreModel.objects.select_for_update().filter(active=True).exclude(pk=row.pk).first()
    ScoreModel.objects.filter(active=True).exclude(pk=row.pk).update(active=False)
    row.active = True
    row.activated_at = timezone.now()
    row.save(update_fields=["active", "activated_at"])
    audit("propensity.activate", actor=acting_user, obj=row, version=row.version,
          previous=previous.version if previous else None)
    transaction.on_commit(score.clear_cache)
    return row


@transaction.atomic(durable=True)
def do_activate_model(row: ScoreModel, *, acting_user) -> ScoreModel:
    """Make this version the one live scoring uses (the previous active one is switched off)."""
    row = ScoreModel.objects.select_for_update().get(pk=row.pk)
    if row.active:
        raise ActionError(_("Model version %(v)s is already active.") % {"v": row.version})
    return _activate(row, acting_user)


@transaction.atomic(durable=True)
def do_deactivate_models(*, acting_user) -> int:
    """Switch off the active model: scoring falls back to the transparent rules score."""
    rows = list(ScoreModel.objects.select_for_update().filter(active=True))
    if not rows:
        raise ActionError(_("No model is active."))
    ScoreModel.objects.filter(pk__in=[r.pk for r in rows]).update(active=False)
    for r in rows:
        audit("propensity.deactivate", actor=acting_user, obj=r, version=r.version)
    transaction.on_commit(score.clear_cache)
    return len(rows)
