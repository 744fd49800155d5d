"""Background work of the letters app: rendering a batch (each case in its own transaction)."""

from qingshou.core.tasks import retrying_task
from qingshou.letters.models import LetterBatch


@retrying_task(give_up_on=(LetterBatch.DoesNotExist,))
def run_letter_batch_task(batch_id: int) -> dict:
    """Render the batch's letters; idempotent (a retry continues with the cases not yet done)."""
    from qingshou.letters.actions import run_letter_batch

    return run_letter_batch(batch_id)
