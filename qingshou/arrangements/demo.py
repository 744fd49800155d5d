"""Demo data for plans, offers and creditor terms: a few arrangements at each stage of the approval chain."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone


def demo_arrangements(acting_user=None) -> dict:
    """Terms v1 for every creditor; on four active cases: a plan awaiting the leader, one awaiting the
    creditor, one running, and an approved settlement offer. Skips what the demo world lacks."""
    from qingshou.arrangements import actions
    from qingshou.arrangements.models import Offer, RepaymentPlan
    from qingshou.org.models import Creditor, Role, User
    from qingshou.portfolio.models import Case, CaseStatus

    made = {"terms": 0, "plans": 0, "offers": 0}
    admin = acting_user or User.objects.filter(role__in=[Role.SUPERVISOR, Role.ADMIN], is_active=True).first()
    if admin is None:
        return made
    for creditor in Creditor.objects.filter(is_active=True, terms__isnull=True).distinct():
        actions.do_update_terms(creditor, values={"promise_min_amount": Decimal("100.00"), "grace_days": 1,
                                                  "plan_max_instalments": 24, "settlement_floor_share": Decimal("0.7")},
                                note="演示：初始条款", acting_user=admin)
        made["terms"] += 1
    cases = (Case.objects.filter(status=CaseStatus.ACTIVE, assigned_to__isnull=False, total_due__gt=1000,
                                 plans__isnull=True, offers__isnull=True)
             .select_related("assigned_to", "creditor").order_by("pk"))
    start = timezone.localdate() + timedelta(days=7)
    stages = ["pending_leader", "pending_creditor", "active", "offer"]
    reasons = ["unemployed", "illness", "business"]
    for i, case in enumerate(cases[:20]):
        if not stages:
            break
        leader = User.objects.filter(role=Role.TEAM_LEADER, team_id=case.team_id, is_active=True).first()
        cred = User.objects.filter(role=Role.CREDITOR, creditor_id=case.creditor_id, is_active=True).first()
        if leader is None or cred is None:
            continue
        stage = stages.pop(0)
        collector = case.assigned_to
        if stage == "offer":
            offer = actions.do_propose_offer(case, kind=Offer.Kind.SETTLEMENT,
                                             settle_amount=(case.total_due * Decimal("0.8")).quantize(Decimal("1")),
                                             note="客户可一次性筹款", acting_user=collector)
            offer = actions.do_review_offer(offer, approve=True, comment="同意", acting_user=leader)
            actions.do_review_offer(offer, approve=True, comment="同意八折结清", acting_user=cred)
            made["offers"] += 1
            continue
        plan = actions.do_propose_plan(
            case, instalments=12, first_payment=(case.total_due * Decimal("0.1")).quantize(Decimal("1")),
            start_date=start, hardship_reason=reasons[i % 3], hardship_detail="演示数据", note="客户愿意分期还款",
            acting_user=collector)
        if stage in ("pending_creditor", "active"):
            plan = actions.do_review_plan(plan, approve=True, comment="首付合理", acting_user=leader)
        if stage == "active":
            plan = actions.do_review_plan(plan, approve=True, comment="同意分期", acting_user=cred)
        made["plans"] += 1
        assert plan.status in RepaymentPlan.Status.values
    return made
