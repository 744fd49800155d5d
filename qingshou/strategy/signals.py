"""Incremental re-evaluation: a payment, a broken promise, a hold placed or released, or a phone change on
a case re-evaluates that case after the transaction commits, so other apps need not call the strategy."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from qingshou.portfolio.models import CaseEvent

logger = logging.getLogger("qingshou.strategy")

# CaseEvent types (plain values, so a type another app adds later needs no import here).
TRIGGERS = frozenset({
    "payment_received", "promise_made", "promise_kept", "promise_broken", "hold_placed", "hold_released",
    "phone_status", "phone_added", "plan_broken",
})
_pending = threading.local()


def _flush():
    ids = getattr(_pending, "ids", None)
    if not ids:
        return
    _pending.ids = set()
    from qingshou.strategy.engine import evaluate_cases

    try:
        evaluate_cases(sorted(ids))
    except Exception:  # never break the action that triggered us; the nightly run catches up
        logger.exception("incremental strategy evaluation failed for %s", sorted(ids)[:20])


@receiver(post_save, sender=CaseEvent, dispatch_uid="strategy.reevaluate")
def reevaluate_on_event(sender, instance, created, **kwargs):
    if not created or instance.type not in TRIGGERS or not settings.STRATEGY_INCREMENTAL:
        return
    if not hasattr(_pending, "ids"):
        _pending.ids = set()
    _pending.ids.add(instance.case_id)
    transaction.on_commit(_flush)
