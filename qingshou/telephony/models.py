"""Dialer calls, their recordings and automated voice-reminder campaigns (机器人电催).

A call is a PENDING contact record (contact.ContactAttempt) plus a `Call` row that tracks the
dialer's side; the call-result callback completes both. A recording is stored through Django's
storage API (settings.RECORDINGS_STORAGE) and linked to the contact record.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def recordings_storage():
    return storages[settings.RECORDINGS_STORAGE]


def new_call_id() -> str:
    return "qs-" + uuid.uuid4().hex[:20]


class Call(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", _("queued")            # contact record made, originate not yet accepted
        RINGING = "ringing", _("dialling")         # the dialer accepted the originate request
        COMPLETED = "completed", _("completed")    # the result came back
        FAILED = "failed", _("failed")             # the dialer refused or never answered (after retries)

    call_id = models.CharField(_("call id"), max_length=40, unique=True, default=new_call_id)
    contact = models.OneToOneField("contact.ContactAttempt", on_delete=models.PROTECT, related_name="call",
                                   verbose_name=_("contact record"))
    campaign = models.ForeignKey("telephony.VoiceCampaign", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="calls", verbose_name=_("campaign"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    backend = models.CharField(_("backend"), max_length=16)
    extension = models.CharField(_("agent extension"), max_length=20, blank=True)
    script = models.TextField(_("voice script"), blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED, db_index=True)
    gateway_call_id = models.CharField(_("dialer call id"), max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)          # originate requests made
    fetch_attempts = models.PositiveSmallIntegerField(default=0)    # recording downloads tried
    error = models.CharField(_("error"), max_length=120, blank=True)
    hangup_cause = models.CharField(_("hang-up cause"), max_length=40, blank=True)
    recording_url = models.URLField(_("recording URL"), max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.call_id


class Recording(models.Model):
    """录音: one call recording, purged after the retention period (purge_after)."""

    contact = models.OneToOneField("contact.ContactAttempt", on_delete=models.PROTECT, related_name="recording",
                                   verbose_name=_("contact record"))
    file = models.FileField(_("file"), storage=recordings_storage, upload_to="recordings/%Y/%m/%d/", max_length=300,
                            blank=True)
    content_type = models.CharField(max_length=40, default="audio/wav")
    size = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    source = models.CharField(_("source"), max_length=300, blank=True)   # URL or imported file name
    created_at = models.DateTimeField(default=timezone.now)
    purge_after = models.DateField(_("keep until"), db_index=True)
    purged_at = models.DateTimeField(_("purged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recording")
        verbose_name_plural = _("recordings")

    def __str__(self):
        return self.file.name or f"recording {self.pk}"

    @property
    def available(self) -> bool:
        return bool(self.file) and self.purged_at is None


class VoiceCampaign(models.Model):
    """An automated voice-reminder campaign over one segment of cases, with an approved voice script."""

    class Segment(models.TextChoices):
        PROMISE_TOMORROW = "promise_tomorrow", _("promise due tomorrow")
        EARLY_STAGE = "early_stage", _("early-stage cases (M1)")
        ROBOT_TREATMENT = "robot_treatment", _("strategy treatment: automated call")

    class State(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("finished")

    name = models.CharField(_("name"), max_length=80)
    creditor = models.ForeignKey("org.Creditor", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("creditor"))
    segment = models.CharField(_("segment"), max_length=20, choices=Segment.choices)
    script_version = models.ForeignKey("messaging.TemplateVersion", on_delete=models.PROTECT, related_name="+",
                                       verbose_name=_("voice script"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.RUNNING)
    targets = models.PositiveIntegerField(_("targets"), default=0)
    refused = models.PositiveIntegerField(_("refused by compliance"), default=0)
    skipped = models.PositiveIntegerField(_("skipped (no callable number)"), default=0)
    refusals = models.JSONField(default=list, blank=True)   # [{"case_id", "rules"}] of refused targets
    case_ids = models.JSONField(default=list, blank=True)   # the targets, fixed at launch (scoped by the creator)
    processed = models.PositiveIntegerField(default=0)      # targets handled so far (placed, refused or skipped)

    class Meta:
        verbose_name = _("voice campaign")
        verbose_name_plural = _("voice campaigns")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name
