"""qingshou simulate --cases 50000 --days 60 --capacity N --strategies fifo,balance,score,oracle [--seed S]."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from qingshou.simulation import report as R
from qingshou.simulation import sim


class Command(BaseCommand):
    help = "Replay strategies on a synthetic portfolio through the real compliance engine and rules."

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=50000)
        parser.add_argument("--days", type=int, default=60)
        parser.add_argument("--capacity", type=int, default=1000, help="calls per day")
        parser.add_argument("--strategies", default=",".join(sim.STRATEGIES),
                            help=f"comma-separated, some of {', '.join(sim.ALL_STRATEGIES)}")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--out", default="", help="directory for the chart and JSON (default: VAR_DIR/simulation)")

    def handle(self, *args, **opts):
        names = tuple(s.strip() for s in opts["strategies"].split(",") if s.strip())
        unknown = [s for s in names if s not in sim.ALL_STRATEGIES]
        if unknown or not names:
            raise CommandError(f"unknown strategies {unknown}; use some of {', '.join(sim.ALL_STRATEGIES)}")
        if opts["cases"] < 1 or opts["days"] < 1 or opts["capacity"] < 0:
            raise CommandError("--cases and --days must be positive, --capacity not negative")
        cfg = sim.Config(cases=opts["cases"], days=opts["days"], capacity=opts["capacity"], seed=opts["seed"],
                         strategies=names)
        report = R.simulate(cfg)
        self.stdout.write(R.table(report))
        out = Path(opts["out"]) if opts["out"] else Path(settings.VAR_DIR) / "simulation"
        png = R.chart(report, out / f"simulation-seed{cfg.seed}.png")
        summary = {name: {k: getattr(r, k) for k in ("recovered", "contacts", "right_party", "promises", "kept",
                                                       "broken", "refused", "breaches", "engine_calls")}
                   for name, r in report["results"].items()}
        if "score" in report["results"]:
            summary["score"]["retrains"] = report["results"]["score"].retrains
        model = {k: v for k, v in (report["model"] or {}).items()}
        (out / f"simulation-seed{cfg.seed}.json").write_text(json.dumps(
            {"cases": cfg.cases, "days": cfg.days, "capacity": cfg.capacity, "seed": cfg.seed, "results": summary,
             "model": model}, indent=2, default=str))
        self.stdout.write(f"Chart: {png}")
