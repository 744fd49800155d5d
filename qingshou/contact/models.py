from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from qingshou.portfolio.models import Case, HoldReason, Party, Phone


class Channel(models.TextChoices):
    CALL = "call", _("call")
    SMS = "sms", _("SMS")
    LETTER = "letter", _("letter")
    VISIT = "visit", _("field visit")
    ROBOT = "robot", _("automated voice call")


# Channels that are telephone calls for the purposes of the daily call caps.
CALL_CHANNELS = (Channel.CALL, Channel.ROBOT)


class Direction(models.TextChoices):
    OUTBOUND = "out", _("outbound")
    INBOUND = "in", _("inbound")


class OutcomeCode(models.Model):
    """An outcome of a contact attempt, with the effects logging it has. Data, not code."""

    code = models.SlugField(max_length=32, unique=True)
    label_zh = models.CharField(_("label (Chinese)"), max_length=40)
    label_en = models.CharField(_("label (English)"), max_length=60)
    order = models.PositiveSmallIntegerField(default=100)
    is_active = models.BooleanField(_("active"), default=True)
    connected = models.BooleanField(_("connected"), default=False, help_text=_("Someone answered."))
    right_party = models.BooleanField(_("right-party contact"), default=False,
                                      help_text=_("We spoke with the debtor."))
    third_party = models.BooleanField(_("third-party contact"), default=False)
    marks_phone_invalid = models.BooleanField(_("marks the phone invalid"), default=False)
    marks_phone_valid = models.BooleanField(_("marks the phone valid"), default=False)
    hold_reason = models.CharField(_("places a hold"), max_length=12, choices=HoldReason.choices, blank=True)
    opens_promise = models.BooleanField(_("records a promise to pay"), default=False)
    stop_today = models.BooleanField(_("no more contact today"), default=False)
    refused = models.BooleanField(_("third party refused"), default=False,
                                  help_text=_("A third party refused to pass on a message or asked us to stop."))

    class Meta:
        verbose_name = _("outcome code")
        verbose_name_plural = _("outcome codes")
        ordering = ["order", "code"]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        return self.label_en if (get_language() or "").startswith("en") else self.label_zh


class ContactStatus(models.TextChoices):
    PENDING = "pending", _("in progress")      # a call placed through the dialer, result not back yet
    COMPLETED = "completed", _("completed")
    FAILED = "failed", _("not connected")       # the dialer could not place the call


class QaFlag(models.TextChoices):
    NONE = "", _("none")
    NO_RECORDING = "no_recording", _("call without a recording")


# The outcome a pending dialer call carries until its result arrives (inactive: never offered in forms).
PENDING_OUTCOME = "dialing"


class ContactAttempt(models.Model):
    """催记: one contact attempt and its outcome."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="contacts", verbose_name=_("case"))
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="contacts", verbose_name=_("party"))
    phone = models.ForeignKey(Phone, null=True, blank=True, on_delete=models.PROTECT, related_name="contacts",
                              verbose_name=_("phone"))
    collector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contacts",
                                  verbose_name=_("collector"))
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, default=Channel.CALL)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices,
                                 default=Direction.OUTBOUND)
    started_at = models.DateTimeField(_("start time"), default=timezone.now, db_index=True)
    duration_seconds = models.PositiveIntegerField(_("duration (s)"), default=0)
    outcome = models.ForeignKey(OutcomeCode, on_delete=models.PROTECT, related_name="+", verbose_name=_("outcome"))
    notes = models.TextField(_("notes"), blank=True)
    noted_at = models.DateTimeField(_("note written at"), auto_now_add=True)
    recording_ref = models.CharField(_("recording reference"), max_length=200, blank=True)
    checklist = models.JSONField(_("first-call checklist"), default=dict, blank=True)
    # Time from assignment to this contact, so "first call within 2 days" is a query, not a guess.
    seconds_since_assignment = models.BigIntegerField(null=True, blank=True)
    decision = models.ForeignKey("compliance.ComplianceDecision", null=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("compliance decision"))
    # Content-scanner hits in the notes, for QA: [{"category", "phrase", "start", "end", "severity"}].
    flags = models.JSONField(_("content flags"), default=list, blank=True)
    # Dialer calls (qingshou.telephony) start PENDING and are completed by the call-result callback.
    status = models.CharField(_("status"), max_length=10, choices=ContactStatus.choices,
                              default=ContactStatus.COMPLETED, db_index=True)
    # QA: a call without a recording is a violation to review (seed 003).
    qa_flag = models.CharField(_("QA flag"), max_length=16, choices=QaFlag.choices, blank=True, default="",
                               db_index=True)

    class Meta:
        verbose_name = _("contact record")
        verbose_name_plural = _("contact records")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["party", "started_at"]),
            models.Index(fields=["case", "started_at"]),
            models.Index(fields=["collector", "started_at"]),
        ]

    def __str__(self):
        return f"{self.case_id} {self.started_at:%Y-%m-%d %H:%M} {self.outcome_id}"


# The first-call checklist from seed 003 (第一通电话注意事项).
FIRST_CALL_CHECKLIST = [
    ("work_income", _("work and income")),
    ("location", _("current location")),
    ("marital_status", _("marital status")),
    ("children", _("has children")),
    ("parents_means", _("parents' financial situation")),
    ("children_with_parents", _("children cared for by parents")),
    ("other_debts", _("other debts")),
    ("family_knows", _("family knows about the loan")),
]
