"""Periodic jobs of the arrangements app (found by the scheduler's autodiscovery)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from qingshou.core.scheduler import job

CHUNK = 200
# A claimed plan is looked at again after this long if its check failed half-way.
RECHECK = timedelta(hours=1)


@job("arrangements.plan_checks", every=300)
def plan_checks(now: datetime) -> dict:
    """Running plans whose check time has come: claimed by conditional UPDATE (several schedulers may run),
    then checked one transaction each: a missed instalment past grace breaks the plan."""
    from qingshou.arrangements.actions import do_check_plan, do_expire_offer
    from qingshou.arrangements.models import Offer, RepaymentPlan

    results: dict[str, int] = {}
    due = list(RepaymentPlan.objects.filter(status=RepaymentPlan.Status.ACTIVE, check_at__lte=now)
               .order_by("check_at", "pk").values_list("pk", "check_at")[:CHUNK])
    for pk, check_at in due:
        claimed = RepaymentPlan.objects.filter(pk=pk, check_at=check_at).update(check_at=now + RECHECK)
        if claimed:
            status = do_check_plan(pk, now=now)
            results[status] = results.get(status, 0) + 1
    today = timezone.localdate(now)
    for pk in Offer.objects.filter(status=Offer.Status.APPROVED, expires_on__lt=today).values_list("pk", flat=True):
        status = do_expire_offer(pk, today=today)
        results[f"offer_{status}"] = results.get(f"offer_{status}", 0) + 1
    return results
