"""Page and API latency on a demo database: `make bench` (BENCH_CASES=N to change the size).

Builds a fresh SQLite database in a temporary directory, loads `qingshou demo --cases N`, then times
the pages a collector and a team leader use all day through Django's test client (in-process: this
measures our code and queries, not the network or gunicorn). Prints a table of p50/p95/max.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
tmp = tempfile.mkdtemp(prefix="qingshou-bench-")
os.environ["QINGSHOU_VAR_DIR"] = tmp
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qingshou.settings")
os.environ["DB"] = "sqlite"
os.environ["ALLOWED_HOSTS"] = "testserver"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from qingshou.core.tokens import create_api_token  # noqa: E402
from qingshou.org.models import User  # noqa: E402
from qingshou.portfolio.models import Case  # noqa: E402

CASES = int(os.environ.get("BENCH_CASES", "5000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))


def timed(fn, rounds=ROUNDS):
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        r = fn()
        samples.append((time.perf_counter() - t0) * 1000)
        if r is not None and getattr(r, "status_code", 200) >= 400:
            raise SystemExit(f"bench request failed: {r.status_code} {getattr(r, 'content', b'')[:300]!r}")
    samples.sort()
    return {
        "p50": statistics.median(samples),
        "p95": samples[min(len(samples) - 1, int(len(samples) * 0.95))],
        "max": samples[-1],
    }


def main():
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    t_migrate = time.perf_counter() - t0
    t0 = time.perf_counter()
    call_command("demo", cases=CASES, stdout=open(os.devnull, "w"))
    t_demo = time.perf_counter() - t0

    collector = User.objects.get(username="collector1")
    leader = User.objects.get(username="leader1")
    c = Client()
    c.force_login(collector)
    lc = Client()
    lc.force_login(leader)
    case = Case.objects.filter(assigned_to=collector).order_by("-total_due").first()
    _, secret = create_api_token(collector, "bench", acting_user=collector)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    from qingshou.portfolio.models import Party

    targets = iter(
        Party.objects.filter(debtor__cases__assigned_to=collector, relation="self", phones__isnull=False)
        .values_list("debtor__cases__pk", "pk", "phones__pk")
        .distinct()[: ROUNDS * 2]
    )

    outcomes = {201: 0, 409: 0}

    def log_one():
        case_id, party_id, phone_id = next(targets)
        r = c.post(f"/api/v1/cases/{case_id}/contacts", {"party_id": party_id, "phone_id": phone_id,
                   "channel": "call", "outcome": "no_answer", "notes": "bench"}, content_type="application/json",
                   **auth)
        if r.status_code not in (201, 409):  # 409: refused by the compliance hook (e.g. after 22:00)
            return r
        outcomes[r.status_code] += 1
        return None

    results = {
        "queue page (my cases)": timed(lambda: c.get(reverse("portfolio:queue"))),
        "queue page, search": timed(lambda: c.get(reverse("portfolio:queue"), {"q": case.account_number[-4:]})),
        "case page": timed(lambda: c.get(reverse("portfolio:case", args=[case.pk]))),
        "Get Next (POST)": timed(lambda: c.post(reverse("portfolio:get_next"))),
        "team page (leader)": timed(lambda: lc.get(reverse("reports:team"))),
        "API GET /cases/mine": timed(lambda: c.get("/api/v1/cases/mine", **auth)),
        "API GET /cases/{id}": timed(lambda: c.get(f"/api/v1/cases/{case.pk}", **auth)),
        "API POST contact (hook + save)": timed(log_one),
    }
    print(f"qingshou page benchmark: {CASES} demo cases, SQLite, {ROUNDS} rounds each, in-process client")
    print(f"migrate {t_migrate:.1f} s, demo data {t_demo:.1f} s "
          f"({Case.objects.count()} cases, {CASES / t_demo:.0f} cases/s)")
    print(f"{'what':32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, r in results.items():
        print(f"{name:32} {r['p50']:8.1f} {r['p95']:8.1f} {r['max']:8.1f}")
    print(f"contacts posted: {outcomes[201]} saved, {outcomes[409]} refused by the compliance hook")


if __name__ == "__main__":
    main()
