"""Placement import benchmark: `make bench-import`.

Options: --rows "100000 1000000" --db "postgres sqlite" --repeat 1 (or BENCH_IMPORT_ROWS, BENCH_IMPORT_DB,
BENCH_IMPORT_REPEAT; `make bench-import ARGS="--rows 100000 --db postgres"`).

For each database and size: generates a deterministic placement CSV (30 columns, two third parties per row;
1,000,000 rows is about 330 MB) into a temporary directory (never committed, removed afterwards), makes a fresh
database (SQLite file, or a scratch PostgreSQL database `qingshou_bench` on PGHOST), migrates, and times
`create_import` + `run_placement_import` in a child process (so peak memory, resource.getrusage ru_maxrss, is that
import's alone). On PostgreSQL it also times, in the same run, a raw `COPY` of the same file into a plain table of
30 text columns plus two indexes (account number, ID number) and prints the ratio import / COPY.

--floor (PostgreSQL): also writes the import's own COPY text to files as it goes, then COPYs that text again into
a fresh schema, table by table, once with every index and once with the primary keys only, and prints the
database CPU of each: what the rows the schema needs cost the server, with no Python work at all, next to the
raw COPY of the file.
"""

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_BENCH_DB = os.environ.get("BENCH_PGDATABASE", "qingshou_bench")


def pg_env():
    return {"PGHOST": os.environ.get("PGHOST", "127.0.0.1"), "PGUSER": os.environ.get("PGUSER", "postgres"),
            "PGPASSWORD": os.environ.get("PGPASSWORD", "")}


def pg_admin(sql_list):
    import psycopg

    e = pg_env()
    with psycopg.connect(host=e["PGHOST"], user=e["PGUSER"], password=e["PGPASSWORD"] or None, dbname="postgres",
                         autocommit=True) as conn:
        for sql in sql_list:
            conn.execute(sql)


def generate(path: Path, n: int):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qingshou.settings")
    from qingshou.portfolio.intake.sample import write_csv

    t0 = time.perf_counter()
    write_csv(path, n, seed=3)
    return time.perf_counter() - t0


def child_import(csv_path: str, db: str) -> dict:
    """Runs in a fresh process with the environment set by the parent."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.db import connection

    from qingshou.org.models import Creditor
    from qingshou.portfolio.intake import create_import, run_placement_import

    dump_dir = os.environ.get("BENCH_IMPORT_DUMP")
    if dump_dir:
        _tee_copy_text(Path(dump_dir))
    creditor = Creditor.objects.create(code="BENCH", name="基准测试银行")
    backend = None
    if db == "postgres":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend = cur.fetchone()[0]
    db_cpu0, cpu0 = backend_cpu(backend), process_cpu()
    t0 = time.perf_counter()
    imp = create_import(csv_path, creditor=creditor, placement_code="BENCH-1")
    imp = run_placement_import(imp.pk)
    secs = time.perf_counter() - t0
    cpu, db_cpu = process_cpu() - cpu0, backend_cpu(backend) - db_cpu0
    peak_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {"status": imp.status, "rows": imp.total_rows, "created": imp.created_count, "seconds": secs,
            "peak_mb": peak_kb / 1024, "message": imp.message, "cpu": cpu, "db_cpu": db_cpu}


INTAKE_TABLES = ["portfolio_debtor", "portfolio_party", "portfolio_phone", "portfolio_address", "portfolio_case",
                 "portfolio_caseevent"]


def _tee_copy_text(dump: Path):
    """Make the import append the text of each COPY it runs to ``dump/<table>.txt`` (statement in .sql)."""
    from qingshou.portfolio.intake import fastinsert

    real = fastinsert.run_jobs

    def run_jobs(cursor, jobs, **kw):
        for sql, data in jobs:
            if sql.startswith("COPY ") and isinstance(data, str):
                table = sql.split()[1].strip('"')
                (dump / f"{table}.sql").write_text(sql)
                with open(dump / f"{table}.txt", "a") as f:
                    f.write(data)
        return real(cursor, jobs, **kw)

    fastinsert.run_jobs = run_jobs


def replay_floor(dump: Path) -> dict:
    """COPY the import's own text again into the (empty, migrated) scratch database, table by table: with every
    index, then with the primary keys only. Returns {"indexes": {table: db CPU s}, "pk_only": {...}}."""
    import psycopg

    e = pg_env()
    out = {}
    for mode in ("indexes", "pk_only"):
        with psycopg.connect(host=e["PGHOST"], user=e["PGUSER"], password=e["PGPASSWORD"] or None,
                             dbname=PG_BENCH_DB) as conn:
            cur = conn.cursor()
            cur.execute("TRUNCATE " + ", ".join(INTAKE_TABLES) + " CASCADE")
            cur.execute("SET session_replication_role = replica")  # as the import: no row-by-row FK checks
            if mode == "pk_only":
                for table in INTAKE_TABLES:
                    for name, is_constraint in cur.execute(
                            "SELECT i.relname, EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid) "
                            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                            "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary", [table]).fetchall():
                        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"' if is_constraint
                                    else f'DROP INDEX "{name}"')
            backend = cur.execute("SELECT pg_backend_pid()").fetchone()[0]
            times = out[mode] = {}
            for table in INTAKE_TABLES:
                if not (dump / f"{table}.sql").exists():
                    continue
                cpu0 = backend_cpu(backend)
                with cur.copy((dump / f"{table}.sql").read_text()) as cp, open(dump / f"{table}.txt", "rb") as f:
                    while chunk := f.read(1 << 20):
                        cp.write(chunk)
                times[table] = backend_cpu(backend) - cpu0
            conn.rollback()
    return out


def process_cpu() -> float:
    """CPU seconds of this process and its finished children (the reader process)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def backend_cpu(pid) -> float:
    """CPU seconds used so far by a PostgreSQL backend process, when the server runs on this machine (else 0)."""
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_copy(csv_path: str) -> float:
    import psycopg

    from qingshou.portfolio.intake.sample import HEADERS

    e = pg_env()
    cols = ", ".join(f"c{i} text" for i in range(len(HEADERS)))
    with psycopg.connect(host=e["PGHOST"], user=e["PGUSER"], password=e["PGPASSWORD"] or None,
                         dbname=PG_BENCH_DB) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_raw")
        conn.execute(f"CREATE TABLE bench_raw ({cols})")
        conn.commit()
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        db_cpu0, cpu0 = backend_cpu(backend), process_cpu()
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            with cur.copy("COPY bench_raw FROM STDIN WITH (FORMAT csv, HEADER true)") as cp, open(csv_path, "rb") as f:
                while chunk := f.read(1 << 20):
                    cp.write(chunk)
            cur.execute("CREATE INDEX bench_raw_account ON bench_raw (c3)")
            cur.execute("CREATE INDEX bench_raw_idnum ON bench_raw (c1)")
        conn.commit()
        secs = time.perf_counter() - t0
        cpu = process_cpu() - cpu0 + backend_cpu(backend) - db_cpu0
        conn.execute("DROP TABLE bench_raw")
        conn.commit()
    return secs, cpu


def run_one(db: str, n: int, workdir: Path, *, floor: bool = False) -> dict:
    csv_path = workdir / f"placement-{n}.csv"
    if not csv_path.exists():
        gen = generate(csv_path, n)
        print(f"  generated {n:,} rows, {csv_path.stat().st_size / 1e6:.0f} MB in {gen:.1f} s", flush=True)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "qingshou.settings", "QINGSHOU_VAR_DIR": str(workdir / "var"),
           "DB": db, "DB_CONN_MAX_AGE": "0"}
    (workdir / "var").mkdir(exist_ok=True)
    if db == "sqlite":
        dbfile = workdir / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(str(dbfile) + suffix).unlink(missing_ok=True)
        env["SQLITE_PATH"] = str(dbfile)
    else:
        env.update(pg_env())
        env["PGDATABASE"] = PG_BENCH_DB
        if floor:
            dump = workdir / "copy-text"
            shutil.rmtree(dump, ignore_errors=True)
            dump.mkdir()
            env["BENCH_IMPORT_DUMP"] = str(dump)
        pg_admin([f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)", f"CREATE DATABASE {PG_BENCH_DB}"])
    out = subprocess.run([sys.executable, __file__, "--child", str(csv_path), db], env=env, cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"import child failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(db=db, n=n, size_mb=csv_path.stat().st_size / 1e6)
    if db == "postgres":
        os.environ.update({"PGDATABASE": PG_BENCH_DB})
        result["copy_seconds"], result["copy_cpu"] = raw_copy(str(csv_path))
        if floor:
            result["floor"] = replay_floor(workdir / "copy-text")
            result["copy_text_mb"] = sum(f.stat().st_size for f in (workdir / "copy-text").glob("*.txt")) / 1e6
            shutil.rmtree(workdir / "copy-text", ignore_errors=True)
        pg_admin([f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)"])
    return result


def main():
    import argparse

    parser = argparse.ArgumentParser(description="Placement import benchmark (make bench-import).")
    parser.add_argument("--rows", default=os.environ.get("BENCH_IMPORT_ROWS", "100000 1000000"),
                        help="row counts, space-separated (default: 100000 1000000)")
    parser.add_argument("--db", default=os.environ.get("BENCH_IMPORT_DB", "postgres sqlite"),
                        help="databases, space-separated: postgres sqlite")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_IMPORT_REPEAT", "1")),
                        help="runs of each (db, rows); every run is printed")
    parser.add_argument("--floor", action="store_true",
                        help="PostgreSQL: also replay the import's own COPY text (with all indexes, with primary keys "
                             "only) and print the database CPU it takes")
    args = parser.parse_args()
    sizes = [int(x) for x in args.rows.replace(",", " ").split()]
    dbs = args.db.replace(",", " ").split()
    workdir = Path(tempfile.mkdtemp(prefix="qingshou-bench-import-"))
    results = []
    print(f"machine: {os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.1f}", flush=True)
    try:
        for n in sizes:
            for db in dbs:
                for _ in range(args.repeat):
                    print(f"== {db}, {n:,} rows", flush=True)
                    r = run_one(db, n, workdir, floor=args.floor and db == "postgres")
                    r["load"] = os.getloadavg()[0]
                    results.append(r)
                    line = (f"  import: {r['seconds']:.1f} s, {r['rows'] / r['seconds']:,.0f} rows/s, "
                            f"peak {r['peak_mb']:,.0f} MB, CPU {r['cpu']:.1f} s + database {r['db_cpu']:.1f} s, "
                            f"status {r['status']}, created {r['created']:,}")
                    if "copy_seconds" in r:
                        ratio = r["seconds"] / r["copy_seconds"]
                        line += (f"\n  raw COPY + 2 indexes: {r['copy_seconds']:.1f} s (CPU {r['copy_cpu']:.1f} s); "
                                 f"ratio {ratio:.1f}x")
                    print(line, f"(load average {r['load']:.1f})", flush=True)
                    if "floor" in r:
                        for mode, label in (("indexes", "every index"), ("pk_only", "primary keys only")):
                            per = r["floor"][mode]
                            print(f"  floor, the import's COPY text ({r['copy_text_mb']:.0f} MB) again, {label}: "
                                  f"database CPU {sum(per.values()):.1f} s = "
                                  f"{sum(per.values()) / r['copy_cpu']:.1f}x the raw COPY's CPU ("
                                  + ", ".join(f"{t.removeprefix('portfolio_')} {v:.1f}" for t, v in per.items())
                                  + ")", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n| DB | rows | file MB | import s | rows/s | peak MB | CPU s (app + DB) | raw COPY s | ratio | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        copy = f"{r['copy_seconds']:.1f}" if "copy_seconds" in r else "–"
        ratio = f"{r['seconds'] / r['copy_seconds']:.1f}×" if "copy_seconds" in r else "–"
        print(f"| {r['db']} | {r['n']:,} | {r['size_mb']:.0f} | {r['seconds']:.1f} | {r['rows'] / r['seconds']:,.0f} "
              f"| {r['peak_mb']:,.0f} | {r['cpu']:.0f} + {r['db_cpu']:.0f} | {copy} | {ratio} | {r['load']:.1f} |")


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--child":
        print(json.dumps(child_import(sys.argv[2], sys.argv[3])))
    else:
        main()
