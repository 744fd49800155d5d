"""Re-contact rates by source: leads found, verified, cases recovered, recovery rate, median days to recovery.

Computed from the rows (Lead, LostContact) of the cases the user may see; nothing is cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

from django.db.models import Count, Q

from qingshou.portfolio.models import Phone, Verification
from qingshou.skiptrace.models import Lead, LostContact
from qingshou.skiptrace.sources import LAWFUL_SOURCES


@dataclass
class SourceRow:
    source: str
    label: str
    leads: int = 0
    verified: int = 0
    wrong: int = 0
    lost_cases: int = 0          # lost-contact cases that got a lead from this source
    recovered: int = 0           # of those, cases recovered by this source
    median_days: float | None = None

    @property
    def rate(self) -> Decimal | None:
        if not self.lost_cases:
            return None
        return (Decimal(self.recovered * 100) / self.lost_cases).quantize(Decimal("0.1"), ROUND_HALF_UP)


def recontact_by_source(cases_qs) -> dict:
    case_ids = cases_qs.values("pk")
    leads = Lead.objects.filter(case_id__in=case_ids)
    rows = {s: SourceRow(s, str(Phone.Source(s).label)) for s in LAWFUL_SOURCES}
    for r in leads.values("source").annotate(
            n=Count("pk"), v=Count("pk", filter=Q(verification=Verification.VERIFIED)),
            w=Count("pk", filter=Q(verification=Verification.WRONG)),
            lost=Count("flag__case", filter=Q(flag__isnull=False), distinct=True)):
        row = rows.setdefault(r["source"], SourceRow(r["source"], str(Phone.Source(r["source"]).label)))
        row.leads, row.verified, row.wrong, row.lost_cases = r["n"], r["v"], r["w"], r["lost"]
    flags = LostContact.objects.filter(case_id__in=case_ids)
    days: dict[str, list[float]] = {}
    recovered_cases: dict[str, set] = {}
    for source, case_id, since, cleared in flags.filter(cleared_at__isnull=False).exclude(
            recovered_by_source="").values_list("recovered_by_source", "case_id", "since", "cleared_at"):
        days.setdefault(source, []).append((cleared - since).total_seconds() / 86400)
        recovered_cases.setdefault(source, set()).add(case_id)
    for source, ds in days.items():
        row = rows.setdefault(source, SourceRow(source, str(Phone.Source(source).label)))
        row.recovered = len(recovered_cases[source])
        row.median_days = round(median(ds), 1)
        row.lost_cases = max(row.lost_cases, row.recovered)  # recovered on a number found earlier, say
    all_days = [d for ds in days.values() for d in ds]
    totals = {
        "open": flags.filter(cleared_at__isnull=True).count(),
        "flagged": flags.count(),
        "recovered": flags.filter(cleared_at__isnull=False).count(),
        "leads": sum(r.leads for r in rows.values()),
        "median_days": round(median(all_days), 1) if all_days else None,
    }
    ordered = [rows[s] for s in LAWFUL_SOURCES] + [r for s, r in rows.items() if s not in LAWFUL_SOURCES]
    return {"rows": ordered, "totals": totals}
