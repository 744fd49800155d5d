"""Strategy: versioned segmentation rules, champion/challenger experiments, per-case strategy state,
nightly runs, and what assignment needs to know about collectors and teams."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from qingshou.strategy.facts import TREATMENTS

TREATMENT_LABELS = {
    "none": _("no action"),
    "sms_reminder": _("SMS reminder"),
    "robot_call": _("robot call"),
    "agent_call": _("agent call"),
    "visit": _("field visit"),
    "legal_review": _("legal review"),
}
TREATMENT_CHOICES = [(t, TREATMENT_LABELS[t]) for t in TREATMENTS]
# Treatments a collector works by hand; they come first in a collector's queue.
AGENT_TREATMENTS = ("agent_call", "visit", "legal_review")


class StrategyVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")
        RETIRED = "retired", _("retired")

    number = models.PositiveIntegerField(_("version"), unique=True)
    rules = models.JSONField(_("rules"), default=list)
    note = models.CharField(_("note"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("author"))
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("based on"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        verbose_name = _("strategy version")
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=models.Q(status="published"),
                                    name="strategy_one_published"),
        ]

    def __str__(self):
        return f"v{self.number}"


class Experiment(models.Model):
    """Champion/challenger: `share` of the cases (stable hash split) follow the challenger version."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        STOPPED = "stopped", _("stopped")

    name = models.CharField(_("name"), max_length=100)
    challenger = models.ForeignKey(StrategyVersion, on_delete=models.PROTECT, related_name="experiments",
                                   verbose_name=_("challenger"))
    share = models.DecimalField(_("challenger share"), max_digits=4, decimal_places=3)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("experiment")
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=models.Q(status="running"),
                                    name="strategy_one_running_experiment"),
        ]

    def __str__(self):
        return self.name


class CaseStrategy(models.Model):
    """The strategy's current decision for one case (one row per case), read by the queue."""

    case = models.OneToOneField("portfolio.Case", on_delete=models.CASCADE, primary_key=True,
                                related_name="strategy")
    treatment = models.CharField(_("treatment"), max_length=16, choices=TREATMENT_CHOICES)
    priority = models.PositiveSmallIntegerField(_("strategy priority"))
    score = models.FloatField(_("score"), null=True, blank=True)
    # expected money (CNY) of the next call: orders the work queue within a priority (propensity.score.value_matrix)
    value = models.FloatField(_("expected value of a call"), null=True, blank=True)
    arm = models.CharField(_("arm"), max_length=10, default="champion")
    version = models.ForeignKey(StrategyVersion, on_delete=models.PROTECT, related_name="+")
    # no index of its own: casestrategy_exp_arm (experiment, arm) serves look-ups by experiment, and every
    # index costs the nightly upsert of every row
    experiment = models.ForeignKey(Experiment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   db_index=False)
    rule_id = models.CharField(_("rule"), max_length=64)
    evaluated_at = models.DateTimeField(_("evaluated"))
    business_date = models.DateField(_("business date"))

    class Meta:
        verbose_name = _("case strategy")
        indexes = [
            models.Index(fields=["treatment", "priority"], name="casestrategy_treat_prio"),
            models.Index(fields=["experiment", "arm"], name="casestrategy_exp_arm"),
        ]

    def __str__(self):
        return f"{self.case_id}: {self.treatment}/{self.priority}"


class StrategyRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    version = models.ForeignKey(StrategyVersion, on_delete=models.PROTECT, related_name="runs")
    business_date = models.DateField(_("business date"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    class Trigger(models.TextChoices):
        NIGHTLY = "nightly", _("nightly")
        MANUAL = "manual", _("run now")
        DEMO = "demo", _("demo data")
        BENCH = "bench", _("benchmark")

    trigger = models.CharField(_("trigger"), max_length=16, choices=Trigger.choices, default=Trigger.NIGHTLY)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    cases = models.PositiveIntegerField(_("cases"), default=0)
    assigned = models.PositiveIntegerField(_("assigned"), default=0)
    first_call_overdue = models.PositiveIntegerField(_("first call overdue"), default=0)
    seconds = models.FloatField(_("seconds"), default=0)
    # {"moves": {"from": {"to": n}}, "workload_before": {user_id: n}, "workload_after": {...}, "by_rule": {...}}
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("strategy run")
        constraints = [models.UniqueConstraint(fields=["version", "business_date"], name="strategy_run_once_per_day")]

    def __str__(self):
        return f"{self.version} {self.business_date}"


class CollectorProfile(models.Model):
    """What assignment needs to know about a collector."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="collector_profile", verbose_name=_("collector"))
    regions = models.JSONField(_("regions"), default=list, blank=True)
    skills = models.JSONField(_("skills"), default=list, blank=True)   # products / treatments they handle
    seniority = models.PositiveSmallIntegerField(_("seniority (years)"), default=0)
    capacity = models.PositiveIntegerField(_("capacity (open cases)"), default=200)

    class Meta:
        verbose_name = _("collector profile")

    def __str__(self):
        return str(self.user_id)


class TeamCreditor(models.Model):
    """A team serves given creditors; assignment keeps a creditor's cases in the teams that serve it."""

    team = models.ForeignKey("org.Team", on_delete=models.CASCADE, related_name="served_creditors",
                             verbose_name=_("team"))
    creditor = models.ForeignKey("org.Creditor", on_delete=models.CASCADE, related_name="serving_teams",
                                 verbose_name=_("creditor"))

    class Meta:
        verbose_name = _("creditor served by a team")
        constraints = [models.UniqueConstraint(fields=["team", "creditor"], name="team_creditor_unique")]

    def __str__(self):
        return f"{self.team_id}-{self.creditor_id}"
