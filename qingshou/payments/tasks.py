"""Background tasks of the payments app. Each calls an action; none writes models itself."""

from qingshou.core.tasks import retrying_task
from qingshou.payments.actions import do_resolve_promise
from qingshou.payments.models import Promise


@retrying_task(give_up_on=(Promise.DoesNotExist,))
def resolve_promise(promise_id: int) -> str:
    """Decide a pending promise past its grace period: kept when payments cover it, else broken."""
    return do_resolve_promise(promise_id)
