"""Periodic jobs, safe to run from several scheduler processes at once.

Each registered job has an interval and one `core.SchedulerRun` row holding when it is next due.
A scheduler claims a due job with a conditional UPDATE on (pk, due_at): exactly one of several
schedulers reading the same row moves its due time on, and only that one runs the job. Jobs
themselves claim the rows they work on the same way, and hand real work to tasks.

Apps add jobs by registering them in a `jobs.py` module (found by autodiscovery):

    from qingshou.core.scheduler import job

    @job("reports.nightly", every=3600)
    def nightly(now): ...

A job takes the current time and returns something JSON-serialisable (stored in last_result).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.module_loading import autodiscover_modules

from qingshou.core.models import SchedulerRun
from qingshou.core.tasks import enqueue_on_commit, reap_stale_tasks

logger = logging.getLogger("qingshou.scheduler")


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[datetime], Any]
    interval: timedelta


JOBS: dict[str, Job] = {}


def job(name: str, *, every: int) -> Callable:
    """Register `func(now)` as the periodic job `name`, due every `every` seconds."""

    def register(func):
        JOBS[name] = Job(name=name, func=func, interval=timedelta(seconds=every))
        return func

    return register


def discover_jobs() -> dict[str, Job]:
    autodiscover_modules("jobs")
    return JOBS


# --- the jobs ---------------------------------------------------------------------------------

# A claimed promise is looked at again after this long if its task never resolved it (task lost,
# worker down, every attempt failed). Resolving it clears check_at, so a resolved one never comes back.
PROMISE_RECHECK = timedelta(hours=1)
PROMISE_CHUNK = 200


@job("payments.promise_checks", every=60)
def promise_checks(now: datetime) -> dict:
    """Claim pending promises whose check time has come; a task decides each (kept/broken)."""
    from qingshou.payments.models import Promise
    from qingshou.payments.tasks import resolve_promise

    claimed = 0
    for _ in range(50):  # at most 10,000 per run; the next run takes the rest
        due = list(
            Promise.objects.filter(status=Promise.Status.PENDING, check_at__lte=now)
            .order_by("check_at", "pk").values_list("pk", "check_at")[:PROMISE_CHUNK]
        )
        with transaction.atomic():
            for pk, check_at in due:
                n = Promise.objects.filter(pk=pk, status=Promise.Status.PENDING, check_at=check_at).update(
                    check_at=now + PROMISE_RECHECK)
                if n:
                    enqueue_on_commit(resolve_promise, pk)
                    claimed += 1
        if len(due) < PROMISE_CHUNK:
            break
    return {"claimed": claimed}


@job("portfolio.expire_case_locks", every=60)
def case_lock_expiry(now: datetime) -> dict:
    from qingshou.portfolio.actions import expire_case_locks

    return {"expired": expire_case_locks(now)}


@job("core.reap_tasks", every=300)
def task_reaper(now: datetime) -> dict:
    return reap_stale_tasks(now)


# --- the scheduler ----------------------------------------------------------------------------


def make_scheduler_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{get_random_string(6)}"[:64]


class Scheduler:
    def __init__(self, *, jobs: dict[str, Job] | None = None, scheduler_id: str | None = None):
        self.jobs = jobs if jobs is not None else discover_jobs()
        self.id = scheduler_id or make_scheduler_id()
        self.stopping = False

    def ensure_rows(self, now: datetime | None = None) -> None:
        """One SchedulerRun row per job, due at once when new. Safe when several schedulers start."""
        now = now or timezone.now()
        existing = set(SchedulerRun.objects.filter(job__in=self.jobs).values_list("job", flat=True))
        missing = [SchedulerRun(job=name, due_at=now) for name in self.jobs if name not in existing]
        if missing:
            SchedulerRun.objects.bulk_create(missing, ignore_conflicts=True)

    def claim(self, row: SchedulerRun, now: datetime | None = None) -> bool:
        """Take the job for this run: True for exactly one scheduler reading the same due_at."""
        now = now or timezone.now()
        job_ = self.jobs[row.job]
        n = SchedulerRun.objects.filter(pk=row.pk, due_at=row.due_at).update(
            due_at=now + job_.interval, claimed_by=self.id, last_started_at=now)
        return n == 1

    def due_rows(self, now: datetime, *, force: bool = False) -> list[SchedulerRun]:
        rows = SchedulerRun.objects.filter(job__in=self.jobs).order_by("due_at", "job")
        if not force:
            rows = rows.filter(due_at__lte=now)
        return list(rows)

    def run_job(self, row: SchedulerRun, now: datetime) -> Any:
        job_ = self.jobs[row.job]
        started = time.monotonic()
        try:
            result = job_.func(now)
            if not isinstance(result, dict):
                result = {"result": result}
            logger.info("job %s done in %.2fs: %s", job_.name, time.monotonic() - started, result)
        except Exception as exc:
            logger.exception("job %s failed after %.2fs", job_.name, time.monotonic() - started)
            result = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        SchedulerRun.objects.filter(pk=row.pk, claimed_by=self.id).update(
            last_finished_at=timezone.now(), last_result=result)
        return result

    def run_due(self, now: datetime | None = None, *, force: bool = False) -> dict[str, Any]:
        """Claim and run every due job (every job with force). Returns {job: result} of those run here."""
        now = now or timezone.now()
        self.ensure_rows(now)
        results: dict[str, Any] = {}
        for row in self.due_rows(now, force=force):
            if self.stopping:
                break
            if not self.claim(row, now):
                logger.debug("job %s claimed by another scheduler", row.job)
                continue
            results[row.job] = self.run_job(row, now)
        return results

    def seconds_until_due(self, now: datetime | None = None) -> float | None:
        now = now or timezone.now()
        first = SchedulerRun.objects.filter(job__in=self.jobs).order_by("due_at").values_list(
            "due_at", flat=True).first()
        if first is None:
            return None
        return max(0.0, (first - now).total_seconds())
