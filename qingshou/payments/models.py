from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from qingshou.portfolio.models import Case, Party


class Promise(models.Model):
    """承诺还款 (PTP): an amount the debtor promised to pay by a date."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        KEPT = "kept", _("kept")
        PARTLY_KEPT = "partly_kept", _("partly kept")
        BROKEN = "broken", _("broken")
        CANCELLED = "cancelled", _("cancelled")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="promises", verbose_name=_("case"))
    party = models.ForeignKey(Party, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("promised by"))
    contact = models.OneToOneField("contact.ContactAttempt", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="promise")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    due_date = models.DateField(_("due date"), db_index=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("taken by"))
    # When the scheduler should decide kept/broken: due date + grace. Claimed by conditional UPDATE.
    check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    paid_amount = models.DecimalField(_("paid toward it"), max_digits=14, decimal_places=2, default=0)
    # The last day a payment still counts toward it: due date + the creditor's grace days.
    grace_until = models.DateField(_("grace until"), null=True, blank=True)

    class Meta:
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        ordering = ["-due_date", "-id"]

    def __str__(self):
        return f"{self.amount} @ {self.due_date}"


class Payment(models.Model):
    """回款: money received, as reported by the creditor."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="payments", verbose_name=_("case"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    paid_at = models.DateTimeField(_("paid at"), db_index=True)
    source_ref = models.CharField(_("source reference"), max_length=64)
    # The creditor's own transaction id (交易流水号) from its repayment file: one payment per id and creditor.
    creditor = models.ForeignKey("org.Creditor", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("creditor"))
    creditor_txn_id = models.CharField(_("creditor transaction id"), max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-paid_at"]
        constraints = [
            models.UniqueConstraint(fields=["case", "source_ref"], name="payment_ref_unique"),
            models.UniqueConstraint(fields=["creditor", "creditor_txn_id"], condition=~models.Q(creditor_txn_id=""),
                                    name="payment_creditor_txn_unique"),
        ]

    def __str__(self):
        return f"{self.amount} @ {self.paid_at:%Y-%m-%d}"
