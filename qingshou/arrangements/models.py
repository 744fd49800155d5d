"""Creditor terms, repayment plans (分期 / 延期), waivers and settlements (减免 / 一次性结清), their approvals."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qingshou.portfolio.models import Case

MONEY = {"max_digits": 14, "decimal_places": 2}
SHARE = {"max_digits": 5, "decimal_places": 4}


class Treatment(models.TextChoices):
    """What happens to interest and fees while a plan runs."""

    FROZEN = "frozen", _("frozen")
    CONTINUE = "continue", _("continue to accrue")
    WAIVED = "waived", _("waived on completion")


class FloorBasis(models.TextChoices):
    PRINCIPAL = "principal", _("share of principal")
    TOTAL = "total", _("share of total balance")


class CreditorTerms(models.Model):
    """One version of a creditor's terms. Append-only: an edit adds a version; the newest one applies."""

    creditor = models.ForeignKey("org.Creditor", on_delete=models.PROTECT, related_name="terms",
                                 verbose_name=_("creditor"))
    version = models.PositiveIntegerField(_("version"))
    # promises to pay
    promise_min_amount = models.DecimalField(_("minimum promise amount"), default=Decimal("0.00"), **MONEY)
    promise_min_share = models.DecimalField(_("minimum promise as share of balance"), default=Decimal("0.0000"),
                                            **SHARE)
    promise_max_days = models.PositiveIntegerField(_("latest promise date (days ahead)"), default=60)
    promise_max_open = models.PositiveIntegerField(_("open promises per case"), default=1)
    grace_days = models.PositiveIntegerField(_("grace days"), default=1)
    # repayment plans
    plan_max_instalments = models.PositiveIntegerField(_("maximum instalments"), default=36)
    plan_max_months = models.PositiveIntegerField(_("longest term (months)"), default=60)
    plan_min_first_share = models.DecimalField(_("minimum first payment as share of balance"),
                                               default=Decimal("0.0500"), **SHARE)
    plan_treatment = models.CharField(_("interest and fees during a plan"), max_length=10,
                                      choices=Treatment.choices, default=Treatment.FROZEN)
    plan_monthly_rate = models.DecimalField(_("monthly rate when interest continues"), default=Decimal("0.0050"),
                                            **SHARE)
    # waivers and settlements
    waiver_max_interest_share = models.DecimalField(_("maximum interest waiver (share)"), default=Decimal("1.0000"),
                                                    **SHARE)
    waiver_max_fee_share = models.DecimalField(_("maximum fee waiver (share)"), default=Decimal("1.0000"), **SHARE)
    settlement_floor_share = models.DecimalField(_("settlement floor (share)"), default=Decimal("0.7000"), **SHARE)
    settlement_floor_basis = models.CharField(_("settlement floor basis"), max_length=10,
                                              choices=FloorBasis.choices, default=FloorBasis.PRINCIPAL)
    offer_expiry_days = models.PositiveIntegerField(_("offer expiry (days)"), default=15)
    note = models.CharField(_("reason for the change"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("changed by"))

    EDITABLE = (
        "promise_min_amount", "promise_min_share", "promise_max_days", "promise_max_open", "grace_days",
        "plan_max_instalments", "plan_max_months", "plan_min_first_share", "plan_treatment", "plan_monthly_rate",
        "waiver_max_interest_share", "waiver_max_fee_share", "settlement_floor_share", "settlement_floor_basis",
        "offer_expiry_days",
    )

    class Meta:
        verbose_name = _("creditor terms")
        verbose_name_plural = _("creditor terms")
        ordering = ["creditor", "-version"]
        constraints = [models.UniqueConstraint(fields=["creditor", "version"], name="terms_version_unique")]

    def __str__(self):
        return f"{self.creditor_id} v{self.version}"

    def values(self) -> dict:
        return {f: getattr(self, f) for f in self.EDITABLE}


class HardshipReason(models.TextChoices):
    UNEMPLOYED = "unemployed", _("unemployment")
    ILLNESS = "illness", _("illness")
    BUSINESS = "business", _("business difficulties")
    EPIDEMIC = "epidemic", _("epidemic")
    OTHER = "other", _("other")


class ApprovalState(models.TextChoices):
    """The approval chain shared by plans and offers: collector → leader/supervisor → creditor."""

    PENDING_LEADER = "pending_leader", _("awaiting team leader")
    PENDING_CREDITOR = "pending_creditor", _("awaiting creditor")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    CANCELLED = "cancelled", _("cancelled")


class RepaymentPlan(models.Model):
    """分期 / 延期: a schedule of instalments, approved by a leader then by the creditor, tracked on payments."""

    class Kind(models.TextChoices):
        INSTALMENTS = "instalments", _("instalment plan")
        DEFERRAL = "deferral", _("deferral")

    class Status(models.TextChoices):
        PENDING_LEADER = "pending_leader", _("awaiting team leader")
        PENDING_CREDITOR = "pending_creditor", _("awaiting creditor")
        ACTIVE = "active", _("running")
        COMPLETED = "completed", _("completed")
        BROKEN = "broken", _("broken")
        REJECTED = "rejected", _("rejected")
        CANCELLED = "cancelled", _("cancelled")

    OPEN = (Status.PENDING_LEADER, Status.PENDING_CREDITOR, Status.ACTIVE)

    class Via(models.TextChoices):
        COLLECTOR = "collector", _("collector")
        SELF_SERVICE = "self_service", _("self-service")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="plans", verbose_name=_("case"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.INSTALMENTS)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING_LEADER,
                              db_index=True)
    via = models.CharField(_("requested via"), max_length=12, choices=Via.choices, default=Via.COLLECTOR)
    balance_at_start = models.DecimalField(_("balance when proposed"), **MONEY)
    total_amount = models.DecimalField(_("plan total"), **MONEY)
    instalments = models.PositiveIntegerField(_("instalments"))
    first_payment = models.DecimalField(_("first payment"), **MONEY)
    start_date = models.DateField(_("first due date"))
    treatment = models.CharField(_("interest and fees"), max_length=10, choices=Treatment.choices)
    hardship_reason = models.CharField(_("hardship reason"), max_length=12, choices=HardshipReason.choices)
    hardship_detail = models.CharField(_("hardship details"), max_length=300, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    within_limits = models.BooleanField(_("within the creditor's limits"), default=True)
    limit_reasons = models.JSONField(default=list, blank=True)
    terms = models.ForeignKey(CreditorTerms, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("proposed by"))
    created_at = models.DateTimeField(_("proposed"), default=timezone.now)
    activated_at = models.DateTimeField(_("approved"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    paid_amount = models.DecimalField(_("paid"), default=Decimal("0.00"), **MONEY)
    # When the scheduler looks at the plan next: the first unpaid instalment's due date + grace. Claimed by UPDATE.
    check_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("repayment plan")
        verbose_name_plural = _("repayment plans")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"plan {self.pk} ({self.instalments} × case {self.case_id})"

    @property
    def approval_state(self) -> str:
        return self.status


class Instalment(models.Model):
    plan = models.ForeignKey(RepaymentPlan, on_delete=models.CASCADE, related_name="schedule")
    seq = models.PositiveIntegerField(_("no."))
    due_date = models.DateField(_("due date"))
    amount = models.DecimalField(_("amount"), **MONEY)
    paid_amount = models.DecimalField(_("paid"), default=Decimal("0.00"), **MONEY)
    paid_at = models.DateTimeField(_("paid in full at"), null=True, blank=True)

    class Meta:
        ordering = ["plan", "seq"]
        constraints = [models.UniqueConstraint(fields=["plan", "seq"], name="instalment_seq_unique")]

    def __str__(self):
        return f"{self.seq}: {self.amount} @ {self.due_date}"

    @property
    def is_paid(self) -> bool:
        return self.paid_amount >= self.amount


class PlanDocument(models.Model):
    """A supporting document of the debtor's hardship (diagnosis, termination letter…), in Django storage."""

    plan = models.ForeignKey(RepaymentPlan, on_delete=models.CASCADE, related_name="documents")
    file = models.FileField(_("file"), upload_to="arrangements/%Y/%m/")
    name = models.CharField(_("name"), max_length=200)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.name


class Offer(models.Model):
    """减免 / 一次性结清: a waiver of interest and fees, or a settle-in-full amount, approved by the creditor."""

    class Kind(models.TextChoices):
        WAIVER = "waiver", _("interest and fee waiver")
        SETTLEMENT = "settlement", _("settlement in full")

    class Status(models.TextChoices):
        PENDING_LEADER = "pending_leader", _("awaiting team leader")
        PENDING_CREDITOR = "pending_creditor", _("awaiting creditor")
        APPROVED = "approved", _("approved")
        SETTLED = "settled", _("settled")
        EXPIRED = "expired", _("expired")
        REJECTED = "rejected", _("rejected")
        CANCELLED = "cancelled", _("cancelled")

    OPEN = (Status.PENDING_LEADER, Status.PENDING_CREDITOR, Status.APPROVED)

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="offers", verbose_name=_("case"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING_LEADER,
                              db_index=True)
    balance_at_start = models.DecimalField(_("balance when proposed"), **MONEY)
    interest_waived = models.DecimalField(_("interest waived"), default=Decimal("0.00"), **MONEY)
    fees_waived = models.DecimalField(_("fees waived"), default=Decimal("0.00"), **MONEY)
    pay_amount = models.DecimalField(_("amount the debtor pays"), **MONEY)
    note = models.CharField(_("note"), max_length=500, blank=True)
    within_limits = models.BooleanField(default=True)
    limit_reasons = models.JSONField(default=list, blank=True)
    terms = models.ForeignKey(CreditorTerms, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("proposed by"))
    created_at = models.DateTimeField(_("proposed"), default=timezone.now)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True, db_index=True)
    communicated_at = models.DateTimeField(_("told to the debtor"), null=True, blank=True)
    communicated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    paid_amount = models.DecimalField(_("paid"), default=Decimal("0.00"), **MONEY)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("waiver or settlement offer")
        verbose_name_plural = _("waiver and settlement offers")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"offer {self.pk} ({self.kind}, case {self.case_id})"


class ApprovalStep(models.Model):
    """One step of a plan's or offer's approval chain, with its comment: proposed, approved, rejected…"""

    class Stage(models.TextChoices):
        PROPOSAL = "proposal", _("proposal")
        LEADER = "leader", _("team leader")
        CREDITOR = "creditor", _("creditor")

    class Decision(models.TextChoices):
        PROPOSED = "proposed", _("proposed")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        CANCELLED = "cancelled", _("cancelled")

    plan = models.ForeignKey(RepaymentPlan, null=True, blank=True, on_delete=models.CASCADE, related_name="steps")
    offer = models.ForeignKey(Offer, null=True, blank=True, on_delete=models.CASCADE, related_name="steps")
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices)
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(plan__isnull=False) | models.Q(offer__isnull=False),
                                              name="approval_step_has_subject")]

    def __str__(self):
        return f"{self.stage} {self.decision}"


class WriteOff(models.Model):
    """The balance written off when an approved offer is paid: the record behind a settled case."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="write_offs")
    offer = models.OneToOneField(Offer, null=True, blank=True, on_delete=models.PROTECT, related_name="write_off")
    plan = models.OneToOneField(RepaymentPlan, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="write_off")
    principal = models.DecimalField(default=Decimal("0.00"), **MONEY)
    interest = models.DecimalField(default=Decimal("0.00"), **MONEY)
    late_fees = models.DecimalField(default=Decimal("0.00"), **MONEY)
    other_fees = models.DecimalField(default=Decimal("0.00"), **MONEY)
    total = models.DecimalField(**MONEY)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]

    def __str__(self):
        return f"write-off {self.total} (case {self.case_id})"
