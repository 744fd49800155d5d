"""Periodic jobs of the telephony app (found by the scheduler's autodiscovery)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from qingshou.core.scheduler import job


@job("telephony.purge_recordings", every=3600)
def purge_recordings(now: datetime) -> dict:
    """Delete recordings past the retention period (RECORDING_RETENTION_DAYS, CN: at least 2 years)."""
    from qingshou.telephony.actions import purge_due_recordings

    total = 0
    while True:
        n = purge_due_recordings(timezone.localdate(now))
        total += n
        if n == 0:
            break
    return {"purged": total}
