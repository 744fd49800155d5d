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
    policy_version = models.CharField(_("policy version"), max_length=40)

    class Meta:
        verbose_name = _("compliance decision")
        verbose_name_plural = _("compliance decisions")
        ordering = ["-decided_at"]

    def __str__(self):
        return f"{'allow' if self.allowed else 'deny'} case {self.case_id} {self.contact_at:%Y-%m-%d %H:%M}"
