"""The collector's work queue and its priority order.

Order (seed 000 and the issue): promises due today or overdue, or broken within the last
BROKEN_PROMISE_DAYS days, first; then cases whose first call is overdue (first call within
FIRST_CALL_DAYS of assignment); then the strategy's decision (qingshou.strategy.models.CaseStrategy):
agent work (agent call, visit, legal review) before automated treatments, then the strategy priority,
then the expected money of the next call (CaseStrategy.value, highest first), then the score, then the largest
balance. A case the strategy has not evaluated yet
counts as agent work with DEFAULT_STRATEGY_PRIORITY and no score.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Case as When_
from django.db.models import Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from qingshou.core.scoping import visible_cases
from qingshou.payments.models import Promise
from qingshou.portfolio.models import CaseHold, CaseStatus

PRIORITY_PROMISE_DUE = 0
PRIORITY_FIRST_CALL_OVERDUE = 1
PRIORITY_NORMAL = 2
BROKEN_PROMISE_DAYS = 3
DEFAULT_STRATEGY_PRIORITY = 5


def annotate_priority(qs: QuerySet) -> QuerySet:
    now = timezone.now()
    today = timezone.localdate()
    first_call_cutoff = now - timedelta(days=settings.FIRST_CALL_DAYS)
    promise_due = Promise.objects.filter(
        Q(status=Promise.Status.PENDING, due_date__lte=today)
        | Q(status=Promise.Status.BROKEN, resolved_at__gte=now - timedelta(days=BROKEN_PROMISE_DAYS)),
        case=OuterRef("pk"),
    )
    held = CaseHold.objects.filter(case=OuterRef("pk"), released_at__isnull=True)
    return qs.annotate(
        promise_due=Exists(promise_due),
        on_hold=Exists(held),
        priority=When_(
            When(Exists(promise_due), then=Value(PRIORITY_PROMISE_DUE)),
            When(Q(first_contact_at__isnull=True, assigned_at__lte=first_call_cutoff),
                 then=Value(PRIORITY_FIRST_CALL_OVERDUE)),
            default=Value(PRIORITY_NORMAL),
            output_field=IntegerField(),
        ),
    )


def work_queue(user) -> QuerySet:
    """The user's own active, not-held cases in priority order."""
    qs = visible_cases(user).filter(assigned_to=user, status=CaseStatus.ACTIVE)
    qs = annotate_priority(qs).filter(on_hold=False)
    return annotate_strategy(qs).order_by("priority", "agent_last", "strategy_priority",
                                          F("strategy_value").desc(nulls_last=True),
                                          F("strategy_score").desc(nulls_last=True), "-total_due", "pk")


def annotate_strategy(qs: QuerySet) -> QuerySet:
    """The case's strategy decision: treatment, strategy priority, score, and agent work first (0) or not (1)."""
    from qingshou.strategy.models import AGENT_TREATMENTS

    return qs.annotate(
        treatment=F("strategy__treatment"),
        strategy_priority=Coalesce(F("strategy__priority"), Value(DEFAULT_STRATEGY_PRIORITY)),
        strategy_score=F("strategy__score"),
        strategy_value=F("strategy__value"),
        agent_last=When_(
            When(Q(strategy__isnull=True) | Q(strategy__treatment__in=AGENT_TREATMENTS), then=Value(0)),
            default=Value(1), output_field=IntegerField(),
        ),
    )
