"""Message templates (SMS, letters, lawyer letters, voice scripts) with versions and creditor approval,
and outgoing / incoming SMS messages."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from qingshou.org.models import Creditor


class Kind(models.TextChoices):
    SMS = "sms", _("SMS")
    LETTER = "letter", _("letter")
    LAWYER_LETTER = "lawyer_letter", _("lawyer's letter")
    VOICE = "voice", _("voice script")


class MessageTemplate(models.Model):
    creditor = models.ForeignKey(Creditor, on_delete=models.PROTECT, related_name="message_templates",
                                 verbose_name=_("creditor"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    safe_for_third_parties = models.BooleanField(
        _("safe for third parties"), default=False,
        help_text=_("Contains no debt details: may be sent to a third party. Debt placeholders are refused."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["creditor__code", "kind", "code"]
        constraints = [models.UniqueConstraint(fields=["creditor", "kind", "code"], name="msgtpl_unique_code")]

    def __str__(self):
        return f"{self.name} ({self.code})"


class TemplateVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PENDING = "pending", _("pending approval")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        RETIRED = "retired", _("retired")

    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT, related_name="versions",
                                 verbose_name=_("template"))
    number = models.PositiveIntegerField(_("version"))
    body = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    active = models.BooleanField(_("active"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    review_note = models.CharField(_("review note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("template version")
        verbose_name_plural = _("template versions")
        ordering = ["template_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="msgtpl_version_unique"),
            models.UniqueConstraint(fields=["template"], condition=models.Q(active=True),
                                    name="msgtpl_one_active_version"),
        ]

    def __str__(self):
        return f"{self.template.code} v{self.number}"

    @property
    def usable(self) -> bool:
        return self.status == self.Status.APPROVED and self.active


class SmsStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    SENT = "sent", _("sent")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")
    REFUSED = "refused", _("refused by compliance")


class SmsBatch(models.Model):
    """A bulk send: a segment of cases, one message per case (to the debtor's first usable phone)."""

    template_version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="+",
                                         verbose_name=_("template"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    criteria = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("SMS batch")
        verbose_name_plural = _("SMS batches")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"SMS batch {self.pk}"


class SmsMessage(models.Model):
    case = models.ForeignKey("portfolio.Case", on_delete=models.PROTECT, related_name="sms_messages",
                             verbose_name=_("case"))
    party = models.ForeignKey("portfolio.Party", on_delete=models.PROTECT, related_name="+", verbose_name=_("party"))
    phone = models.ForeignKey("portfolio.Phone", null=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("phone"))
    template_version = models.ForeignKey(TemplateVersion, null=True, on_delete=models.PROTECT, related_name="+",
                                         verbose_name=_("template"))
    batch = models.ForeignKey(SmsBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="messages")
    body = models.TextField(_("text"))
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=SmsStatus.choices, default=SmsStatus.QUEUED,
                              db_index=True)
    error_code = models.CharField(_("error"), max_length=40, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    gateway_id = models.CharField(max_length=80, blank=True, db_index=True)
    backend = models.CharField(max_length=20, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("sent by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    decision = models.ForeignKey("compliance.ComplianceDecision", null=True, on_delete=models.PROTECT,
                                 related_name="+")
    contact = models.ForeignKey("contact.ContactAttempt", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")

    class Meta:
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS messages")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"SMS {self.pk} {self.status}"


class InboundSms(models.Model):
    """A reply received from the gateway. Opt-out replies place a do-not-contact entry for SMS."""

    received_at = models.DateTimeField(auto_now_add=True)
    phone_hash = models.CharField(max_length=64, db_index=True)
    text = models.CharField(max_length=500)
    gateway_id = models.CharField(max_length=80, blank=True)
    phone = models.ForeignKey("portfolio.Phone", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    opt_out = models.BooleanField(default=False)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self):
        return f"inbound SMS {self.pk}"
