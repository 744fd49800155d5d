"""What-if scenarios: YAML files of (history, facts, request, expected decision), run through the engine.

`qingshou check_policy FILE.yaml [--preset cn|us|house[,…]] [--layer LAYER.yaml]` prints PASS/FAIL per
scenario. The format is documented in docs/compliance.md; in short:

    timezone: Asia/Shanghai          # times without an offset are in this zone
    layers: [cn, house]              # preset names, or inline {kind, name, version, params}
    defaults:                        # merged into every scenario (request / facts / history entries)
      request: {case_id: 1, party_id: 1, party_is_debtor: true, phone_id: 1, channel: call}
      history: {party_id: 1, party_is_debtor: true, phone_id: 1, channel: call, case_id: 1}
    scenarios:
      - name: 22:00 is outside the CN window
        request: {at: "2026-11-18 22:00"}
        expect: {allowed: false, rules: [cn.hours], next_allowed_at: "2026-11-19 08:00"}

No database; pure data in, results out.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from qingshou.compliance.calendars import china_calendar
from qingshou.compliance.engine import decide
from qingshou.compliance.presets import PRESETS
from qingshou.compliance.types import (
    Calendar,
    CaseFacts,
    ContactRequest,
    Context,
    Decision,
    PastContact,
    Policy,
    PolicyLayer,
    Template,
    TimeWindow,
)

SUITE_DIR = Path(__file__).with_name("scenarios")


class ScenarioError(ValueError):
    pass


@dataclass
class Scenario:
    name: str
    request: ContactRequest
    context: Context
    expect: dict[str, Any]
    tz: ZoneInfo
    ref: str = ""


@dataclass
class Result:
    scenario: Scenario
    decision: Decision
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


# --- parsing ---------------------------------------------------------------------------------

def parse_time(value, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time(0))
    else:
        text = str(value).strip().replace("T", " ")
        try:
            dt = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ScenarioError(f"bad time {value!r}: use 'YYYY-MM-DD HH:MM[+HH:MM]'") from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=tz)


def _parse_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _parse_hhmm(value) -> time:
    if isinstance(value, int):                      # YAML 1.1 reads 08:00 unquoted as sexagesimal minutes
        return time(value // 60, value % 60)
    hh, mm = str(value).split(":")[:2]
    return time(int(hh), int(mm))


def _window(spec) -> TimeWindow:
    if isinstance(spec, list | tuple):
        spec = {"start": spec[0], "end": spec[1]}
    return TimeWindow(
        start=_parse_hhmm(spec["start"]), end=_parse_hhmm(spec["end"]),
        weekdays=tuple(spec.get("weekdays", ())),
        on_date=_parse_date(spec["on_date"]) if spec.get("on_date") else None,
    )


def _only_known(cls, data: dict, where: str) -> dict:
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ScenarioError(f"{where}: unknown field(s) {sorted(unknown)}")
    return data


def _layers(spec, extra: tuple[PolicyLayer, ...] = ()) -> tuple[PolicyLayer, ...]:
    if isinstance(spec, str):
        spec = [s.strip() for s in spec.split(",") if s.strip()]
    out: list[PolicyLayer] = []
    for item in spec or []:
        if isinstance(item, str):
            if item not in PRESETS:
                raise ScenarioError(f"unknown preset {item!r} (known: {', '.join(PRESETS)})")
            out.append(PRESETS[item])
        else:
            out.append(layer_from_dict(item))
    return tuple(out) + tuple(extra)


def layer_from_dict(item: dict) -> PolicyLayer:
    return PolicyLayer(kind=item.get("kind", "creditor"), name=item.get("name", "custom"),
                       version=str(item.get("version", "draft")), params=dict(item.get("params", {})))


def _history(entries, defaults: dict, tz: ZoneInfo) -> tuple[PastContact, ...]:
    from datetime import timedelta

    out: list[PastContact] = []
    for raw in entries or []:
        item = {**defaults, **raw}
        repeat = int(item.pop("repeat", 1))
        every = int(item.pop("every_minutes", 10))
        at = parse_time(item.pop("at"), tz)
        _only_known(PastContact, {**item, "started_at": at}, "history")
        for i in range(repeat):
            out.append(PastContact(**{**item, "started_at": at + timedelta(minutes=every * i)}))
    return tuple(out)


def _facts(spec: dict) -> CaseFacts:
    spec = dict(spec or {})
    for key in ("inconvenient", "agreed"):
        if key in spec:
            spec[key] = tuple(_window(w) for w in spec[key])
    for key, value in list(spec.items()):
        if isinstance(value, list):
            spec[key] = tuple(value)
    _only_known(CaseFacts, spec, "facts")
    return CaseFacts(**spec)


def _calendar(spec, request_at: datetime) -> Calendar:
    if not spec:
        return Calendar()
    if isinstance(spec, str):
        spec = {"country": spec}
    blackout = [_parse_date(d) for d in spec.get("blackout", [])]
    if spec.get("country") == "cn":
        return china_calendar({request_at.year - 1, request_at.year, request_at.year + 1}, blackout)
    return Calendar(
        holidays=frozenset(_parse_date(d) for d in spec.get("holidays", [])),
        workdays=frozenset(_parse_date(d) for d in spec.get("workdays", [])),
        blackout=frozenset(blackout),
    )


def load(path: str | Path, *, layers_override=None, extra_layers: tuple[PolicyLayer, ...] = ()) -> list[Scenario]:
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as fh:
            doc = yaml.safe_load(fh) or {}
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from exc
    return parse(doc, layers_override=layers_override, extra_layers=extra_layers, source=str(path))


def parse(doc: dict, *, layers_override=None, extra_layers=(), source: str = "<scenarios>") -> list[Scenario]:
    tz = ZoneInfo(doc.get("timezone", "Asia/Shanghai"))
    defaults = doc.get("defaults", {}) or {}
    file_layers = layers_override if layers_override is not None else doc.get("layers", ["cn"])
    out: list[Scenario] = []
    for i, sc in enumerate(doc.get("scenarios", []) or []):
        name = sc.get("name") or f"{source}#{i + 1}"
        try:
            layers = _layers(sc.get("layers", file_layers) if layers_override is None else layers_override,
                             extra_layers)
            req_spec = {**defaults.get("request", {}), **sc.get("request", {})}
            req_spec["at"] = parse_time(req_spec["at"], tz)
            _only_known(ContactRequest, req_spec, "request")
            request = ContactRequest(**req_spec)
            facts_spec = {**defaults.get("facts", {}), **(sc.get("facts") or {})}
            template = Template(**_only_known(Template, sc["template"], "template")) if sc.get("template") else None
            context = Context(
                policy=Policy(layers=layers),
                history=_history(sc.get("history"), defaults.get("history", {}), tz),
                facts=_facts(facts_spec),
                calendar=_calendar(sc.get("calendar", defaults.get("calendar")), request.at),
                template=template,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ScenarioError(f"{source}: scenario {name!r}: {exc}") from exc
        out.append(Scenario(name=name, request=request, context=context, expect=sc.get("expect", {}), tz=tz,
                            ref=sc.get("ref", "")))
    return out


# --- running ---------------------------------------------------------------------------------

def run(scenario: Scenario) -> Result:
    decision = decide(scenario.request, scenario.context)
    result = Result(scenario, decision)
    exp = scenario.expect
    got_rules = sorted({r.rule for r in decision.reasons})
    if "allowed" in exp and bool(exp["allowed"]) != decision.allowed:
        result.problems.append(f"expected {'allowed' if exp['allowed'] else 'denied'}, got "
                               f"{'allowed' if decision.allowed else 'denied'} {got_rules}")
    if "rules" in exp and sorted(set(exp["rules"] or [])) != got_rules:
        result.problems.append(f"expected rules {sorted(set(exp['rules'] or []))}, got {got_rules}")
    for rule in exp.get("rules_include", []) or []:
        if rule not in got_rules:
            result.problems.append(f"expected rule {rule} among {got_rules}")
    for rule in exp.get("rules_exclude", []) or []:
        if rule in got_rules:
            result.problems.append(f"rule {rule} should not deny")
    if "next_allowed_at" in exp:
        want = exp["next_allowed_at"]
        got = decision.next_allowed_at
        if want is None:
            if got is not None:
                result.problems.append(f"expected no next time, got {got.astimezone(scenario.tz):%Y-%m-%d %H:%M}")
        else:
            want_dt = parse_time(want, scenario.tz)
            if got is None or got != want_dt:
                shown = "none" if got is None else f"{got.astimezone(scenario.tz):%Y-%m-%d %H:%M %Z}"
                result.problems.append(f"expected next allowed {want_dt:%Y-%m-%d %H:%M %Z}, got {shown}")
    if "layer" in exp:
        layers = sorted({r.layer for r in decision.reasons})
        if [exp["layer"]] != layers:
            result.problems.append(f"expected deciding layer {exp['layer']}, got {layers}")
    return result


def run_file(path, **kwargs) -> list[Result]:
    return [run(s) for s in load(path, **kwargs)]


def shipped_suites() -> list[Path]:
    return sorted(SUITE_DIR.glob("*.yaml"))
