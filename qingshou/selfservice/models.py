"""Debtor self-service: signed, expiring, revocable links, and every identity check made with them."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SelfServiceLink(models.Model):
    """One link sent to a debtor. The URL carries `key`, signed with a timestamp (TimestampSigner)."""

    key = models.CharField(max_length=32, unique=True)
    case = models.ForeignKey("portfolio.Case", on_delete=models.CASCADE, related_name="selfservice_links",
                             verbose_name=_("case"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("revoked by"))
    sms = models.ForeignKey("messaging.SmsMessage", null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+", verbose_name=_("SMS"))
    opened_count = models.PositiveIntegerField(_("opened"), default=0)
    verified_count = models.PositiveIntegerField(_("identity confirmed"), default=0)
    failed_count = models.PositiveIntegerField(_("failed checks"), default=0)
    streak = models.PositiveSmallIntegerField(_("failures in a row"), default=0)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("self-service link")
        verbose_name_plural = _("self-service links")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"link {self.pk} case {self.case_id}"

    def is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now

    def is_locked(self, now=None) -> bool:
        return bool(self.locked_until and self.locked_until > (now or timezone.now()))


class IdentityAttempt(models.Model):
    """One identity check (last 4 of the ID number + date of birth): per link and per IP limits count these."""

    link = models.ForeignKey(SelfServiceLink, null=True, on_delete=models.CASCADE, related_name="attempts")
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    success = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["ip", "at"])]

    def __str__(self):
        return f"{'ok' if self.success else 'fail'} link {self.link_id} {self.at:%Y-%m-%d %H:%M}"
