"""The scheduler: exclusive claims by conditional UPDATE, and the jobs (promise checks, lock expiry)."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone, translation
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from qingshou.core.models import AuditLog, SchedulerRun
from qingshou.core.scheduler import JOBS, PROMISE_RECHECK, Job, Scheduler, promise_checks
from qingshou.payments.actions import do_make_promise, do_record_payment
from qingshou.payments.models import Promise
from qingshou.portfolio.models import Case, CaseEvent

CALLS: list[str] = []


def counting_job(now):
    CALLS.append("counting")
    return {"ran": True}


def broken_job(now):
    raise RuntimeError("boom")


def make_jobs(**kw):
    return {name: Job(name=name, func=func, interval=timedelta(seconds=60))
            for name, func in {"test.counting": counting_job, "test.broken": broken_job, **kw}.items()}


def run_worker(capture):
    worker = Worker(queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
                    max_tasks=None, worker_id="test-worker", excluded_queue_names=[])
    # The worker drops "old" connections between tasks; inside the test's transaction that would
    # close the connection under it (PostgreSQL, CONN_MAX_AGE), so keep it for the in-process run.
    with capture(execute=True), mock.patch(f"{Worker.__module__}.close_old_connections"):
        worker.run()


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()


def test_registry_has_the_periodic_jobs():
    assert {"payments.promise_checks", "portfolio.expire_case_locks", "core.reap_tasks"} <= set(JOBS)


def test_claim_is_exclusive_between_two_schedulers(db):
    jobs = make_jobs()
    one = Scheduler(jobs=jobs, scheduler_id="one")
    two = Scheduler(jobs=jobs, scheduler_id="two")
    now = timezone.now()
    one.ensure_rows(now)
    two.ensure_rows(now)  # a second scheduler starting does not duplicate rows
    assert SchedulerRun.objects.count() == 2

    row_seen_by_one = SchedulerRun.objects.get(job="test.counting")
    row_seen_by_two = SchedulerRun.objects.get(job="test.counting")
    assert one.claim(row_seen_by_one, now) is True
    # Two read the same due_at; its conditional UPDATE now matches no row.
    assert two.claim(row_seen_by_two, now) is False
    row = SchedulerRun.objects.get(job="test.counting")
    assert row.claimed_by == "one"
    assert row.due_at == now + timedelta(seconds=60)
    assert row.last_started_at == now


def test_due_jobs_run_once_across_schedulers_and_again_after_interval(db):
    jobs = make_jobs()
    one = Scheduler(jobs=jobs, scheduler_id="one")
    two = Scheduler(jobs=jobs, scheduler_id="two")
    now = timezone.now()
    results = one.run_due(now)
    assert set(results) == {"test.counting", "test.broken"}
    assert two.run_due(now) == {}
    assert two.run_due(now + timedelta(seconds=30)) == {}
    assert CALLS == ["counting"]
    assert set(two.run_due(now + timedelta(seconds=61))) == {"test.counting", "test.broken"}
    assert CALLS == ["counting", "counting"]
    assert SchedulerRun.objects.get(job="test.counting").claimed_by == "two"


def test_a_failing_job_is_recorded_and_does_not_stop_the_others(db):
    results = Scheduler(jobs=make_jobs(), scheduler_id="one").run_due()
    assert results["test.broken"] == {"error": "RuntimeError: boom"}
    assert results["test.counting"] == {"ran": True}
    row = SchedulerRun.objects.get(job="test.broken")
    assert row.last_result == {"error": "RuntimeError: boom"}
    assert row.last_finished_at is not None
    assert SchedulerRun.objects.get(job="test.counting").last_result == {"ran": True}


def test_force_runs_jobs_not_yet_due(db):
    s = Scheduler(jobs=make_jobs(), scheduler_id="one")
    s.run_due()
    assert s.run_due() == {}
    assert set(s.run_due(force=True)) == {"test.counting", "test.broken"}
    assert s.seconds_until_due() > 50


def _promise_due_today(world, amount=Decimal("3000.00")):
    """A promise made today, due today; checked after the grace day (PROMISE_GRACE_DAYS=1)."""
    return do_make_promise(world.case, amount=amount, due_date=timezone.localdate(),
                           acting_user=world.collector)


def test_promise_without_payment_ends_broken(office_hours, world, settings, on_commit):
    settings.PROMISE_GRACE_DAYS = 1
    promise = _promise_due_today(world)
    assert promise.check_at > timezone.now()

    # Before due + grace nothing happens.
    office_hours.shift(timedelta(days=1))
    with on_commit(execute=True):
        call_command("scheduler", "--once")
    assert not DBTaskResult.objects.exists()

    office_hours.shift(timedelta(days=2))
    with on_commit(execute=True):
        call_command("scheduler", "--once", "--all")
    assert DBTaskResult.objects.count() == 1
    run_worker(on_commit)

    promise.refresh_from_db()
    assert promise.status == Promise.Status.BROKEN
    assert promise.check_at is None
    assert CaseEvent.objects.filter(case=world.case, type=CaseEvent.Type.PROMISE_BROKEN,
                                    data__promise_id=promise.pk).exists()
    assert AuditLog.objects.filter(action="promise.broken", object_id=str(promise.pk)).exists()
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_promise_covered_by_payment_ends_kept(office_hours, world, settings, on_commit):
    settings.PROMISE_GRACE_DAYS = 1
    # Paid earlier the same day, before the promise was taken: only the scheduler's check sees it.
    do_record_payment(world.case, amount=Decimal("3000.00"), paid_at=timezone.now() - timedelta(hours=1),
                      source_ref="PAY-1")
    promise = _promise_due_today(world)
    assert promise.status == Promise.Status.PENDING

    office_hours.shift(timedelta(days=3))
    with on_commit(execute=True):
        promise_checks(timezone.now())
    run_worker(on_commit)

    promise.refresh_from_db()
    assert promise.status == Promise.Status.KEPT
    assert promise.paid_amount == Decimal("3000.00")
    assert CaseEvent.objects.filter(case=world.case, type=CaseEvent.Type.PROMISE_KEPT).exists()


def test_promise_claim_is_exclusive_and_pushes_check_at(office_hours, world, on_commit):
    promise = _promise_due_today(world)
    office_hours.shift(timedelta(days=3))
    now = timezone.now()
    with on_commit(execute=True):
        assert promise_checks(now) == {"claimed": 1}
        assert promise_checks(now) == {"claimed": 0}  # a second scheduler finds nothing left to claim
    promise.refresh_from_db()
    assert promise.check_at == now + PROMISE_RECHECK
    assert DBTaskResult.objects.count() == 1
    # If the task never resolved it, the promise comes back after the recheck delay.
    with on_commit(execute=True):
        assert promise_checks(now + PROMISE_RECHECK) == {"claimed": 1}
    run_worker(on_commit)
    promise.refresh_from_db()
    assert promise.status == Promise.Status.BROKEN
    # Both tasks ran; the second found it already resolved. Once resolved it is never claimed again.
    assert list(DBTaskResult.objects.values_list("status", flat=True)) == ["SUCCESSFUL", "SUCCESSFUL"]
    assert promise_checks(now + 3 * PROMISE_RECHECK) == {"claimed": 0}


def test_promises_not_pending_are_ignored(office_hours, world, on_commit):
    promise = _promise_due_today(world)
    Promise.objects.filter(pk=promise.pk).update(status=Promise.Status.CANCELLED)
    office_hours.shift(timedelta(days=3))
    with on_commit(execute=True):
        assert promise_checks(timezone.now()) == {"claimed": 0}
    assert not DBTaskResult.objects.exists()


def test_lock_expiry_job_clears_stale_locks_only(world, on_commit):
    now = timezone.now()
    Case.objects.filter(pk=world.case.pk).update(locked_by=world.collector,
                                                 locked_until=now - timedelta(minutes=1))
    Case.objects.filter(pk=world.case_peer.pk).update(locked_by=world.collector_peer,
                                                      locked_until=now + timedelta(minutes=5))
    with on_commit(execute=True):
        call_command("scheduler", "--once")
    stale = Case.objects.get(pk=world.case.pk)
    assert stale.locked_by is None and stale.locked_until is None
    fresh = Case.objects.get(pk=world.case_peer.pk)
    assert fresh.locked_by == world.collector_peer
    assert SchedulerRun.objects.get(job="portfolio.expire_case_locks").last_result == {"expired": 1}


def test_scheduler_once_reports_when_nothing_is_due(db, capsys, settings):
    call_command("scheduler", "--once")
    first = capsys.readouterr().out
    assert "payments.promise_checks" in first
    call_command("scheduler", "--once")
    with translation.override(settings.LANGUAGE_CODE):
        assert translation.gettext("No job was due.") in capsys.readouterr().out
