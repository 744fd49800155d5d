"""Per-area permission-matrix declarations.

Each module `tests/matrix/<area>.py` (other than `common`) may define `WEB` (a list of `Endpoint`)
and `API` (a dict op_id -> `Endpoint`); `tests/test_permission_matrix.py` adds them to its tables, so
every URL pattern and API operation of the area is checked for every persona.
"""

import importlib
import pkgutil


def _modules():
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name != "common":
            yield importlib.import_module(f"{__name__}.{info.name}")


def extra_web() -> list:
    out = []
    for mod in _modules():
        out.extend(getattr(mod, "WEB", []))
    return out


def extra_api() -> dict:
    out = {}
    for mod in _modules():
        for key, endpoint in getattr(mod, "API", {}).items():
            assert key not in out, f"API operation {key} declared twice"
            out[key] = endpoint
    return out
