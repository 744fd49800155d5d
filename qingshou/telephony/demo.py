"""Demo data for the telephony screens: synthetic recordings on the latest demo calls, and a few calls
flagged for QA because they have none (DESIGN: a call without a recording is a violation)."""

from __future__ import annotations


def demo_telephony(limit: int = 40) -> dict:
    from datetime import timedelta

    from django.conf import settings
    from django.core.files.base import ContentFile
    from django.db import transaction
    from django.utils import timezone

    from qingshou.contact.models import CALL_CHANNELS, ContactAttempt, QaFlag
    from qingshou.telephony.gateways import sine_wav
    from qingshou.telephony.models import Recording

    contacts = list(ContactAttempt.objects.filter(channel__in=CALL_CHANNELS, recording__isnull=True)
                    .order_by("-started_at")[:limit])
    stored = flagged = 0
    tones = [392.0, 440.0, 494.0, 523.0]
    with transaction.atomic():
        for i, contact in enumerate(contacts):
            if i % 5 == 4:
                contact.qa_flag = QaFlag.NO_RECORDING
                contact.save(update_fields=["qa_flag"])
                flagged += 1
                continue
            data = sine_wav(seconds=1.5, freq=tones[i % len(tones)])
            rec = Recording(contact=contact, size=len(data), source="demo", content_type="audio/wav",
                            purge_after=timezone.localdate(contact.started_at)
                            + timedelta(days=settings.RECORDING_RETENTION_DAYS))
            rec.file.save(f"demo-{contact.case_id}-{contact.pk}.wav", ContentFile(data), save=False)
            rec.save()
            contact.recording_ref = rec.file.name[:200]
            contact.save(update_fields=["recording_ref"])
            stored += 1
    return {"recordings": stored, "flagged": flagged}
