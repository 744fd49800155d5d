"""`qingshou scheduler`: run the periodic jobs (see qingshou.core.scheduler). Several may run at once."""

import logging
import signal
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections
from django.utils.translation import gettext as _

from qingshou.core.scheduler import Scheduler

logger = logging.getLogger("qingshou.scheduler")


class Command(BaseCommand):
    help = "Run periodic jobs (promise checks, case-lock expiry, task reaper) until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run the jobs that are due, then exit.")
        parser.add_argument("--all", action="store_true", dest="force",
                            help="Run every job now, due or not (with --once: a manual run of everything).")
        parser.add_argument(
            "--interval", type=float, default=None,
            help="Seconds between checks for due jobs "
                 f"(default: SCHEDULER_INTERVAL_SECONDS={settings.SCHEDULER_INTERVAL_SECONDS}).")

    def handle(self, *, once, force, interval, **options):
        scheduler = Scheduler()
        if once:
            results = scheduler.run_due(force=force)
            for name, result in results.items():
                self.stdout.write(f"{name}: {result}")
            if not results:
                self.stdout.write(_("No job was due."))
            return

        interval = interval if interval is not None else settings.SCHEDULER_INTERVAL_SECONDS
        interval = max(0.1, interval)

        def stop(signum, frame):
            if scheduler.stopping:
                logger.warning("scheduler: second %s, exiting now", signal.strsignal(signum))
                sys.exit(1)
            logger.info("scheduler: %s received, stopping after the current job", signal.strsignal(signum))
            scheduler.stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        logger.info("scheduler %s started: jobs %s, checking every %ss", scheduler.id,
                    ", ".join(sorted(scheduler.jobs)), interval)
        first = True
        while not scheduler.stopping:
            close_old_connections()
            wait = interval
            try:
                scheduler.run_due(force=force and first)
                until = scheduler.seconds_until_due()
                if until is not None:
                    wait = min(interval, max(0.5, until))
            except DatabaseError:
                logger.exception("scheduler: database error; retrying in %ss", interval)
            first = False
            deadline = time.monotonic() + wait
            while not scheduler.stopping and time.monotonic() < deadline:
                time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
        close_old_connections()
        logger.info("scheduler %s stopped", scheduler.id)
