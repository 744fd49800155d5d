"""Background work on Django's `django.tasks` API (backend: django-tasks-db), plus what it lacks.

django-tasks-db runs each enqueued row once and records SUCCESSFUL or FAILED. This module adds:

* `retrying_task`: a task decorator whose failure enqueues a fresh attempt after an exponential
  back-off (capped, with jitter), carrying the attempt number in the `_attempt` keyword, until
  `max_attempts`. The failed attempt stays in the table as FAILED with its traceback, as usual.
* `reap_stale_tasks`: rows left RUNNING by a killed worker are put back to READY (or, after too many
  attempts, marked FAILED) by conditional UPDATE, so several reapers never fight over one row.
* `enqueue_on_commit`: the only way actions enqueue work: after their transaction commits.

Tasks must be idempotent: a retry or a reaped row runs the task again, and a task's body calls
actions (which lock and re-check state) rather than writing models itself.
"""

from __future__ import annotations

import functools
import logging
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME, task
from django.tasks.base import DEFAULT_TASK_PRIORITY, Task, TaskResultStatus
from django.utils import timezone

logger = logging.getLogger("qingshou.tasks")

ATTEMPT_KWARG = "_attempt"
# Added on top of the computed delay, as a fraction of it, so retries of a burst spread out.
JITTER_FRACTION = 0.1


class WorkerLost(Exception):
    """Recorded as the exception of a task whose worker died while running it (see reap_stale_tasks)."""


WORKER_LOST_PATH = f"{WorkerLost.__module__}.{WorkerLost.__qualname__}"


def retry_delay(attempt: int, base_delay: float, max_delay: float, *, jitter: bool = True) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): base * 2**(attempt-1), capped."""
    delay = min(float(max_delay), float(base_delay) * 2 ** max(0, attempt - 1))
    if jitter:
        delay += random.uniform(0, delay * JITTER_FRACTION)
    return delay


def retrying_task(
    function=None,
    *,
    max_attempts: int | None = None,
    base_delay: float | None = None,
    max_delay: float | None = None,
    give_up_on: tuple[type[BaseException], ...] = (),
    priority: int = DEFAULT_TASK_PRIORITY,
    queue_name: str = DEFAULT_TASK_QUEUE_NAME,
    backend: str = DEFAULT_TASK_BACKEND_ALIAS,
) -> Task:
    """Like `django.tasks.task`, but a failing run enqueues the next attempt with back-off.

    None for max_attempts / base_delay / max_delay means settings.TASK_MAX_ATTEMPTS /
    TASK_RETRY_BASE_SECONDS / TASK_RETRY_MAX_SECONDS, read when the task runs (so they follow the
    environment and test overrides). Exceptions listed in `give_up_on` are not retried (e.g. the
    object no longer exists). The exception is always re-raised, so the worker records the attempt
    as FAILED with its traceback.
    """

    def decorate(func):
        @functools.wraps(func)
        def run(*args, **kwargs):
            attempt = int(kwargs.pop(ATTEMPT_KWARG, 1))
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                _schedule_retry(the_task, args, kwargs, attempt, exc)
                raise

        def _schedule_retry(the_task, args, kwargs, attempt, exc):
            limit = max_attempts if max_attempts is not None else settings.TASK_MAX_ATTEMPTS
            if isinstance(exc, give_up_on):
                logger.warning("task %s attempt %d failed with %r: not retried", the_task.name, attempt, exc)
                return
            if attempt >= limit:
                logger.error("task %s attempt %d/%d failed with %r: giving up",
                             the_task.name, attempt, limit, exc)
                return
            if not the_task.get_backend().supports_defer:
                # e.g. the ImmediateBackend: no later run is possible; the caller sees the error.
                logger.error("task %s attempt %d failed with %r: backend cannot defer, not retried",
                             the_task.name, attempt, exc)
                return
            base = base_delay if base_delay is not None else settings.TASK_RETRY_BASE_SECONDS
            cap = max_delay if max_delay is not None else settings.TASK_RETRY_MAX_SECONDS
            run_after = timezone.now() + timedelta(seconds=retry_delay(attempt, base, cap))
            # The worker runs tasks outside any transaction, so this row is committed at once. If an
            # (unusual) caller runs the task inside a transaction, enqueue after it commits.
            next_kwargs = {**kwargs, ATTEMPT_KWARG: attempt + 1}
            enqueue_on_commit(the_task.using(run_after=run_after), *args, **next_kwargs)
            logger.warning("task %s attempt %d/%d failed with %r: retry at %s", the_task.name, attempt, limit,
                           exc, run_after.isoformat(timespec="seconds"))

        the_task = task(priority=priority, queue_name=queue_name, backend=backend)(run)
        return the_task

    if function is not None:
        return decorate(function)
    return decorate


def attempt_of(task_result) -> int:
    """The retry attempt number (1-based) a task result or DBTaskResult row stands for."""
    kwargs = task_result.args_kwargs["kwargs"] if hasattr(task_result, "args_kwargs") else task_result.kwargs
    return int(kwargs.get(ATTEMPT_KWARG, 1))


def enqueue_on_commit(task_obj: Task, *args, **kwargs) -> None:
    """Enqueue `task_obj(*args, **kwargs)` once the current transaction commits (at once outside one).

    Actions use this for every side effect, so a rolled-back action never leaves work behind.
    """
    transaction.on_commit(functools.partial(task_obj.enqueue, *args, **kwargs))


def reap_stale_tasks(now: datetime | None = None) -> dict:
    """Recover task rows left RUNNING by a worker that died (killed, OOM, machine lost).

    A row RUNNING since before now - TASK_STALE_AFTER_SECONDS is put back to READY when it has been
    tried fewer than TASK_MAX_ATTEMPTS times (len(worker_ids)), else marked FAILED with a traceback
    saying the worker died. Each change is a conditional UPDATE on (pk, status, started_at), so a
    row a worker finishes meanwhile, or another reaper handles, is left alone.

    A task that legitimately runs longer than TASK_STALE_AFTER_SECONDS would be run twice: keep
    tasks short and idempotent, or raise the setting.
    """
    now = now or timezone.now()
    counts = {"requeued": 0, "failed": 0}
    for row in stale_task_rows(now):
        outcome = reap_task_row(row, now)
        if outcome:
            counts[outcome] += 1
    return counts


def stale_task_rows(now: datetime, limit: int = 1000) -> list[tuple]:
    """(pk, started_at, worker_ids, task_path) of RUNNING rows older than the stale limit."""
    from django_tasks_db.models import DBTaskResult

    cutoff = now - timedelta(seconds=settings.TASK_STALE_AFTER_SECONDS)
    return list(DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff)
                .order_by("started_at").values_list("pk", "started_at", "worker_ids", "task_path")[:limit])


def reap_task_row(row: tuple, now: datetime) -> str | None:
    """Requeue or fail one stale row as read by stale_task_rows; None when it changed meanwhile."""
    from django_tasks_db.models import DBTaskResult

    pk, started_at, worker_ids, task_path = row
    attempts = len(worker_ids or [])
    limit = settings.TASK_MAX_ATTEMPTS
    since = started_at.isoformat(timespec="seconds")
    same_row = DBTaskResult.objects.filter(pk=pk, status=TaskResultStatus.RUNNING, started_at=started_at)
    if attempts < limit:
        if same_row.update(status=TaskResultStatus.READY, run_after=now):
            logger.warning("reaper: task %s (%s) running since %s, %d attempt(s): worker lost, requeued",
                           pk, task_path, since, attempts)
            return "requeued"
        return None
    traceback = (
        f"{WORKER_LOST_PATH}: the worker {(worker_ids or ['?'])[-1]} died while running this task "
        f"(RUNNING since {since}, reaped at {now.isoformat(timespec='seconds')}); "
        f"{attempts} attempt(s), limit {limit}: not retried.\n"
    )
    if same_row.update(status=TaskResultStatus.FAILED, finished_at=now, return_value=None,
                       exception_class_path=WORKER_LOST_PATH, traceback=traceback):
        logger.error("reaper: task %s (%s) running since %s, %d attempt(s): worker lost, marked failed",
                     pk, task_path, since, attempts)
        return "failed"
    return None
