"""`qingshou up` (make run): starts web, worker and scheduler; Ctrl-C stops all of them cleanly."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

ROOT = Path(__file__).resolve().parent.parent


def msg(text: str, **params) -> str:
    """A message as `qingshou up` prints it (commands run in settings.LANGUAGE_CODE)."""
    with translation.override(settings.LANGUAGE_CODE):
        out = translation.gettext(text)
        if not params:
            return out
        return out % {k: translation.gettext(v) if k == "child" else v for k, v in params.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def up_env(var_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SQLITE_PATH"}}
    # Always the embedded default (SQLite under a private var dir), also during the PostgreSQL pass.
    env.update(DB="sqlite", QINGSHOU_VAR_DIR=str(var_dir), DEBUG="0", SCHEDULER_INTERVAL_SECONDS="1")
    return env


def start_up(var_dir: Path, port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "qingshou.cli", "up", "--no-demo", "--port", str(port)],
        cwd=ROOT, env=up_env(var_dir), stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )


def wait_for_login(proc: subprocess.Popen, port: int, log: Path, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"qingshou up exited early ({proc.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2) as resp:  # noqa: S310
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            time.sleep(0.3)
    proc.kill()
    pytest.fail(f"no answer on port {port} within {timeout}s:\n{log.read_text()}")


def _ppid_map() -> dict[int, int]:
    result = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        result[int(entry)] = int(fields[1])
    return result


def descendants(pid: int) -> set[int]:
    parents = _ppid_map()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pids: set[int], timeout: float = 5) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return {p for p in pids if alive(p)}


def test_up_serves_then_sigint_stops_everything_and_a_second_run_reuses_var(tmp_path):
    var_dir, log, port = tmp_path / "var", tmp_path / "up.log", free_port()
    proc = start_up(var_dir, port, log)
    try:
        assert wait_for_login(proc, port, log) in (200, 302)
        children = descendants(proc.pid)
        # web master + 2 web workers + db_worker + scheduler
        assert len(children) >= 4, log.read_text()
        time.sleep(1.5)  # let the scheduler make its first round
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert wait_gone(children) == set(), log.read_text()
    out = log.read_text()
    assert f"http://127.0.0.1:{port}/" in out
    assert msg("qingshou stopped.") in out

    secret = (var_dir / "secret_key").read_text()
    db_file = var_dir / "qingshou.sqlite3"
    assert db_file.exists() and (var_dir / "static").is_dir()
    db_inode = db_file.stat().st_ino

    # The scheduler alone stops cleanly on SIGTERM (exit 0).
    offset = log.stat().st_size
    sched = subprocess.Popen([sys.executable, "-m", "qingshou.cli", "scheduler", "--interval", "0.5"],
                             cwd=ROOT, env=up_env(var_dir), stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while b"started: jobs" not in log.read_bytes()[offset:] and time.monotonic() < deadline:
            time.sleep(0.2)
        sched.send_signal(signal.SIGTERM)
        assert sched.wait(timeout=10) == 0, log.read_bytes()[offset:].decode()
        assert b"stopped" in log.read_bytes()[offset:]
    finally:
        if sched.poll() is None:
            sched.kill()

    # Second run: same database, same secret key. A child dying stops the rest, exit non-zero.
    proc = start_up(var_dir, port, log)
    try:
        assert wait_for_login(proc, port, log) in (200, 302)
        children = descendants(proc.pid)
        worker = next(p for p in children if b"db_worker" in Path(f"/proc/{p}/cmdline").read_bytes())
        os.kill(worker, signal.SIGKILL)
        assert proc.wait(timeout=15) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
    assert wait_gone(children) == set()
    assert msg("The %(child)s was killed by %(signal)s; stopped the others. See the messages above.",
               child="task worker (db_worker)", signal="SIGKILL") in log.read_text()
    assert (var_dir / "secret_key").read_text() == secret
    assert db_file.stat().st_ino == db_inode


def test_up_refuses_a_port_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "qingshou.cli", "up", "--no-demo", "--port", str(port)],
            cwd=ROOT, env=up_env(tmp_path / "var"), capture_output=True, text=True, timeout=60,
        )
    assert result.returncode != 0
    assert msg("Port %(port)s on %(host)s is already in use (another qingshou, or another program). "
               "Stop it, or choose another port: PORT=%(next)s make run",
               port=port, host="127.0.0.1", next=port + 1) in result.stderr
    assert msg("Migrating the database…") not in result.stdout  # refused before doing anything
