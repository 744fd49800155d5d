"""Letters (催收函, 律师函): batches rendered to PDF, one letter per case, and the dispatch register."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LetterKind(models.TextChoices):
    LETTER = "letter", _("collection letter")
    LAWYER_LETTER = "lawyer_letter", _("lawyer's letter")


class LetterBatch(models.Model):
    """A segment of cases (the criteria as chosen) rendered by a background task, one PDF per case."""

    kind = models.CharField(_("kind"), max_length=16, choices=LetterKind.choices)
    template_version = models.ForeignKey("messaging.TemplateVersion", on_delete=models.PROTECT, related_name="+",
                                         verbose_name=_("template"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    criteria = models.JSONField(default=dict, blank=True)
    case_ids = models.JSONField(default=list, blank=True)
    total = models.PositiveIntegerField(_("cases"), default=0)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("letter batch")
        verbose_name_plural = _("letter batches")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


class Letter(models.Model):
    """One letter of a batch to one case: generated (with its PDF), refused by compliance, or skipped."""

    class Status(models.TextChoices):
        GENERATED = "generated", _("generated")
        REFUSED = "refused", _("refused by compliance")
        SKIPPED = "skipped", _("skipped")

    class Dispatch(models.TextChoices):
        PENDING = "pending", _("not sent")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        RETURNED = "returned", _("returned")

    batch = models.ForeignKey(LetterBatch, on_delete=models.PROTECT, related_name="letters",
                              verbose_name=_("batch"))
    case = models.ForeignKey("portfolio.Case", on_delete=models.PROTECT, related_name="letters",
                             verbose_name=_("case"))
    party = models.ForeignKey("portfolio.Party", null=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("recipient"))
    address = models.ForeignKey("portfolio.Address", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("address"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, db_index=True)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)   # refusals / skip reasons, Chinese text
    body = models.TextField(_("text"), blank=True)
    pdf = models.FileField(_("PDF"), upload_to="letters/%Y/%m/", max_length=255, blank=True)
    pages = models.PositiveSmallIntegerField(_("pages"), default=0)
    decision = models.ForeignKey("compliance.ComplianceDecision", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    contact = models.ForeignKey("contact.ContactAttempt", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # dispatch register
    dispatch_status = models.CharField(_("dispatch status"), max_length=10, choices=Dispatch.choices,
                                       default=Dispatch.PENDING, db_index=True)
    sent_on = models.DateField(_("sent on"), null=True, blank=True)
    carrier = models.CharField(_("carrier"), max_length=40, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=40, blank=True, db_index=True)
    dispatch_note = models.CharField(_("note"), max_length=300, blank=True)
    dispatch_updated_at = models.DateTimeField(_("updated"), null=True, blank=True)

    class Meta:
        verbose_name = _("letter")
        verbose_name_plural = _("letters")
        ordering = ["batch_id", "id"]
        constraints = [models.UniqueConstraint(fields=["batch", "case"], name="letter_one_per_case_per_batch")]

    def __str__(self):
        return f"{self.get_status_display()} {self.case_id}"
