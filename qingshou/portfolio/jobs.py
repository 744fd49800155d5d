"""Periodic jobs of the portfolio app (found by the scheduler's autodiscovery)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from qingshou.core.scheduler import job

RECALL_CHUNK = 500
# The reason written on the status history, the timeline and the audit log of an automatic recall.
AUTO_RECALL_REASON = "placement period ended"


@job("portfolio.recall_expired", every=3600)
def recall_expired(now: datetime) -> dict:
    """退案: recall every case whose placement ended before today, unless it is retained (留案).

    Chunks of RECALL_CHUNK cases, each one action (one transaction). The action locks the cases and
    re-checks that each is still due, so schedulers running at once, or a retention made meanwhile,
    never lead to a wrong or double recall.
    """
    from qingshou.portfolio.actions import do_recall_cases, recall_due_filter
    from qingshou.portfolio.models import Case

    today = timezone.localdate(now)
    recalled = 0
    last_pk = 0
    while True:
        ids = list(
            Case.objects.filter(recall_due_filter(today), pk__gt=last_pk)
            .order_by("pk").values_list("pk", flat=True)[:RECALL_CHUNK]
        )
        if not ids:
            break
        recalled += len(do_recall_cases(ids, acting_user=None, reason=AUTO_RECALL_REASON, due_on=today))
        last_pk = ids[-1]
    return {"recalled": recalled}
