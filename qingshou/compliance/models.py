from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ComplianceDecision(models.Model):
    """The stored evidence of one decision: what was asked, the answer, and every reason."""

    decided_at = models.DateTimeField(_("decided at"), auto_now_add=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT,
                                     related_name="+")
    case_id = models.BigIntegerField(db_index=True)
    party_id = models.BigIntegerField(null=True)
    phone_id = models.BigIntegerField(null=True)
    channel = models.CharField(max_length=8)
    contact_at = models.DateTimeField(_("contact time"))
    allowed = models.BooleanField(_("allowed"))
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    next_allowed_at = models.DateTimeField(_("next allowed"), null=True, blank=True)
    policy_version = models.CharField(_("policy version"), max_length=200)

    class Meta:
        verbose_name = _("compliance decision")
        verbose_name_plural = _("compliance decisions")
        ordering = ["-decided_at"]
        # The decision log and the refusals-per-rule report filter by outcome and time.
        indexes = [models.Index(fields=["allowed", "decided_at"], name="decision_allowed_at_idx")]

    def __str__(self):
        return f"{'allow' if self.allowed else 'deny'} case {self.case_id} {self.contact_at:%Y-%m-%d %H:%M}"


class PolicyLayerVersion(models.Model):
    """One version of one policy layer, stored as data (the compliance officer edits and publishes these).

    Layers: the jurisdiction preset (name "cn" / "us"), a creditor's contract rules (kind creditor, one
    per creditor, name "creditor:<code>"), the agency's house rules (name "house"). A case's effective
    policy = published preset of its creditor's jurisdiction + the creditor's published layer (if any)
    + the published house layer + a case layer built from case facts (compliance.adapter).
    Versions of a name are numbered 1, 2, 3 …; at most one is published at a time; a published
    version is never edited (a change is a new version), so a stored decision's version names it.
    `params` uses the parameter names and types of compliance.presets.PARAMETERS.
    """

    class Kind(models.TextChoices):
        PRESET = "preset", _("jurisdiction preset")
        CREDITOR = "creditor", _("creditor contract rules")
        HOUSE = "house", _("house rules")

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")
        RETIRED = "retired", _("retired")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=60, db_index=True)
    creditor = models.ForeignKey("org.Creditor", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="policy_layers", verbose_name=_("creditor"))
    version = models.PositiveIntegerField(_("version"))
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT,
                              db_index=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("created by"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("published by"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("policy layer version")
        verbose_name_plural = _("policy layer versions")
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="policy_layer_version_unique"),
            models.UniqueConstraint(fields=["name"], condition=models.Q(status="published"),
                                    name="policy_layer_one_published"),
            models.CheckConstraint(
                condition=(models.Q(kind="creditor", creditor__isnull=False)
                           | (~models.Q(kind="creditor") & models.Q(creditor__isnull=True))),
                name="policy_layer_creditor_iff_creditor_kind",
            ),
        ]

    def __str__(self):
        return f"{self.name}@{self.version} ({self.get_status_display()})"

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


class DoNotContact(models.Model):
    """The debtor (or a party for them) asked: not this number, not this channel, or not at all.

    `case` set: only that case; blank: every case of the debtor. `phone` set: that number (any
    channel); blank with `channel`: that channel; both blank: no contact by any channel.
    """

    debtor = models.ForeignKey("portfolio.Debtor", on_delete=models.CASCADE, related_name="do_not_contact",
                               verbose_name=_("debtor"))
    case = models.ForeignKey("portfolio.Case", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="do_not_contact", verbose_name=_("case"))
    phone = models.ForeignKey("portfolio.Phone", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="do_not_contact", verbose_name=_("phone"))
    channel = models.CharField(_("channel"), max_length=8, blank=True,
                               help_text=_("Blank: every channel."))
    reason = models.CharField(_("reason"), max_length=300)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("lifted by"))
    lift_reason = models.CharField(_("reason for lifting"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("do-not-contact request")
        verbose_name_plural = _("do-not-contact requests")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["debtor", "lifted_at"])]

    def __str__(self):
        return f"DNC {self.debtor_id} {self.phone_id or ''} {self.channel or '*'}"


class ContactPreference(models.Model):
    """A time the debtor said is inconvenient, or agreed to be contacted (even outside the hours)."""

    class Kind(models.TextChoices):
        INCONVENIENT = "inconvenient", _("inconvenient time")
        AGREED = "agreed", _("agreed time")

    debtor = models.ForeignKey("portfolio.Debtor", on_delete=models.CASCADE, related_name="contact_preferences",
                               verbose_name=_("debtor"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    weekdays = models.JSONField(_("weekdays"), default=list, blank=True,
                                help_text=_("0 = Monday … 6 = Sunday; empty = every day."))
    on_date = models.DateField(_("on date"), null=True, blank=True, help_text=_("Only on this day."))
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    removed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("removed by"))

    class Meta:
        verbose_name = _("contact-time preference")
        verbose_name_plural = _("contact-time preferences")
        ordering = ["debtor", "start"]
        indexes = [models.Index(fields=["debtor", "removed_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class CalendarDate(models.Model):
    """A date an admin added: a holiday or adjusted working day the package lacks, or a blackout date.

    `creditor` blank: for everyone; set: only that creditor's cases (typically blackout dates).
    """

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("statutory holiday")
        WORKDAY = "workday", _("adjusted working day")
        BLACKOUT = "blackout", _("blackout date")

    date = models.DateField(_("date"), db_index=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    creditor = models.ForeignKey("org.Creditor", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="calendar_dates", verbose_name=_("creditor"))
    name = models.CharField(_("name"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("created by"))

    class Meta:
        verbose_name = _("calendar date")
        verbose_name_plural = _("calendar dates")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["date", "kind", "creditor"], name="calendar_date_unique_creditor",
                                    condition=models.Q(creditor__isnull=False)),
            models.UniqueConstraint(fields=["date", "kind"], name="calendar_date_unique_all",
                                    condition=models.Q(creditor__isnull=True)),
        ]

    def __str__(self):
        return f"{self.date} {self.get_kind_display()}"
