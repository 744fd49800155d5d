"""qingshou check_policy FILE.yaml [FILE.yaml …] [--preset cn|us|house[,…]] [--layer LAYER.yaml]

Runs what-if scenario files through the compliance engine and prints PASS/FAIL per scenario and a
summary; exits 1 when any scenario fails. `--preset` replaces the layers named in the files (e.g.
run the CN suite against "cn,house"); `--layer` adds a draft layer (YAML: kind, name, version,
params) on top, so a compliance officer can test a policy change before publishing it.
With no file, runs the shipped suites (qingshou/compliance/scenarios/*.yaml). No database access.
"""

import sys
from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError

from qingshou.compliance.scenarios import ScenarioError, layer_from_dict, load, run, shipped_suites


class Command(BaseCommand):
    help = "Run compliance what-if scenario files (YAML) and report PASS/FAIL per scenario."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", help="Scenario files; default: the shipped suites.")
        parser.add_argument("--preset", help="Layers to use instead of the files' own, e.g. cn or us,house.")
        parser.add_argument("--layer", action="append", default=[], help="A draft layer file to add on top.")
        parser.add_argument("--quiet", action="store_true", help="Only print failures and the summary.")

    def handle(self, *args, files, preset, layer, quiet, **options):
        paths = [Path(f) for f in files] or shipped_suites()
        extra = []
        for layer_file in layer:
            with open(layer_file, encoding="utf-8") as fh:
                extra.append(layer_from_dict(yaml.safe_load(fh)))
        passed = failed = 0
        for path in paths:
            if not path.exists():
                raise CommandError(f"No such file: {path}")
            try:
                scenarios = load(path, layers_override=preset, extra_layers=tuple(extra))
            except ScenarioError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"== {path}")
            for scenario in scenarios:
                result = run(scenario)
                d = result.decision
                summary = "allowed" if d.allowed else "denied " + ",".join(r.rule for r in d.reasons)
                if result.passed:
                    passed += 1
                    if not quiet:
                        self.stdout.write(f"PASS  {scenario.name}  [{summary}]")
                else:
                    failed += 1
                    self.stdout.write(f"FAIL  {scenario.name}  [{summary}]")
                    for problem in result.problems:
                        self.stdout.write(f"      - {problem}")
        self.stdout.write(f"{passed + failed} scenarios: {passed} passed, {failed} failed")
        if failed:
            sys.exit(1)
