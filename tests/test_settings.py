"""Typed environment helpers fail loudly on bad values."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from qingshou.envconf import env_bool, env_choice, env_int, env_secret


def test_env_bool(monkeypatch):
    for raw, expected in [("1", True), ("yes", True), ("ON", True), ("0", False), ("false", False), ("", False)]:
        monkeypatch.setenv("X_BOOL", raw)
        assert env_bool("X_BOOL") is expected
    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        env_bool("X_BOOL")
    monkeypatch.delenv("X_BOOL")
    assert env_bool("X_BOOL", True) is True


def test_env_int_range(monkeypatch):
    monkeypatch.setenv("X_INT", "abc")
    with pytest.raises(ImproperlyConfigured, match="expected an integer"):
        env_int("X_INT", 1)
    monkeypatch.setenv("X_INT", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("X_INT", 5, minimum=1)
    monkeypatch.setenv("X_INT", "70000")
    with pytest.raises(ImproperlyConfigured, match="at most"):
        env_int("X_INT", 5, maximum=65535)
    monkeypatch.setenv("X_INT", " 42 ")
    assert env_int("X_INT", 5) == 42


def test_env_choice(monkeypatch):
    monkeypatch.setenv("X_DB", "mysql")
    with pytest.raises(ImproperlyConfigured, match="sqlite, postgres"):
        env_choice("X_DB", "sqlite", ("sqlite", "postgres"))


def test_env_secret_sources(monkeypatch, tmp_path):
    generated = tmp_path / "k"
    first = env_secret("X_SECRET", generate_into=generated)
    assert env_secret("X_SECRET", generate_into=generated) == first  # reused, not regenerated
    assert oct(generated.stat().st_mode & 0o777) == "0o600"
    f = tmp_path / "from_file"
    f.write_text("s" * 40 + "\n")
    monkeypatch.setenv("X_SECRET_FILE", str(f))
    assert env_secret("X_SECRET") == "s" * 40
    monkeypatch.setenv("X_SECRET", "short")
    with pytest.raises(ImproperlyConfigured, match="at least 32"):
        env_secret("X_SECRET")
    monkeypatch.delenv("X_SECRET")
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="no such file"):
        env_secret("X_SECRET")


def test_bad_setting_stops_startup_with_a_clear_message(tmp_path):
    env = {**os.environ, "QINGSHOU_VAR_DIR": str(tmp_path), "CASE_LOCK_MINUTES": "ten"}
    r = subprocess.run([sys.executable, "-m", "qingshou.cli", "check"], env=env, capture_output=True, text=True)
    assert r.returncode != 0
    assert "CASE_LOCK_MINUTES='ten': expected an integer" in r.stderr


def test_sqlite_defaults():
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
        assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    assert settings.DEBUG is False
    assert settings.LANGUAGE_CODE == "zh-hans"
