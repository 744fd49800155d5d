"""Typed environment helpers (healthchecks' style): each reads one variable and fails loudly.

A wrong value stops the process at start-up with a message naming the variable and what it
expected, instead of surfacing later as a confusing error deep inside a request.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected one of 1/0, true/false, yes/no, on/off")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value}: must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value}: must be at most {maximum}")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r}: expected one of {', '.join(choices)}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str, *, generate_into: Path | None = None, min_length: int = 32,
               optional: bool = False) -> str:
    """A secret from NAME, from the file named by NAME_FILE, or generated once into a file.

    Production sets NAME or NAME_FILE; the embedded default generates a random secret under var/ on
    first start and reuses it, so sessions survive restarts without anyone inventing a key.
    """
    value = os.environ.get(name)
    file_name = os.environ.get(f"{name}_FILE")
    if value is None and file_name:
        path = Path(file_name)
        if not path.is_file():
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r}: no such file")
        value = path.read_text().strip()
    if value is None and generate_into is not None:
        if generate_into.is_file():
            value = generate_into.read_text().strip()
        else:
            import secrets

            generate_into.parent.mkdir(parents=True, exist_ok=True)
            value = secrets.token_urlsafe(48)
            generate_into.write_text(value)
            generate_into.chmod(0o600)
    if value is None and optional:
        return ""
    if value is None:
        raise ImproperlyConfigured(f"{name} (or {name}_FILE) must be set")
    if len(value) < min_length:
        raise ImproperlyConfigured(f"{name}: must be at least {min_length} characters long")
    return value


def env_keyring(name: str) -> list[str]:
    """A comma-separated list of "id:secret" entries from NAME or from the file named by NAME_FILE.

    The file may also hold one entry per line. Order matters: the first entry is the current key.
    """
    raw = os.environ.get(name)
    file_name = os.environ.get(f"{name}_FILE")
    if raw is None and file_name:
        path = Path(file_name)
        if not path.is_file():
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r}: no such file")
        raw = path.read_text()
    if raw is None:
        return []
    return [item.strip() for item in raw.replace("\n", ",").split(",") if item.strip()]
