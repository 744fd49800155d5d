"""Figures for the compliance screens, computed from stored decisions (ComplianceDecision).

`refusals_by_rule(days, scope_qs)` counts refused decisions per rule per local day. The rule ids
live in the `reasons` JSON list; JSON functions differ between SQLite and PostgreSQL, so the rows
of the period (refusals only, date-filtered on an indexed column) are read with one values_list
and counted in Python. A decision refused by two rules counts once under each rule, and once in
the day's total.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone


@dataclass
class RefusalTable:
    days: list[date]                                   # newest first
    rules: list[str]                                   # most refusals first, then by id
    counts: dict[tuple[date, str], int] = field(default_factory=dict)
    day_totals: dict[date, int] = field(default_factory=dict)      # refused decisions per day
    rule_totals: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def rows(self):
        """[(day, [count per rule], day total)] in `days` order, for templates."""
        return [(d, [self.counts.get((d, r), 0) for r in self.rules], self.day_totals.get(d, 0))
                for d in self.days]


def period_start(days: int, today: date | None = None) -> tuple[date, datetime]:
    """First local day of a `days`-day period ending today, and its aware midnight."""
    today = today or timezone.localdate()
    first = today - timedelta(days=max(1, days) - 1)
    return first, timezone.make_aware(datetime.combine(first, time.min))


def refusals_by_rule(days: int, scope_qs: QuerySet, *, today: date | None = None) -> RefusalTable:
    """Refusals per rule per local day for the last `days` days (today included) of `scope_qs`."""
    today = today or timezone.localdate()
    first, since = period_start(days, today)
    rows = (
        scope_qs.filter(allowed=False, decided_at__gte=since)
        .order_by()
        .values_list("decided_at", "reasons")
        .iterator(chunk_size=2000)
    )
    tz = timezone.get_current_timezone()
    counts: Counter = Counter()
    day_totals: Counter = Counter()
    rule_totals: Counter = Counter()
    for decided_at, reasons in rows:
        day = decided_at.astimezone(tz).date()
        if day < first or day > today:
            continue
        day_totals[day] += 1
        seen = set()
        for reason in reasons or []:
            rule = reason.get("rule") if isinstance(reason, dict) else None
            if not rule or rule in seen:
                continue
            seen.add(rule)
            counts[(day, rule)] += 1
            rule_totals[rule] += 1
    day_list = [today - timedelta(days=i) for i in range((today - first).days + 1)]
    rules = sorted(rule_totals, key=lambda r: (-rule_totals[r], r))
    return RefusalTable(days=day_list, rules=rules, counts=dict(counts), day_totals=dict(day_totals),
                        rule_totals=dict(rule_totals), total=sum(day_totals.values()))


def filter_by_rule(qs: QuerySet, rule: str) -> QuerySet:
    """Decisions whose reasons name `rule` (exactly), on SQLite and PostgreSQL."""
    rule = str(rule)
    if connection.features.supports_json_field_contains:
        return qs.filter(reasons__contains=[{"rule": rule}])
    # SQLite: the JSON text as stored by Django's encoder ('"rule": "<id>"'); ids are ASCII.
    import json

    needle = '"rule": ' + json.dumps(rule)
    return qs.annotate(_reasons_text=Cast("reasons", TextField())).filter(_reasons_text__contains=needle)


RECENT_REASON_SETS = 5000


def recent_rule_ids(scope_qs: QuerySet, days: int = 30) -> list[str]:
    """Rule ids seen in refusals of the last `days` days (choices for the decision-log filter).

    Reads distinct reason lists only (few: the same rules give the same messages), capped.
    """
    _first, since = period_start(days)
    seen: set[str] = set()
    reason_sets = (scope_qs.filter(allowed=False, decided_at__gte=since).order_by()
                   .values_list("reasons", flat=True).distinct()[:RECENT_REASON_SETS])
    for reasons in reason_sets:
        for reason in reasons or []:
            if isinstance(reason, dict) and reason.get("rule"):
                seen.add(str(reason["rule"]))
    return sorted(seen)
