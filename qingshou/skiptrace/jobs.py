"""Periodic jobs of skip tracing (found by the scheduler's autodiscovery)."""

from __future__ import annotations

from datetime import datetime

from qingshou.core.scheduler import job


@job("skiptrace.detect_lost_contact", every=24 * 3600)
def nightly_detection(now: datetime) -> dict:
    """失联 detection over every active case not already flagged (contacts logged trigger it at once too)."""
    from qingshou.skiptrace.actions import detect_lost_contact

    return detect_lost_contact(now)
