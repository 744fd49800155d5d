"""Demo data for the strategy screens: one nightly run over the demo portfolio (versions seeded by migration)."""

from __future__ import annotations


def demo_strategy(acting_user=None) -> dict:
    from qingshou.strategy.actions import run_strategy

    run, ran = run_strategy(acting_user=acting_user, trigger="demo")
    return {"run": run.pk, "ran": ran, "cases": run.cases, "assigned": run.assigned}
