"""Placement import benchmark: `make bench-import`.

BENCH_IMPORT_ROWS="100000 1000000", BENCH_IMPORT_DB="postgres sqlite", BENCH_IMPORT_SQLITE_MAX=100000.

For each database and size: generates a deterministic placement CSV (30 columns, two third parties per row;
1,000,000 rows is about 330 MB) into a temporary directory (never committed, removed afterwards), makes a fresh
database (SQLite file, or a scratch PostgreSQL database `qingshou_bench` on PGHOST), migrates, and times
`create_import` + `run_placement_import` in a child process (so peak memory, resource.getrusage ru_maxrss, is that
import's alone). On PostgreSQL it also times, in the same run, a raw `COPY` of the same file into a plain table of
30 text columns plus two indexes (account number, ID number) and prints the ratio import / COPY.
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
    from qingshou.org.models import Creditor
    from qingshou.portfolio.intake import create_import, run_placement_import

    creditor = Creditor.objects.create(code="BENCH", name="基准测试银行")
    t0 = time.perf_counter()
    imp = create_import(csv_path, creditor=creditor, placement_code="BENCH-1")
    imp = run_placement_import(imp.pk)
    secs = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"status": imp.status, "rows": imp.total_rows, "created": imp.created_count, "seconds": secs,
            "peak_mb": peak_kb / 1024, "message": imp.message}


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
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            with cur.copy("COPY bench_raw FROM STDIN WITH (FORMAT csv, HEADER true)") as cp, open(csv_path, "rb") as f:
                while chunk := f.read(1 << 20):
                    cp.write(chunk)
            cur.execute("CREATE INDEX bench_raw_account ON bench_raw (c3)")
            cur.execute("CREATE INDEX bench_raw_idnum ON bench_raw (c1)")
        conn.commit()
        secs = time.perf_counter() - t0
        conn.execute("DROP TABLE bench_raw")
        conn.commit()
    return secs


def run_one(db: str, n: int, workdir: Path) -> dict:
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
        pg_admin([f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)", f"CREATE DATABASE {PG_BENCH_DB}"])
    out = subprocess.run([sys.executable, __file__, "--child", str(csv_path), db], env=env, cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"import child failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(db=db, n=n, size_mb=csv_path.stat().st_size / 1e6)
    if db == "postgres":
        os.environ.update({"PGDATABASE": PG_BENCH_DB})
        result["copy_seconds"] = raw_copy(str(csv_path))
        pg_admin([f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)"])
    return result


def main():
    sizes = [int(x) for x in os.environ.get("BENCH_IMPORT_ROWS", "100000 1000000").split()]
    dbs = os.environ.get("BENCH_IMPORT_DB", "postgres sqlite").split()
    sqlite_max = int(os.environ.get("BENCH_IMPORT_SQLITE_MAX", "100000"))
    workdir = Path(tempfile.mkdtemp(prefix="qingshou-bench-import-"))
    results = []
    try:
        for db in dbs:
            for n in sizes:
                if db == "sqlite" and n > sqlite_max:
                    continue
                print(f"== {db}, {n:,} rows", flush=True)
                r = run_one(db, n, workdir)
                results.append(r)
                line = (f"  import: {r['seconds']:.1f} s, {r['rows'] / r['seconds']:,.0f} rows/s, "
                        f"peak {r['peak_mb']:,.0f} MB, status {r['status']}, created {r['created']:,}")
                if "copy_seconds" in r:
                    ratio = r["seconds"] / r["copy_seconds"]
                    line += f"\n  raw COPY + 2 indexes: {r['copy_seconds']:.1f} s; ratio {ratio:.1f}x"
                print(line, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n| DB | rows | file MB | import s | rows/s | peak MB | raw COPY s | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        copy = f"{r['copy_seconds']:.1f}" if "copy_seconds" in r else "–"
        ratio = f"{r['seconds'] / r['copy_seconds']:.1f}×" if "copy_seconds" in r else "–"
        print(f"| {r['db']} | {r['n']:,} | {r['size_mb']:.0f} | {r['seconds']:.1f} | {r['rows'] / r['seconds']:,.0f} "
              f"| {r['peak_mb']:,.0f} | {copy} | {ratio} |")


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--child":
        print(json.dumps(child_import(sys.argv[2], sys.argv[3])))
    else:
        main()
