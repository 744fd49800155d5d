"""Skip tracing (失联修复): the lost-contact flag of a case, the leads found, and enrichment imports."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from qingshou.org.models import Creditor
from qingshou.portfolio.models import Address, Case, Party, Phone, Verification


class LostContact(models.Model):
    """失联: placed when every phone of a case is invalid or unanswered; cleared when a phone is verified."""

    class Reason(models.TextChoices):
        NO_PHONE = "no_phone", _("no phone on file")
        ALL_INVALID = "all_invalid", _("every phone invalid")
        UNANSWERED = "unanswered", _("every phone invalid or unanswered")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="lost_contacts", verbose_name=_("case"))
    since = models.DateTimeField(_("lost contact since"), db_index=True)
    reason = models.CharField(_("reason"), max_length=12, choices=Reason.choices)
    # What was tried when the flag was placed: {"phones": n, "invalid": n, "unanswered": n, "attempts": n}.
    tried = models.JSONField(_("what was tried"), default=dict, blank=True)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("cleared by"))
    recovered_by_source = models.CharField(_("recovered by source"), max_length=12, choices=Phone.Source.choices,
                                           blank=True)
    recovered_by_lead = models.ForeignKey("Lead", null=True, blank=True, on_delete=models.SET_NULL,
                                          related_name="+", verbose_name=_("recovered by lead"))

    class Meta:
        verbose_name = _("lost-contact flag")
        verbose_name_plural = _("lost-contact flags")
        ordering = ["since", "id"]
        constraints = [models.UniqueConstraint(fields=["case"], condition=Q(cleared_at__isnull=True),
                                               name="skiptrace_one_open_flag_per_case")]

    def __str__(self):
        return f"{self.case_id} {self.since:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None


class EnrichmentImport(models.Model):
    """One run of a creditor's enrichment file (account number + new phones / addresses / employer)."""

    creditor = models.ForeignKey(Creditor, on_delete=models.PROTECT, related_name="+", verbose_name=_("creditor"))
    file_name = models.CharField(_("file"), max_length=200)
    sha256 = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("imported by"))
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    matched_rows = models.PositiveIntegerField(_("matched rows"), default=0)
    unmatched_rows = models.PositiveIntegerField(_("unmatched rows"), default=0)
    invalid_rows = models.PositiveIntegerField(_("invalid rows"), default=0)
    phones_added = models.PositiveIntegerField(_("phones added"), default=0)
    addresses_added = models.PositiveIntegerField(_("addresses added"), default=0)
    employers_added = models.PositiveIntegerField(_("employers added"), default=0)
    duplicates = models.PositiveIntegerField(_("already known"), default=0)
    # [{"row": n, "account": "...", "message": "..."}] for unmatched and invalid rows.
    errors = models.JSONField(_("row errors"), default=list, blank=True)

    class Meta:
        verbose_name = _("enrichment import")
        verbose_name_plural = _("enrichment imports")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.creditor_id}/{self.file_name}"


class Lead(models.Model):
    """A new phone, address or employer found for a case, with its lawful source and verification."""

    class Kind(models.TextChoices):
        PHONE = "phone", _("phone")
        ADDRESS = "address", _("address")
        EMPLOYER = "employer", _("employer")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="leads", verbose_name=_("case"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    source = models.CharField(_("source"), max_length=12, choices=Phone.Source.choices)
    verification = models.CharField(_("verification"), max_length=10, choices=Verification.choices,
                                    default=Verification.UNVERIFIED)
    party = models.ForeignKey(Party, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("person"))
    phone = models.ForeignKey(Phone, null=True, blank=True, on_delete=models.CASCADE, related_name="leads",
                              verbose_name=_("phone"))
    address = models.ForeignKey(Address, null=True, blank=True, on_delete=models.CASCADE, related_name="leads",
                                verbose_name=_("address"))
    employer = models.CharField(_("employer"), max_length=200, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    # The lost-contact flag open on the case when the lead was found (None: the case was not lost).
    flag = models.ForeignKey(LostContact, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    enrichment = models.ForeignKey(EnrichmentImport, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="leads")
    found_at = models.DateTimeField(_("found at"), auto_now_add=True, db_index=True)
    found_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("found by"))
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("verified by"))

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-found_at", "-id"]
        indexes = [models.Index(fields=["source", "kind"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.case_id}"
