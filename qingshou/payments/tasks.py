"""Background tasks of the payments app. Each calls an action; none writes models itself."""

from qingshou.core.tasks import retrying_task
from qingshou.payments.actions import do_resolve_promise
from qingshou.payments.models import Promise


@retrying_task(give_up_on=(Promise.DoesNotExist,))
def resolve_promise(promise_id: int) -> str:
    """Decide a pending promise past its grace period: kept when payments cover it, else broken."""
    return do_resolve_promise(promise_id)


@retrying_task(max_attempts=1)
def run_payment_import_task(import_id: int) -> str:
    """Run a pending repayment-file import (the upload page enqueues this)."""
    from qingshou.payments.intake import run_payment_import

    return run_payment_import(import_id).status
