"""Trained propensity-to-pay models: one row per version, with honest holdout metrics."""

from __future__ import annotations

import io

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ScoreModel(models.Model):
    """A trained model version. At most one is active; `score.score_facts` uses it."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    trained_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("trained by"))
    algorithm = models.CharField(_("algorithm"), max_length=100)
    feature_names = models.JSONField(_("features"), default=list)
    blob = models.BinaryField(_("serialised model"))
    train_from = models.DateField(_("training window from"))
    train_to = models.DateField(_("training window to"))
    cutoff = models.DateField(_("holdout cut-off"))
    train_rows = models.PositiveIntegerField(_("training rows"))
    holdout_rows = models.PositiveIntegerField(_("holdout rows"))
    metrics = models.JSONField(_("metrics"), default=dict)
    active = models.BooleanField(_("active"), default=False)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("score model")
        constraints = [models.UniqueConstraint(fields=["active"], condition=models.Q(active=True),
                                               name="propensity_one_active_model")]

    def __str__(self):
        return f"v{self.version} {self.algorithm}"

    def load_predictor(self):
        import joblib

        from qingshou.propensity.score import Predictor

        stored = joblib.load(io.BytesIO(bytes(self.blob)))
        # since the call-value model: {"classifier": ..., "call_value": ... or None}; older versions: the classifier
        if isinstance(stored, dict):
            return Predictor(stored["classifier"], self.feature_names, version=self.version,
                             value_estimator=stored.get("call_value"))
        return Predictor(stored, self.feature_names, version=self.version)
