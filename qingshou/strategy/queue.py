"""The collector's work queue and its priority order.

Order (seed 000 and the issue): promises due today or overdue first, then cases whose first call is
overdue (first call within FIRST_CALL_DAYS of assignment), then the largest balance.
The strategy issue replaces the ordering with scored treatments behind this same function.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Case as When_
from django.db.models import Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from qingshou.core.scoping import visible_cases
from qingshou.payments.models import Promise
from qingshou.portfolio.models import CaseHold, CaseStatus

PRIORITY_PROMISE_DUE = 0
PRIORITY_FIRST_CALL_OVERDUE = 1
PRIORITY_NORMAL = 2


def annotate_priority(qs: QuerySet) -> QuerySet:
    now = timezone.now()
    today = timezone.localdate()
    first_call_cutoff = now - timedelta(days=settings.FIRST_CALL_DAYS)
    promise_due = Promise.objects.filter(case=OuterRef("pk"), status=Promise.Status.PENDING, due_date__lte=today)
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
    return qs.order_by("priority", "-total_due", "pk")
