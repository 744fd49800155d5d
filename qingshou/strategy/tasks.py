"""Background work of the strategy app."""

from __future__ import annotations

from qingshou.core.tasks import retrying_task


@retrying_task(max_attempts=3)
def run_strategy_task(trigger: str = "nightly", user_id: int | None = None) -> dict:
    """The full run (idempotent per published version and business date)."""
    from qingshou.org.models import User
    from qingshou.strategy.actions import run_strategy

    user = User.objects.filter(pk=user_id).first() if user_id else None
    run, ran = run_strategy(acting_user=user, trigger=trigger)
    return {"run": run.pk, "ran": ran, "cases": run.cases, "assigned": run.assigned}


@retrying_task(max_attempts=3)
def reevaluate_cases_task(case_ids: list[int]) -> int:
    from qingshou.strategy.engine import evaluate_cases

    return evaluate_cases(case_ids).cases
