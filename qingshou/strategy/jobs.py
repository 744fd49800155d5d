"""Periodic jobs of the strategy app (found by the scheduler's autodiscovery)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from qingshou.core.scheduler import job


@job("strategy.nightly", every=600)
def nightly(now: datetime) -> dict:
    """Within the night window (STRATEGY_NIGHTLY_HOUR, local, for STRATEGY_NIGHTLY_WINDOW_HOURS), queue today's
    run once for the published version. Never during the working day: a run re-sorts queues and assigns
    cases, so a missed night is caught up by "run now", not at 10 o'clock by surprise."""
    from qingshou.core.tasks import enqueue_on_commit
    from qingshou.strategy.actions import ensure_default_strategy
    from qingshou.strategy.models import StrategyRun
    from qingshou.strategy.tasks import run_strategy_task

    local = timezone.localtime(now)
    if (local.hour - settings.STRATEGY_NIGHTLY_HOUR) % 24 >= settings.STRATEGY_NIGHTLY_WINDOW_HOURS:
        return {"queued": False, "why": "outside the night window"}
    version = ensure_default_strategy()
    if StrategyRun.objects.filter(version=version, business_date=local.date()).exclude(status="failed").exists():
        return {"queued": False, "why": "already ran"}
    enqueue_on_commit(run_strategy_task, "nightly")
    return {"queued": True}
