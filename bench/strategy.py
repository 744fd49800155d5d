# ruff: noqa: S608, S108 - a benchmark building SQL from its own constants
"""Strategy benchmark: `make bench-strategy`.

BENCH_STRATEGY_SIZES="100000 1000000" (open cases); BENCH_STRATEGY_REUSE=1 keeps the database and, for a size
that is already generated, only resets it (seconds instead of minutes). PostgreSQL only, in a scratch database
`qingshou_bench_strategy` on PGHOST (dropped and re-created). For each size, generates the portfolio set-based
(INSERT … SELECT FROM generate_series into the real tables: debtors, cases, a template debtor's encrypted ID
reused; 10 teams of 20 collectors; 97% of cases assigned, 3% new and unassigned; 5% with a pending promise,
5% with a payment, 2% on hold) and then times one full nightly run (`run_strategy`): facts, scoring,
segmentation, CaseStrategy upsert (COPY), and assignment of the unassigned cases (with Assignment rows,
timeline events and audit rows), with STRATEGY_RUN_PROCESSES=2 unless set. Prints the figures as JSON
lines and a summary table.
"""

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DBNAME = os.environ.get("BENCH_STRATEGY_PGDATABASE", "qingshou_bench_strategy")
SIZES = [int(x) for x in os.environ.get("BENCH_STRATEGY_SIZES", "100000 1000000").split()]
OFFSET = 1000  # generated ids start above the template rows


def pg_admin(sql_list):
    import psycopg

    with psycopg.connect(host=os.environ.get("PGHOST", "127.0.0.1"), user=os.environ.get("PGUSER", "postgres"),
                         password=os.environ.get("PGPASSWORD") or None, dbname="postgres", autocommit=True) as c:
        for sql in sql_list:
            c.execute(sql)


def columns(cur, table):
    cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
                [table])
    return [r[0] for r in cur.fetchall()]


def clone_sql(cur, table, template_id, overrides, n):
    cols = columns(cur, table)
    select = ", ".join(overrides.get(c, f"t.{c}") for c in cols)
    return (f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select} "  # noqa: S608 - bench, constants
            f"FROM {table} t, generate_series(1, {n}) g WHERE t.id = {template_id}")


def setup_world():
    from decimal import Decimal

    from django.utils import timezone

    from qingshou.org.models import Branch, Creditor, Role, Team, User
    from qingshou.portfolio.models import Case, Debtor, Placement

    branch = Branch.objects.create(code="bench", name="压测分部")
    creditor = Creditor.objects.create(code="bench", name="压测银行")
    placement = Placement.objects.create(creditor=creditor, code="B1", starts_on=timezone.localdate(),
                                         ends_on=timezone.localdate().replace(year=timezone.localdate().year + 1))
    collectors = []
    for t in range(10):
        team = Team.objects.create(branch=branch, code=f"bt{t}", name=f"压测{t}组")
        for i in range(20):
            collectors.append(User(username=f"b{t}_{i}", role=Role.COLLECTOR, branch=branch, team=team,
                                   is_senior=i < 3))
    User.objects.bulk_create(collectors)
    debtor = Debtor.objects.create(name="模板", id_number="110101199001011234", region="上海")
    case = Case.objects.create(placement=placement, debtor=debtor, creditor=creditor, account_number="TPL",
                               product="信用卡", dpd=45, bucket="M2", principal=Decimal("1"), interest=Decimal("0"),
                               late_fees=Decimal("0"), other_fees=Decimal("0"), total_due=Decimal("1"),
                               status="closed")
    return debtor.pk, case.pk


def generate(n, debtor_tpl, case_tpl):
    from django.db import connection

    from qingshou.org.models import User

    t0 = time.perf_counter()
    users = list(User.objects.filter(role="collector").order_by("pk").values_list("pk", "team_id"))
    uid_arr = "ARRAY[" + ",".join(str(u) for u, _ in users) + "]"
    tid_arr = "ARRAY[" + ",".join(str(t) for _, t in users) + "]"
    k = len(users)
    with connection.cursor() as cur:
        cur.execute("TRUNCATE strategy_casestrategy, strategy_strategyrun, portfolio_assignment, portfolio_caseevent, "
                    "core_auditlog, payments_promise, payments_payment, portfolio_casehold")
        cur.execute(f"DELETE FROM portfolio_case WHERE id > {OFFSET}")
        cur.execute(f"DELETE FROM portfolio_debtor WHERE id > {OFFSET}")
        regions = "(ARRAY['上海','北京','广东','浙江','四川'])[(g % 5) + 1]"
        cur.execute(clone_sql(cur, "portfolio_debtor", debtor_tpl, {
            "id": f"g + {OFFSET}", "name": "'债务人' || g", "region": regions}, n))
        assigned = "(g % 100) >= 3"
        cur.execute(clone_sql(cur, "portfolio_case", case_tpl, {
            "id": f"g + {OFFSET}", "debtor_id": f"g + {OFFSET}", "account_number": "'A' || g",
            "product": "(ARRAY['信用卡','消费贷','车贷'])[(g % 3) + 1]",
            "dpd": "(g * 7) % 400 + 1",
            "bucket": "CASE WHEN (g*7)%400+1 > 180 THEN 'M7+' ELSE 'M' || (((g*7)%400)/30 + 1) END",
            "principal": "((g * 37) % 80000 + 500)::numeric", "total_due": "((g * 37) % 80000 + 500)::numeric",
            "status": "'active'",
            "assigned_to_id": f"CASE WHEN {assigned} THEN ({uid_arr})[((g / 100) % {k}) + 1] END",
            "team_id": f"CASE WHEN {assigned} THEN ({tid_arr})[((g / 100) % {k}) + 1] END",
            "assigned_at": f"CASE WHEN {assigned} THEN now() - ((g % 20) || ' days')::interval END",
            "first_contact_at": f"CASE WHEN {assigned} AND g % 4 <> 0 THEN now() - ((g % 9) || ' days')::interval END",
            "last_contact_at": f"CASE WHEN {assigned} AND g % 4 <> 0 THEN now() - ((g % 9) || ' days')::interval END",
        }, n))
        some_user = users[0][0]
        cur.execute(f"""INSERT INTO payments_promise (case_id, amount, due_date, status, created_at, created_by_id,
                        paid_amount) SELECT g + {OFFSET}, 100, current_date + (g % 7) - 3, 'pending', now(),
                        {some_user}, 0 FROM generate_series(1, {n}) g WHERE g % 20 = 0""")
        cur.execute(f"""INSERT INTO payments_payment (case_id, amount, paid_at, source_ref, creditor_txn_id,
                        created_at) SELECT g + {OFFSET}, 200, now() - ((g % 60) || ' days')::interval, 'P' || g, '',
                        now() FROM generate_series(1, {n}) g WHERE g % 20 = 7""")
        cur.execute(f"""INSERT INTO portfolio_casehold (case_id, reason, note, placed_at)
                        SELECT g + {OFFSET}, 'dispute', '', now() FROM generate_series(1, {n}) g WHERE g % 50 = 11""")
        cur.execute("SELECT setval(pg_get_serial_sequence('portfolio_case', 'id'), "
                    "(SELECT max(id) FROM portfolio_case))")
        cur.execute("SELECT setval(pg_get_serial_sequence('portfolio_debtor', 'id'), "
                    "(SELECT max(id) FROM portfolio_debtor))")
        cur.execute("ANALYZE")
    return time.perf_counter() - t0


def database_exists():
    import psycopg

    with psycopg.connect(host=os.environ.get("PGHOST", "127.0.0.1"), user=os.environ.get("PGUSER", "postgres"),
                         password=os.environ.get("PGPASSWORD") or None, dbname="postgres") as c:
        return c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DBNAME]).fetchone() is not None


def existing_world():
    from qingshou.portfolio.models import Case

    case = Case.objects.get(account_number="TPL")
    return case.debtor_id, case.pk


def generated_cases():
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM portfolio_case WHERE id > {OFFSET}")
        return cur.fetchone()[0]


def reset(n):
    """BENCH_STRATEGY_REUSE=1: put an already generated portfolio of n cases back as generate() left it (the
    3% new cases unassigned again, no states, runs or history), instead of generating it again."""
    from django.db import connection

    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("TRUNCATE strategy_casestrategy, strategy_strategyrun, portfolio_assignment, portfolio_caseevent, "
                    "core_auditlog")
        cur.execute(f"UPDATE portfolio_case SET assigned_to_id = NULL, team_id = NULL, assigned_at = NULL, "
                    f"first_contact_at = NULL, last_contact_at = NULL "
                    f"WHERE id > {OFFSET} AND (id - {OFFSET}) % 100 < 3")
        cur.execute("VACUUM ANALYZE portfolio_case")
    return time.perf_counter() - t0


def main():
    os.environ.update({"DB": "postgres", "PGDATABASE": DBNAME, "DB_CONN_MAX_AGE": "0",
                       "DJANGO_SETTINGS_MODULE": "qingshou.settings", "STRATEGY_INCREMENTAL": "0",
                       "STRATEGY_DEFAULT_CAPACITY": os.environ.get("STRATEGY_DEFAULT_CAPACITY", "100000")})
    os.environ.setdefault("QINGSHOU_VAR_DIR", "/tmp/qingshou-bench-strategy")
    os.environ.setdefault("STRATEGY_RUN_PROCESSES", "2")  # this machine has 2 cores
    reuse = os.environ.get("BENCH_STRATEGY_REUSE") == "1" and database_exists()
    if not reuse:
        pg_admin([f'DROP DATABASE IF EXISTS "{DBNAME}" WITH (FORCE)', f'CREATE DATABASE "{DBNAME}"'])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from qingshou.strategy.actions import run_strategy

    debtor_tpl, case_tpl = existing_world() if reuse else setup_world()
    results = []
    for n in SIZES:
        reused = reuse and generated_cases() == n
        gen = reset(n) if reused else generate(n, debtor_tpl, case_tpl)
        t0 = time.perf_counter()
        run, ran = run_strategy(trigger="bench", mode="capacity")
        total = time.perf_counter() - t0
        from qingshou.strategy.models import StrategyRun

        StrategyRun.objects.filter(pk=run.pk).delete()  # the next size runs again for the same day
        row = {"cases": n, "generate_s": round(gen, 1), "run_s": round(total, 1),
               "evaluate_s": run.report.get("seconds_evaluate"), "evaluated": run.cases, "assigned": run.assigned,
               "per_case_us": round(total / n * 1e6, 1),
               "reused": reused, "load_avg": round(os.getloadavg()[0], 1)}
        print(json.dumps(row), flush=True)
        results.append(row)
    print("\n| open cases | generate (s) | full run (s) | of which facts+score+rules+upsert (s) | assigned | µs/case "
          "| load |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['cases']:,} | {r['generate_s']} | {r['run_s']} | {r['evaluate_s']} | {r['assigned']:,} "
              f"| {r['per_case_us']} | {r['load_avg']} |")


if __name__ == "__main__":
    main()
