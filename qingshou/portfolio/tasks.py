"""Background tasks of the portfolio app. Each calls an action or a service; none writes models itself."""

from qingshou.core.tasks import retrying_task


@retrying_task(max_attempts=1)
def run_placement_import_task(import_id: int) -> str:
    """Run a pending placement import (the upload page enqueues this; the CLI runs it inline).

    One attempt: the import claims its row (pending -> running), so a second run would do nothing;
    a crash leaves no partial placement and the user starts a new import.
    """
    from qingshou.portfolio.intake import run_placement_import

    return run_placement_import(import_id).status
