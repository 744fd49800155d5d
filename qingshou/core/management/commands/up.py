"""`qingshou up` (what `make run` calls): prepare var/, then run web, task worker and scheduler together.

Migrates the database, collects static files, loads demo data into an empty database, then starts
three child processes and supervises them in the foreground:

* web:       gunicorn qingshou.wsgi on 127.0.0.1:$PORT (default 8000)
* worker:    qingshou db_worker (django-tasks-db)
* scheduler: qingshou scheduler

Ctrl-C or SIGTERM stops all three cleanly (SIGTERM, up to STOP_TIMEOUT seconds, then SIGKILL) and
exits 0. If one dies on its own, the others are stopped and the command exits 1. Running it again
reuses the database, the generated secret key and the collected static files under var/.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils.translation import gettext as _

from qingshou.envconf import env_bool, env_int

HOST = "127.0.0.1"
STOP_TIMEOUT = 10.0
READY_TIMEOUT = 60.0
DEMO_LOGINS = ("admin, supervisor, leader1–leader3, collector1–collector15, qa1, desk1, lawyer1, "
               "creditor_a, creditor_b")


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR as gunicorn does: a socket in TIME_WAIT does not count as taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _child_setup() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: have the kernel send SIGTERM to the child if `qingshou up` itself dies (e.g. SIGKILL)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


class Child:
    def __init__(self, name: str, label: str, argv: list[str]):
        self.name, self.label, self.argv = name, label, argv
        self.proc: subprocess.Popen | None = None

    def start(self, env: dict) -> None:
        # Own process group: a Ctrl-C in the terminal reaches only `up`, which stops the children in
        # order (one SIGTERM each) instead of every process getting SIGINT at the same moment.
        self.proc = subprocess.Popen(self.argv, env=env, process_group=0, preexec_fn=_child_setup)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            try:
                self.proc.send_signal(signum)
            except ProcessLookupError:
                pass

    def kill_group(self) -> None:
        """SIGKILL whatever is left in the child's process group (e.g. gunicorn workers)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Command(BaseCommand):
    help = "Run qingshou: migrate, load demo data if empty, then web server, task worker and scheduler."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=None,
                            help="Port on 127.0.0.1 (default: $PORT or 8000).")
        parser.add_argument("--no-demo", action="store_true", default=None,
                            help="Do not load demo data into an empty database (also QINGSHOU_NO_DEMO=1).")
        parser.add_argument("--demo-cases", type=int, default=None,
                            help="Number of demo cases to create on first start (default: the demo default).")
        parser.add_argument("--web-workers", type=int, default=2,
                            help="gunicorn worker processes (default 2).")

    def handle(self, *, port, no_demo, demo_cases, web_workers, **options):
        port = port if port is not None else env_int("PORT", 8000, minimum=1, maximum=65535)
        if not 1 <= port <= 65535:
            raise CommandError(_("--port %(port)s: expected a port from 1 to 65535.") % {"port": port})
        if no_demo is None:
            no_demo = env_bool("QINGSHOU_NO_DEMO", False)
        self._stop_signal: int | None = None

        if not port_is_free(HOST, port):
            raise CommandError(_(
                "Port %(port)s on %(host)s is already in use (another qingshou, or another program). "
                "Stop it, or choose another port: PORT=%(next)s make run"
            ) % {"port": port, "host": HOST, "next": port + 1})

        self.prepare(no_demo=no_demo, demo_cases=demo_cases)

        children = [
            Child("web", _("web server (gunicorn)"), [
                sys.executable, "-m", "gunicorn", "qingshou.wsgi:application",
                "--bind", f"{HOST}:{port}", "--workers", str(max(1, web_workers)),
                "--worker-class", "gthread", "--threads", "4",
                "--graceful-timeout", "5", "--timeout", "60",
                "--no-control-socket", "--log-level", "warning",
            ]),
            Child("worker", _("task worker (db_worker)"), [
                sys.executable, "-m", "qingshou.cli", "db_worker", "--interval", "1", "--no-reload",
                "--queue-name", "*",
            ]),
            Child("scheduler", _("scheduler"), [sys.executable, "-m", "qingshou.cli", "scheduler"]),
        ]
        exit_code = self.supervise(children, port)
        if exit_code:
            sys.exit(exit_code)

    # --- preparation ---------------------------------------------------------------------------

    def prepare(self, *, no_demo: bool, demo_cases: int | None) -> None:
        var_dir = settings.VAR_DIR
        var_dir.mkdir(parents=True, exist_ok=True)
        db = settings.DATABASES["default"]
        vendor = db["ENGINE"].rsplit(".", 1)[-1]
        where = db["NAME"] if vendor == "sqlite3" else f"{vendor} {db['NAME']}"
        self.stdout.write(_("qingshou: data in %(dir)s (database: %(db)s)") % {"dir": var_dir, "db": where})
        try:
            self.stdout.write(_("Migrating the database…"))
            call_command("migrate", interactive=False, verbosity=0)
            call_command("collectstatic", interactive=False, verbosity=0)
            self.load_demo(no_demo=no_demo, demo_cases=demo_cases)
        except KeyboardInterrupt:
            self.stderr.write(_("Interrupted while preparing; nothing was started."))
            sys.exit(130)
        finally:
            # The children open their own connections; do not keep an SQLite handle open meanwhile.
            connections.close_all()

    def load_demo(self, *, no_demo: bool, demo_cases: int | None) -> None:
        from qingshou.portfolio.models import Case

        if Case.objects.exists():
            return
        if no_demo:
            self.stdout.write(_("The database has no cases; demo data not loaded (--no-demo)."))
            return
        if "demo" not in get_commands():
            self.stderr.write(_("The database has no cases and this build has no `qingshou demo` command; "
                                "starting without demo data."))
            return
        self.stdout.write(_("Empty database: loading demo data (first start only, this takes a little "
                            "while)…"))
        args = ["--cases", str(demo_cases)] if demo_cases is not None else []
        try:
            call_command("demo", *args)
        except CommandError as exc:
            self.stderr.write(_("Demo data not loaded: %(error)s\nStarting without it.") % {"error": exc})

    # --- supervision ---------------------------------------------------------------------------

    def _on_signal(self, signum, frame):
        if self._stop_signal is None:
            self._stop_signal = signum

    def supervise(self, children: list[Child], port: int) -> int:
        signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        previous = {s: signal.signal(s, self._on_signal) for s in signals}
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.setdefault("DJANGO_SETTINGS_MODULE", "qingshou.settings")
        failed: Child | None = None
        try:
            for child in children:
                if self._stop_signal is not None:
                    break
                child.start(env)
            announced = False
            started = time.monotonic()
            while self._stop_signal is None:
                failed = next((c for c in children if c.proc is not None and not c.alive()), None)
                if failed is not None:
                    break
                if not announced and port_answers(HOST, port):
                    self.banner(port)
                    announced = True
                elif not announced and time.monotonic() - started > READY_TIMEOUT:
                    self.stderr.write(_("The web server has not answered on port %(port)s after %(seconds)s "
                                        "seconds; still waiting.") % {
                        "port": port, "seconds": int(READY_TIMEOUT)})
                    announced = True
                time.sleep(0.2)
        finally:
            self.stop(children)
            for s, handler in previous.items():
                signal.signal(s, handler)
        if failed is not None:
            rc = failed.proc.returncode
            if rc < 0:
                msg = _("The %(child)s was killed by %(signal)s; stopped the others. "
                        "See the messages above.") % {
                    "child": failed.label, "signal": signal.Signals(-rc).name}
            else:
                msg = _("The %(child)s exited unexpectedly with code %(code)s; stopped the others. "
                        "See the messages above.") % {"child": failed.label, "code": rc}
            self.stderr.write(self.style.ERROR(msg))
            return 1
        self.stdout.write(_("qingshou stopped."))
        return 0

    def banner(self, port: int) -> None:
        from qingshou.org.models import User

        url = f"http://{HOST}:{port}/"
        lines = ["", self.style.SUCCESS(_("qingshou is running: %(url)s") % {"url": url})]
        if User.objects.filter(username="collector1").exists():
            lines += [
                _("Demo logins (password: %(password)s):") % {"password": settings.DEMO_PASSWORD},
                f"  {DEMO_LOGINS}",
            ]
        else:
            lines.append(_("No demo users in this database; create an account with: "
                           ".venv/bin/qingshou createsuperuser"))
        lines += [_("Web server, task worker and scheduler run here; press Ctrl-C to stop them."), ""]
        connections.close_all()
        self.stdout.write("\n".join(lines))

    def stop(self, children: list[Child]) -> None:
        running = [c for c in children if c.alive()]
        if running:
            self.stdout.write(_("Stopping %(children)s…") % {"children": ", ".join(c.label for c in running)})
        for child in running:
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and any(c.alive() for c in children):
            time.sleep(0.1)
        for child in children:
            if child.alive():
                self.stderr.write(_("The %(child)s did not stop within %(seconds)s seconds; killing it.") % {
                    "child": child.label, "seconds": int(STOP_TIMEOUT)})
                child.kill_group()
                child.proc.wait()
            elif child.proc is not None:
                child.kill_group()  # leftovers of an exited child, e.g. orphaned gunicorn workers
