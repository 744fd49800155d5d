"""Policy layers stored as versioned data (PolicyLayerVersion) and turned into engine `PolicyLayer`s.

* `validate_params(params)` checks a layer's parameters against `presets.PARAMETERS` (names, types,
  allowed values); the publish action refuses anything it reports.
* `base_layers(creditor)` returns the published layers that apply to a creditor's cases, in stack
  order: the preset of the creditor's jurisdiction, the creditor's own contract layer (if any), the
  house layer. When the database has no published preset/house layer (a fresh test database whose
  rows were flushed) the code preset from `presets.PRESETS` stands in, so there is never "no policy".
* Cache: a published version is never edited (a change is a new version), so an engine layer is
  cached per row id for the life of the process. Which rows are published is asked with one small
  query per build (or per batch), so a publish in another process is seen at once; the publish
  action also clears this process's cache on commit.
"""

from __future__ import annotations

import hashlib
import json
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Q

from qingshou.compliance.presets import PARAMETERS, PRESETS
from qingshou.compliance.types import CALLBACK, COLLECT, LOCATE, Policy, PolicyLayer

CHANNELS = ("call", "sms", "letter", "visit", "robot")
PURPOSES = (COLLECT, LOCATE, CALLBACK)
HOLDS = ("complaint", "dispute", "deceased", "fraud", "legal", "attorney", "recalled", "closed", "cease", "other")
MAX_INT = 1000

_layers: dict[int, PolicyLayer] = {}
_policies: dict[tuple, Policy] = {}


def invalidate() -> None:
    _layers.clear()
    _policies.clear()


# --- validation -------------------------------------------------------------------------------

def _content_categories() -> set[str]:
    try:
        from qingshou.compliance.scanner import default_scanner

        return set(default_scanner().categories)
    except Exception:  # noqa: BLE001 - the scanner's data failing to load must not hide the layer's own errors
        return set()


def _valid_time(value) -> bool:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        return False
    try:
        time(int(value[:2]), int(value[3:]))
    except ValueError:
        return False
    return True


def _valid_zone(name) -> bool:
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def validate_params(params) -> dict[str, list[str]]:
    """{parameter: [problem, …]}; empty when the parameters are valid. Messages are English."""
    if not isinstance(params, dict):
        return {"params": ["The parameters must be a JSON object."]}
    errors: dict[str, list[str]] = {}

    def bad(name, msg):
        errors.setdefault(name, []).append(msg)

    allowed_elements = {
        "hours_channels": set(CHANNELS),
        "third_party_purposes": set(PURPOSES),
        "holds_block": set(HOLDS),
    }
    for name, value in params.items():
        if name not in PARAMETERS:
            bad(name, "Unknown parameter.")
            continue
        if value is None:
            continue
        kind, _merge = PARAMETERS[name]
        if kind == "bool":
            if not isinstance(value, bool):
                bad(name, "Enter true or false.")
        elif kind == "int":
            if isinstance(value, bool) or not isinstance(value, int) or not (0 <= value <= MAX_INT):
                bad(name, f"Enter a whole number from 0 to {MAX_INT}.")
        elif kind == "window":
            if (not isinstance(value, list | tuple) or len(value) != 2
                    or not all(_valid_time(v) for v in value)):
                bad(name, 'Enter two times as ["HH:MM", "HH:MM"].')
            elif value[0] >= value[1]:
                bad(name, "The window must start before it ends.")
        elif kind == "list":
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                bad(name, "Enter a list of text values.")
                continue
            if name in allowed_elements:
                unknown = [v for v in value if v not in allowed_elements[name]]
                if unknown:
                    bad(name, f"Unknown values: {', '.join(unknown)}.")
            elif name == "timezones":
                unknown = [v for v in value if not _valid_zone(v)]
                if unknown:
                    bad(name, f"Unknown time zones: {', '.join(unknown)}.")
            elif name == "content_scan":
                known = _content_categories()
                unknown = [v for v in value if known and v not in known]
                if unknown:
                    bad(name, f"Unknown content categories: {', '.join(unknown)}.")
    if not errors:
        from qingshou.compliance.engine import merge_layers

        try:
            merge_layers([PolicyLayer(kind="house", name="check", version="0", params=dict(params))])
        except (ValueError, TypeError) as exc:
            bad("params", str(exc))
    return errors


def clean_params(params: dict) -> dict:
    """JSON-safe copy without None values (tuples become lists)."""
    out = {}
    for k, v in params.items():
        if v is None:
            continue
        out[k] = list(v) if isinstance(v, tuple | list | set | frozenset) else v
    return out


# --- seed -------------------------------------------------------------------------------------

def ensure_seed_layers(model=None) -> int:
    """Version 1 of "cn", "us" and "house" from presets.PRESETS, published (data migration; idempotent)."""
    if model is None:
        from qingshou.compliance.models import PolicyLayerVersion as model
    created = 0
    for name, layer in PRESETS.items():
        if model.objects.filter(name=name).exists():
            continue
        model.objects.create(
            kind=layer.kind, name=name, version=1, params=json.loads(json.dumps(clean_params(layer.params))),
            status="published", note=f"Seeded from the code preset {name} {layer.version}.",
        )
        created += 1
    return created


# --- loading ----------------------------------------------------------------------------------

def layer_from_row(row) -> PolicyLayer:
    hit = _layers.get(row.pk)
    if hit is None:
        hit = _layers[row.pk] = PolicyLayer(kind=row.kind, name=row.name, version=str(row.version),
                                            params=dict(row.params or {}))
    return hit


def creditor_layer_name(creditor) -> str:
    return f"creditor:{creditor.code}"


class PublishedLayers:
    """The published rows, loaded with one query for a set of creditors."""

    def __init__(self, creditor_ids):
        from qingshou.compliance.models import PolicyLayerVersion

        ids = sorted({c for c in creditor_ids if c is not None})
        rows = PolicyLayerVersion.objects.filter(status=PolicyLayerVersion.Status.PUBLISHED).filter(
            Q(kind__in=("preset", "house")) | Q(kind="creditor", creditor_id__in=ids))
        self.by_name: dict[str, PolicyLayer] = {}
        self.by_creditor: dict[int, PolicyLayer] = {}
        self.keys: dict[str, int] = {}
        # Rows are immutable once published: load params only for rows not cached yet.
        meta = list(rows.values_list("pk", "kind", "name", "creditor_id"))
        missing = [pk for pk, *_ in meta if pk not in _layers]
        if missing:
            for row in PolicyLayerVersion.objects.filter(pk__in=missing):
                layer_from_row(row)
        for pk, kind, name, creditor_id in meta:
            layer = _layers[pk]
            if kind == "creditor":
                self.by_creditor[creditor_id] = layer
            else:
                self.by_name[name] = layer
            self.keys[name] = pk

    def base(self, jurisdiction: str, creditor_id: int | None) -> tuple[PolicyLayer, ...]:
        preset = self.by_name.get(jurisdiction) or PRESETS.get(jurisdiction) or PRESETS["cn"]
        layers = [preset]
        contract = self.by_creditor.get(creditor_id) if creditor_id is not None else None
        if contract is not None:
            layers.append(contract)
        layers.append(self.by_name.get("house") or PRESETS["house"])
        return tuple(layers)

    def policy(self, jurisdiction: str, creditor_id: int | None, case_params: dict | None = None) -> Policy:
        """The policy for a case: base layers + a case layer when the case has facts that add rules.

        Policy objects are shared (cached) so the engine's compiled-policy cache hits by identity.
        """
        base = self.base(jurisdiction, creditor_id)
        case_key = tuple(sorted(case_params.items())) if case_params else ()
        key = (tuple((layer.kind, layer.name, layer.version) for layer in base), case_key)
        hit = _policies.get(key)
        if hit is None:
            layers = base
            if case_params:
                digest = hashlib.sha1(repr(case_key).encode(), usedforsecurity=False).hexdigest()[:8]
                layers = (*base, PolicyLayer(kind="case", name="case", version=digest, params=dict(case_params)))
            if len(_policies) > 512:
                _policies.clear()
            hit = _policies[key] = Policy(layers=layers)
        return hit
