"""Team figures for the leader's page, computed from the records (no stored counters).

Per collector of the team, for one local day: contact attempts, connected, right-party contacts,
contact rate (connected / attempts), promises taken (not counting cancelled or superseded ones) and
their amount, deceased and suspected-fraud holds placed, and the cases whose first call is overdue now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from qingshou.contact.models import ContactAttempt
from qingshou.org.models import Role, Team, User
from qingshou.payments.models import Promise
from qingshou.portfolio.models import Case, CaseHold, CaseStatus, HoldReason

# The kept rate looks at promises decided over this many days up to the chosen day (one day is too few).
KEPT_RATE_DAYS = 30


@dataclass
class Figures:
    attempts: int = 0
    connected: int = 0
    right_party: int = 0
    promises: int = 0
    promised_amount: Decimal = field(default_factory=lambda: Decimal("0.00"))
    deceased: int = 0
    fraud: int = 0
    first_call_overdue: int = 0
    # Promises taken by the collector and decided (kept, partly kept, broken) in the KEPT_RATE_DAYS up to the day.
    promises_resolved: int = 0
    promises_kept: int = 0

    @property
    def contact_rate(self) -> float | None:
        return self.connected / self.attempts if self.attempts else None

    @property
    def kept_rate(self) -> float | None:
        return self.promises_kept / self.promises_resolved if self.promises_resolved else None

    def add(self, other: Figures) -> None:
        for name in (
            "attempts",
            "connected",
            "right_party",
            "promises",
            "promised_amount",
            "deceased",
            "fraud",
            "first_call_overdue",
            "promises_resolved",
            "promises_kept",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class CollectorRow:
    user: User
    figures: Figures


@dataclass
class TeamFigures:
    team: Team
    day: date
    rows: list[CollectorRow]
    totals: Figures

    @property
    def kept_rate_days(self) -> int:
        return KEPT_RATE_DAYS


def day_window(day: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = datetime.combine(day, time(0, 0), tzinfo=tz)
    return start, start + timedelta(days=1)


def team_figures(team: Team, day: date | None = None) -> TeamFigures:
    day = day or timezone.localdate()
    start, end = day_window(day)
    members = list(
        User.objects.filter(team=team, is_active=True, role__in=[Role.COLLECTOR, Role.TEAM_LEADER]).order_by(
            "role", "username"
        )
    )
    ids = [u.pk for u in members]
    figs = {pk: Figures() for pk in ids}

    for row in (
        ContactAttempt.objects.filter(collector_id__in=ids, started_at__gte=start, started_at__lt=end)
        .values("collector_id")
        .annotate(
            n=Count("id"),
            conn=Count("id", filter=Q(outcome__connected=True)),
            rpc=Count("id", filter=Q(outcome__right_party=True)),
        )
    ):
        f = figs[row["collector_id"]]
        f.attempts, f.connected, f.right_party = row["n"], row["conn"], row["rpc"]

    for row in (
        Promise.objects.filter(created_by_id__in=ids, created_at__gte=start, created_at__lt=end)
        .exclude(status=Promise.Status.CANCELLED)
        .values("created_by_id")
        .annotate(n=Count("id"), amount=Sum("amount"))
    ):
        f = figs[row["created_by_id"]]
        f.promises, f.promised_amount = row["n"], row["amount"] or Decimal("0.00")

    for row in (
        CaseHold.objects.filter(
            placed_by_id__in=ids,
            placed_at__gte=start,
            placed_at__lt=end,
            reason__in=[HoldReason.DECEASED, HoldReason.FRAUD],
        )
        .values("placed_by_id", "reason")
        .annotate(n=Count("id"))
    ):
        f = figs[row["placed_by_id"]]
        if row["reason"] == HoldReason.DECEASED:
            f.deceased = row["n"]
        else:
            f.fraud = row["n"]

    cutoff = timezone.now() - timedelta(days=settings.FIRST_CALL_DAYS)
    for row in (
        Case.objects.filter(
            team=team,
            status=CaseStatus.ACTIVE,
            assigned_to_id__in=ids,
            first_contact_at__isnull=True,
            assigned_at__lte=cutoff,
        )
        .values("assigned_to_id")
        .annotate(n=Count("id"))
    ):
        figs[row["assigned_to_id"]].first_call_overdue = row["n"]

    resolved_from = end - timedelta(days=KEPT_RATE_DAYS)
    for row in (
        Promise.objects.filter(created_by_id__in=ids, resolved_at__gte=resolved_from, resolved_at__lt=end,
                               status__in=[Promise.Status.KEPT, Promise.Status.PARTLY_KEPT, Promise.Status.BROKEN])
        .values("created_by_id")
        .annotate(n=Count("id"), kept=Count("id", filter=Q(status=Promise.Status.KEPT)))
    ):
        f = figs[row["created_by_id"]]
        f.promises_resolved, f.promises_kept = row["n"], row["kept"]

    totals = Figures()
    rows = []
    for u in members:
        totals.add(figs[u.pk])
        rows.append(CollectorRow(user=u, figures=figs[u.pk]))
    return TeamFigures(team=team, day=day, rows=rows, totals=totals)
