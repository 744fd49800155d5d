"""Background work: retry with back-off, the reaper for tasks of killed workers, enqueue on commit."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.tasks.base import TaskResultStatus
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from qingshou.core.tasks import (
    ATTEMPT_KWARG,
    WORKER_LOST_PATH,
    attempt_of,
    enqueue_on_commit,
    reap_stale_tasks,
    reap_task_row,
    retry_delay,
    retrying_task,
    stale_task_rows,
)

CALLS: dict[str, int] = {}


@retrying_task(max_attempts=3)
def flaky(key: str, fail_times: int = 1) -> str:
    """Fails the first `fail_times` calls for `key`, then succeeds."""
    CALLS[key] = CALLS.get(key, 0) + 1
    if CALLS[key] <= fail_times:
        raise RuntimeError(f"flaky failure {CALLS[key]} for {key}")
    return f"ok after {CALLS[key]}"


@retrying_task(max_attempts=2)
def always_fails(key: str) -> None:
    CALLS[key] = CALLS.get(key, 0) + 1
    raise RuntimeError("always")


@retrying_task
def fails_by_default(key: str) -> None:
    CALLS[key] = CALLS.get(key, 0) + 1
    raise RuntimeError("default limits")


@retrying_task(give_up_on=(LookupError,))
def gives_up(key: str) -> None:
    CALLS[key] = CALLS.get(key, 0) + 1
    raise KeyError(key)


def run_worker(capture) -> None:
    """Run django-tasks-db's own worker in-process until no task is ready.

    Retries are enqueued through transaction.on_commit; inside the test's transaction those
    callbacks are captured and executed when the worker is done.
    """
    worker = Worker(queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
                    max_tasks=None, worker_id="test-worker", excluded_queue_names=[])
    # The worker drops "old" connections between tasks; inside the test's transaction that would
    # close the connection under it (PostgreSQL, CONN_MAX_AGE), so keep it for the in-process run.
    with capture(execute=True), mock.patch(f"{Worker.__module__}.close_old_connections"):
        worker.run()


def rows(task_path_suffix: str):
    return list(DBTaskResult.objects.filter(task_path__endswith=task_path_suffix).order_by("enqueued_at"))


@pytest.fixture(autouse=True)
def _task_settings(settings):
    settings.TASK_RETRY_BASE_SECONDS = 10
    settings.TASK_RETRY_MAX_SECONDS = 3600
    settings.TASK_MAX_ATTEMPTS = 5
    settings.TASK_STALE_AFTER_SECONDS = 900
    CALLS.clear()


def test_retry_delay_doubles_and_is_capped():
    assert [retry_delay(n, 10, 3600, jitter=False) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert retry_delay(20, 10, 3600, jitter=False) == 3600
    for _ in range(50):
        assert 10 <= retry_delay(1, 10, 3600) <= 11


def test_failed_task_is_retried_with_backoff_then_succeeds(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(flaky, "a")
    before = timezone.now()
    run_worker(django_capture_on_commit_callbacks)

    first, second = rows(".flaky")
    assert first.status == TaskResultStatus.FAILED
    assert "flaky failure 1 for a" in first.traceback
    assert first.exception_class_path == "builtins.RuntimeError"
    assert attempt_of(first) == 1
    assert second.status == TaskResultStatus.READY
    assert attempt_of(second) == 2
    assert second.args_kwargs == {"args": ["a"], "kwargs": {ATTEMPT_KWARG: 2}}
    # now + base delay (10 s) plus at most 10 % jitter
    assert before + timedelta(seconds=10) <= second.run_after <= timezone.now() + timedelta(seconds=11.1)

    # Not due yet: another worker pass leaves it alone.
    run_worker(django_capture_on_commit_callbacks)
    assert DBTaskResult.objects.get(pk=second.pk).status == TaskResultStatus.READY
    assert CALLS["a"] == 1

    DBTaskResult.objects.filter(pk=second.pk).update(run_after=timezone.now() - timedelta(seconds=1))
    run_worker(django_capture_on_commit_callbacks)
    second.refresh_from_db()
    assert second.status == TaskResultStatus.SUCCESSFUL
    assert second.return_value == "ok after 2"
    assert len(rows(".flaky")) == 2


def test_second_retry_waits_twice_as_long(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(flaky, "b", fail_times=2)
    run_worker(django_capture_on_commit_callbacks)
    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=timezone.now())
    before = timezone.now()
    run_worker(django_capture_on_commit_callbacks)
    third = rows(".flaky")[-1]
    assert attempt_of(third) == 3
    assert third.status == TaskResultStatus.READY
    assert before + timedelta(seconds=20) <= third.run_after <= timezone.now() + timedelta(seconds=22.1)


def test_max_attempts_respected(db, django_capture_on_commit_callbacks):
    always_fails.enqueue("c")
    for _ in range(4):
        DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=timezone.now())
        run_worker(django_capture_on_commit_callbacks)
    results = rows(".always_fails")
    assert [r.status for r in results] == [TaskResultStatus.FAILED, TaskResultStatus.FAILED]
    assert [attempt_of(r) for r in results] == [1, 2]
    assert CALLS["c"] == 2


def test_max_attempts_defaults_to_setting(db, settings, django_capture_on_commit_callbacks):
    settings.TASK_MAX_ATTEMPTS = 2
    fails_by_default.enqueue("d")
    for _ in range(3):
        DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=timezone.now())
        run_worker(django_capture_on_commit_callbacks)
    assert [r.status for r in rows(".fails_by_default")] == [TaskResultStatus.FAILED] * 2
    assert CALLS["d"] == 2


def test_give_up_on_is_not_retried(db, django_capture_on_commit_callbacks):
    gives_up.enqueue("e")
    run_worker(django_capture_on_commit_callbacks)
    assert [r.status for r in rows(".gives_up")] == [TaskResultStatus.FAILED]
    assert CALLS["e"] == 1


def test_enqueue_on_commit_waits_for_commit(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with transaction.atomic():
            enqueue_on_commit(flaky, "f")
        assert not DBTaskResult.objects.exists()
    assert len(callbacks) == 1
    callbacks[0]()
    assert DBTaskResult.objects.get().args_kwargs == {"args": ["f"], "kwargs": {}}


def _running_row(key: str, *, started_ago: timedelta, workers: int):
    result = flaky.enqueue(key)
    DBTaskResult.objects.filter(pk=result.id).update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now() - started_ago,
        worker_ids=[f"dead-worker-{i}" for i in range(workers)])
    return DBTaskResult.objects.get(pk=result.id)


def test_reaper_requeues_fails_and_leaves_fresh_rows(db, django_capture_on_commit_callbacks):
    stale = _running_row("stale", started_ago=timedelta(hours=1), workers=1)
    exhausted = _running_row("exhausted", started_ago=timedelta(hours=1), workers=5)
    fresh = _running_row("fresh", started_ago=timedelta(seconds=30), workers=1)
    done = flaky.enqueue("done")
    DBTaskResult.objects.filter(pk=done.id).update(status=TaskResultStatus.SUCCESSFUL,
                                                   started_at=timezone.now() - timedelta(hours=2))

    assert reap_stale_tasks() == {"requeued": 1, "failed": 1}

    stale.refresh_from_db()
    assert stale.status == TaskResultStatus.READY
    exhausted.refresh_from_db()
    assert exhausted.status == TaskResultStatus.FAILED
    assert exhausted.exception_class_path == WORKER_LOST_PATH
    assert "died while running this task" in exhausted.traceback
    assert exhausted.finished_at is not None
    fresh.refresh_from_db()
    assert fresh.status == TaskResultStatus.RUNNING
    assert DBTaskResult.objects.get(pk=done.id).status == TaskResultStatus.SUCCESSFUL
    # A failed row from the reaper reads back as a normal failed task result.
    assert exhausted.task_result.errors[0].exception_class.__name__ == "WorkerLost"

    # Nothing left to reap; the requeued row then runs to completion on a live worker.
    assert reap_stale_tasks() == {"requeued": 0, "failed": 0}
    CALLS["stale"] = 1  # the dead worker's attempt "used up" the first failure
    run_worker(django_capture_on_commit_callbacks)
    stale.refresh_from_db()
    assert stale.status == TaskResultStatus.SUCCESSFUL
    assert stale.worker_ids == ["dead-worker-0", "test-worker"]


def test_reaper_update_is_conditional(db):
    """A row finished (or reaped by another scheduler) after the reaper read it is left alone."""
    finished = _running_row("race-finished", started_ago=timedelta(hours=1), workers=1)
    taken = _running_row("race-taken", started_ago=timedelta(hours=1), workers=1)
    now = timezone.now()
    seen = stale_task_rows(now)
    assert {r[0] for r in seen} == {finished.pk, taken.pk}
    # Meanwhile: the slow worker finishes one; another reaper requeues the other and a worker claims it.
    DBTaskResult.objects.filter(pk=finished.pk).update(status=TaskResultStatus.SUCCESSFUL, finished_at=now)
    assert reap_task_row(next(r for r in seen if r[0] == taken.pk), now) == "requeued"
    DBTaskResult.objects.filter(pk=taken.pk).update(status=TaskResultStatus.RUNNING, started_at=now)

    assert [reap_task_row(r, now) for r in seen] == [None, None]
    assert DBTaskResult.objects.get(pk=finished.pk).status == TaskResultStatus.SUCCESSFUL
    assert DBTaskResult.objects.get(pk=taken.pk).status == TaskResultStatus.RUNNING


def test_reap_tasks_command(db, capsys):
    from django.core.management import call_command

    _running_row("cmd", started_ago=timedelta(hours=1), workers=1)
    call_command("reap_tasks")
    out = capsys.readouterr().out
    assert "1" in out and "0" in out
    assert reap_stale_tasks() == {"requeued": 0, "failed": 0}
