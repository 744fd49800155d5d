"""Demo data for skip tracing: the nightly detection over the demo portfolio, then a few leads from lawful
sources on some of the lost cases (one verified, so the report shows a recovery)."""

from __future__ import annotations

import random


def demo_skiptrace(acting_user=None, *, seed: int = 6, leads: int = 12) -> dict:
    from qingshou.core.errors import ActionError
    from qingshou.skiptrace.actions import detect_lost_contact, do_add_lead
    from qingshou.skiptrace.models import LostContact
    from qingshou.skiptrace.sources import LAWFUL_SOURCES

    found = detect_lost_contact()
    rng = random.Random(seed)
    flags = list(LostContact.objects.filter(cleared_at__isnull=True).select_related("case__debtor",
                                                                                   "case__assigned_to")
                 .order_by("pk")[:leads])
    added = 0
    for i, flag in enumerate(flags):
        number = f"{rng.choice(('139', '138', '186', '177'))}{rng.randrange(10**8):08d}"
        try:
            do_add_lead(flag.case, kind="phone", source=LAWFUL_SOURCES[i % len(LAWFUL_SOURCES)], number=number,
                        verification="verified" if i % 3 == 0 else "unverified",
                        acting_user=flag.case.assigned_to or acting_user, note="演示数据")
            added += 1
        except ActionError:
            continue
    return {**found, "leads": added}
