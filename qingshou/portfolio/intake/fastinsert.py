"""Fast inserts for intake: model instances built without Model.__init__, primary keys allocated up front,
rows written with COPY (PostgreSQL) or executemany (SQLite and others) inside the caller's transaction.

Every value still goes through the field's ``pre_save`` and ``get_db_prep_save`` (as bulk_create does), so
field-level behaviour such as encryption at rest or auto_now_add applies unchanged.
"""

from __future__ import annotations

import operator
import queue
import threading
from concurrent.futures import Future
from contextlib import closing
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models.base import ModelState

from qingshou.core import crypto
from qingshou.core.fields import EncryptedCharField, LookupHashField

# Exact field classes whose stored value is the Python value itself (no pre_save, no adaptation needed).
# Subclasses (an encrypted CharField, say) are not in this set and go through pre_save/get_db_prep_save.
_PLAIN = {models.CharField, models.TextField, models.IntegerField, models.PositiveIntegerField,
          models.BigIntegerField, models.AutoField, models.BigAutoField, models.BooleanField, models.ForeignKey}


class _Spec:
    def __init__(self, model):
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields]
        self.table = model._meta.db_table
        self.pk = model._meta.pk
        self.defaults = []
        self.static = {}  # attname -> default value, for fields whose default is not computed per instance
        self.computed = []  # fields with a callable default (a fresh value per instance: dict, now())
        for f in self.fields:
            if f.has_default() and callable(f.default):
                self.defaults.append((f.attname, f, True))
                self.computed.append(f)
            else:
                self.defaults.append((f.attname, f.get_default(), False))
                self.static[f.attname] = f.get_default()


_SPECS: dict = {}


def spec(model) -> _Spec:
    s = _SPECS.get(model)
    if s is None:
        s = _SPECS[model] = _Spec(model)
    return s


def new(model, **values):
    """An unsaved instance with ``values`` (by attname, e.g. ``debtor_id``) and the fields' defaults."""
    s = _SPECS.get(model) or spec(model)
    obj = model.__new__(model)
    d = obj.__dict__
    d["_state"] = ModelState()
    d.update(s.static)
    for f in s.computed:
        if f.attname not in values:
            d[f.attname] = f.get_default()
    d.update(values)
    return obj


class IdPool:
    """Primary keys handed out ahead of the insert, so children can point at parents not yet written.

    PostgreSQL: taken from the table's sequence (nextval), a block at a time. SQLite: the caller's
    transaction holds the database's write lock for the whole import, so max(id, sqlite_sequence) + 1
    onwards is ours.
    """

    def __init__(self, block=10_000, *, max_block=None):
        self.block = block
        self.max_block = max_block or block  # each model's blocks double up to this size
        self._blocks: dict = {}
        self._sequences_of: dict = {}  # model -> its PostgreSQL sequence
        self.runner = None  # fn(cursor) -> a Future of its result, run in turn with the COPYs (a CopyWriter.call)
        self._takers: dict = {}
        self._sequences: dict[str, str] = {}

    def taker(self, model):
        """A function () -> the next free primary key of ``model`` (a block is allocated when one runs out)."""
        t = self._takers.get(model)
        if t is None:
            t = self._takers[model] = self._ids(model).__next__
        return t

    def _ids(self, model):
        pending = None
        while True:
            block = pending.result() if pending is not None else self._allocate(model)
            # With a runner (PostgreSQL, a CopyWriter), the next block is asked for at once, in the writer's
            # turn: it is there when this one runs out, without waiting for the COPY under way.
            pending = self._prefetch(model) if self.runner is not None and model in self._sequences_of else None
            yield from block

    def _prefetch(self, model):
        seq = self._sequences_of[model]
        size = self._next_size(model)

        return self.runner(lambda cur: _nextvals(cur, seq, size))

    def _next_size(self, model) -> int:
        block = self._blocks.get(model, self.block)
        self._blocks[model] = min(block * 2, max(self.max_block, self.block))
        return block

    def take(self, model) -> int:
        return self.taker(model)()

    def _allocate(self, model):
        table = model._meta.db_table
        block = self._next_size(model)
        qn = connection.ops.quote_name
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                seq = self._sequences.get(table)
                if seq is None:
                    cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                    seq = self._sequences[table] = cur.fetchone()[0]
                self._sequences_of[model] = seq
                ids = _nextvals(cur, seq, block)
            else:
                cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {qn(table)}")  # noqa: S608 - a model's table name
                top = cur.fetchone()[0]
                if connection.vendor == "sqlite":
                    cur.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                    row = cur.fetchone()
                    top = max(top, row[0] if row else 0)
                nxt = getattr(self, "_next_" + table, None)
                start = max(top, nxt or 0) + 1
                ids = range(start, start + block)
                setattr(self, "_next_" + table, start + block - 1)
        return ids


def _nextvals(cursor, seq: str, n: int):
    """``n`` values of the sequence in one round trip (the sequence named once, not resolved per value): a
    range when they are consecutive (nobody else took one meanwhile: no list of ints to hold), else the list."""
    cursor.execute("WITH s AS (SELECT nextval(%s::regclass) AS v FROM generate_series(1, %s)) "
                   "SELECT min(v), max(v), count(*), CASE WHEN max(v) - min(v) + 1 = count(*) THEN NULL "
                   "ELSE array_agg(v ORDER BY v) END FROM s", [seq, n])
    low, high, _count, values = cursor.fetchone()
    return range(low, high + 1) if values is None else list(values)


def _getter(f, conn):
    """A function instance -> the value to store for field ``f``: what ``f.get_db_prep_save(f.pre_save(obj, True),
    conn)`` returns, with the per-value Django machinery skipped for the field types intake writes."""
    ftype = type(f)
    a = f.attname
    if ftype in _PLAIN:
        return lambda o: o.__dict__[a]
    if isinstance(f, EncryptedCharField) and type(f).get_db_prep_value is EncryptedCharField.get_db_prep_value:
        encrypt = crypto.encrypt

        def enc(o):
            v = o.__dict__[a]
            if v is None or type(v) is not str:
                return f.get_db_prep_save(f.pre_save(o, True), conn)
            return encrypt(v) if v else v
        return enc
    if ftype is LookupHashField:
        src = f.source_attname
        hash_value = crypto.hash_value

        def hashed(o):
            d = o.__dict__
            v = d.get(src)
            if type(v) is not str:
                return f.get_db_prep_save(f.pre_save(o, True), conn)
            return hash_value(v)
        return hashed
    if ftype is models.DecimalField:
        def dec(o):
            v = o.__dict__[a]
            if v is None:
                return None
            if type(v) is Decimal and v.is_finite() and conn.ops.adapt_decimalfield_value(v) is v:
                return v
            return f.get_db_prep_save(v, conn)
        return dec
    if ftype in (models.DateField, models.DateTimeField) and not (f.auto_now or f.auto_now_add):
        memo: dict = {}

        def temporal(o):
            v = o.__dict__[a]
            if v is None:
                return None
            key = (v, getattr(v, "tzinfo", None))
            out = memo.get(key, memo)
            if out is memo:
                out = memo[key] = f.get_db_prep_save(v, conn)
            return out
        return temporal
    return lambda o: f.get_db_prep_save(f.pre_save(o, True), conn)


def insert(model, objs) -> None:
    """INSERT these instances (primary keys set) in one COPY / executemany."""
    if not objs:
        return
    s = spec(model)
    fields = s.fields
    conn = connections[DEFAULT_DB_ALIAS]
    getters = [_getter(f, conn) for f in fields]
    rows = [tuple([g(o) for g in getters]) for o in objs]
    qn = conn.ops.quote_name
    cols = ", ".join(qn(f.column) for f in fields)
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {qn(s.table)} ({cols}) FROM STDIN") as cp:
                write_row = cp.write_row
                for row in rows:
                    write_row(row)
        else:
            marks = ", ".join(["%s"] * len(fields))
            cur.executemany(f"INSERT INTO {qn(s.table)} ({cols}) VALUES ({marks})", rows)  # noqa: S608
    alias = conn.alias
    for o in objs:
        st = o._state
        st.adding = False
        st.db = alias


# --- row writers: plain tuples straight to COPY / executemany, no model instances ---------------------------


class RowTable:
    """Rows of one model written as plain tuples in the order of ``columns`` (attnames).

    The caller gives every value already in its stored form (ciphertext for an encrypted field, its hash for
    the hash column, JSON text for a JSONField, values adapted with ``adapt_*`` for SQLite). Every concrete
    field not in ``columns`` gets the value a fresh instance would store (its default, auto_now_add = now),
    computed once for the whole import: all of them are constants (null, "", a default status, the import's
    timestamp).
    """

    def __init__(self, model, columns, *, order_by: str | None = None, plain_text: tuple = ()):
        conn = connections[DEFAULT_DB_ALIAS]
        self.model = model
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        self.columns = list(columns)
        # Rows written in the order of this column (a random lookup hash, say): its index then takes them in
        # key order, page after page, rather than at random across an index larger than the server's cache.
        self.sort_key = operator.itemgetter(self.columns.index(order_by)) if order_by else None
        # plain_text: text columns whose values never hold a backslash, tab or line break (ciphertexts, hashes,
        # choices): left out of the check whether a batch needs escaping.
        self.plain_text = set(plain_text)
        missing = [f for f in model._meta.concrete_fields if f.attname not in self.columns]
        probe = new(model)
        self.tail = tuple(f.get_db_prep_save(f.pre_save(probe, True), conn) for f in missing)
        qn = conn.ops.quote_name
        cols = [qn(by_attname[a].column) for a in self.columns] + [qn(f.column) for f in missing]
        self.table = qn(model._meta.db_table)
        self.sql_columns = ", ".join(cols)
        self.width = len(cols)
        self.rows: list[tuple] = []
        self.formatters = None
        if conn.vendor == "postgresql":
            try:
                self.formatters = _text_formatters([by_attname[a] for a in self.columns], self.tail,
                                                   plain_text={self.columns.index(a) for a in self.plain_text})
            except _NoText:
                pass  # psycopg's write_row, value by value

    def add(self, *values):
        self.rows.append(values)

    def copy_job(self):
        """The rows added so far as one job ``(statement, data)`` for ``run_jobs`` on the raw DB-API connection,
        and the table is empty again (None when there is nothing to write). PostgreSQL: a COPY and its text (or
        the rows, for write_row); SQLite: an INSERT for executemany and the rows."""
        rows, self.rows = self.rows, []
        if not rows:
            return None
        if self.sort_key is not None:
            rows.sort(key=self.sort_key)
        tail = self.tail
        if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
            marks = ", ".join(["?"] * self.width)
            sql = f"INSERT INTO {self.table} ({self.sql_columns}) VALUES ({marks})"  # noqa: S608
            return sql, [row + tail for row in rows] if tail else rows
        sql = f"COPY {self.table} ({self.sql_columns}) FROM STDIN"
        if self.formatters is not None:
            plain, escaping, texts = self.formatters
            blob = texts(rows)
            special = "\\" in blob or "\t" in blob or "\n" in blob or "\r" in blob
            return sql, (escaping if special else plain)(rows)
        return sql, [row + tail for row in rows] if tail else rows

    def flush(self):
        """Write the rows added so far, now."""
        job = self.copy_job()
        if job is None:
            return
        conn = connections[DEFAULT_DB_ALIAS]
        with conn.cursor() as cur:
            run_jobs(cur.cursor, [job])


def run_jobs(cursor, jobs, *, skip_fk: bool = False) -> None:
    """Run ``copy_job`` jobs on a DB-API cursor of the raw connection; with ``skip_fk`` (PostgreSQL), with the
    foreign-key triggers of the transaction switched off around them (see ``set_fk_triggers``)."""
    if skip_fk:
        cursor.execute("SET LOCAL session_replication_role = replica")
    for sql, data in jobs:
        if not sql.startswith("COPY "):
            cursor.executemany(sql, data)
            continue
        with cursor.copy(sql) as cp:
            if isinstance(data, str):
                cp.write(data)
            else:
                write_row = cp.write_row
                for row in data:
                    write_row(row)
    if skip_fk:
        cursor.execute("SET LOCAL session_replication_role = origin")


class CopyWriter:
    """Writes in a background thread on the importing transaction's own connection, so that the database works
    on one batch while this process prepares the next: PostgreSQL COPYs (psycopg connections may be shared by
    threads; their operations are serialised), SQLite executemany (the sqlite3 module lets other threads run
    while SQLite works, and a connection may be shared when the library is thread-safe). Jobs run one at a
    time, in order, at most ``ahead`` batches waiting; the first error is raised by the next ``submit``,
    ``drain`` or ``close``, and nothing more runs after it. ``call(fn)`` runs ``fn(cursor)`` in the same order
    and returns a Future of its result."""

    def __init__(self, raw_connection, *, skip_fk: bool, ahead: int = 1):
        self.raw = raw_connection
        self.skip_fk = skip_fk
        self.error = None
        self.jobs = queue.Queue()
        self.room = threading.BoundedSemaphore(ahead + 1)  # the batch being written and those waiting
        self.thread = threading.Thread(target=self._run, name="qingshou-intake-copy", daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            job = self.jobs.get()
            try:
                if job is None:
                    return
                kind, payload = job
                if kind == "call":
                    fn, future = payload
                    if self.error is not None:
                        future.set_exception(RuntimeError("an earlier write failed"))
                        continue
                    try:
                        with closing(self.raw.cursor()) as cur:
                            future.set_result(fn(cur))
                    except BaseException as exc:  # noqa: BLE001 - handed over through the future
                        future.set_exception(exc)
                        self.error = self.error or exc
                else:
                    try:
                        if self.error is None:
                            with closing(self.raw.cursor()) as cur:
                                run_jobs(cur, payload, skip_fk=self.skip_fk)
                    finally:
                        self.room.release()
            except BaseException as exc:  # noqa: BLE001 - raised in the importing thread
                self.error = self.error or exc
            finally:
                self.jobs.task_done()

    def _raise(self):
        if self.error is not None:
            raise self.error

    def submit(self, jobs) -> None:
        self._raise()
        if jobs:
            self.room.acquire()
            self.jobs.put(("copy", jobs))

    def call(self, fn) -> Future:
        future = Future()
        self.jobs.put(("call", (fn, future)))
        return future

    def drain(self) -> None:
        """Wait until every job submitted is done."""
        self.jobs.join()
        self._raise()

    def close(self) -> None:
        """Wait for the writes under way and stop the thread (raising the first error, if any)."""
        if self.thread.is_alive():
            self.jobs.put(None)
            self.thread.join()
        self._raise()


# --- COPY text built by Python's own string formatting ---------------------------------------------------------
#
# psycopg's write_row looks up a dumper for every value; for the few column types intake writes, an f-string per
# row (compiled once per table) makes the same COPY text several times faster. Text columns are escaped only
# when the batch holds a backslash, tab or line break at all.

class _NoText(Exception):
    """A column this formatter does not know: the table is written with write_row."""


_NUMERIC = (models.IntegerField, models.BigIntegerField, models.PositiveIntegerField, models.SmallIntegerField,
            models.AutoField, models.BigAutoField, models.ForeignKey, models.DecimalField)
_TEMPORAL = (models.DateField, models.DateTimeField, models.TimeField)
_TEXT = (models.CharField, models.TextField, models.JSONField)


def copy_escape(value: str) -> str:
    """A text value as PostgreSQL's COPY text format writes it."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_constant(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return copy_escape(value.value if hasattr(value, "value") else value)
    if isinstance(value, int | Decimal):
        return str(value)
    raise _NoText(type(value))


def _text_formatters(fields, tail, *, plain_text=frozenset()):
    """(plain, escaping, texts) for rows of these fields (values in their stored form): ``plain(rows)`` and
    ``escaping(rows)`` give the COPY text of the rows (escaping the text columns), ``texts(rows)`` the values of
    the text columns joined (to see whether escaping is needed; not those at the indexes in ``plain_text``,
    which never need it)."""
    names = [f"v{i}" for i in range(len(fields))]
    plain, escaping, texts = [], [], []
    for i, (name, f) in enumerate(zip(names, fields, strict=True)):
        if isinstance(f, (*_NUMERIC, *_TEMPORAL)):  # str() of a date/datetime is a form PostgreSQL reads
            value = escaped = name
        elif isinstance(f, _TEXT):
            value, escaped = name, f"esc({name})"
            if i not in plain_text:
                texts.append(f"{{{name} or ''}}" if f.null else f"{{{name}}}")
        else:
            raise _NoText(type(f))
        if f.null:
            value = f"NULL if {name} is None else {value}"
            escaped = f"NULL if {name} is None else {escaped}"
        plain.append(f"{{{value}}}")
        escaping.append(f"{{{escaped}}}")
    unpack = ", ".join(names) + ","
    env = {"esc": copy_escape, "NULL": "\\N", "TAIL": "".join("\t" + _copy_constant(v) for v in tail) + "\n"}

    def compile_rows(parts, sep="\\t", line_end=""):
        source = f'lambda rows: "".join([f"{sep.join(parts)}{line_end}" for {unpack} in rows])'
        return eval(source, env)  # noqa: S307 - source built here from field names, nothing from the data

    return (compile_rows(plain, line_end="{TAIL}"), compile_rows(escaping, line_end="{TAIL}"),
            compile_rows(texts, sep="") if texts else (lambda rows: ""))


def skip_fk_triggers_possible() -> bool:
    """Whether this PostgreSQL session may set ``session_replication_role`` (superuser, or granted
    ``SET ON PARAMETER session_replication_role`` on PostgreSQL 15+)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cur:
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cur.fetchone()
        if row and row[0]:
            return True
        if connection.pg_version >= 150000:
            cur.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
            return bool(cur.fetchone()[0])
    return False


def set_fk_triggers(enabled: bool) -> None:
    """Switch the foreign-key triggers of THIS transaction off (replica) or back on (origin); SET LOCAL, so the
    setting never outlives the transaction, whatever happens."""
    with connection.cursor() as cur:
        cur.execute(f"SET LOCAL session_replication_role = {'origin' if enabled else 'replica'}")


def lock_key_share(model, ids) -> None:
    """Take FOR KEY SHARE row locks on existing parent rows (what a foreign-key check would take), so nobody
    deletes them before commit while rows pointing at them are written with the checks switched off."""
    ids = list(ids)
    if not ids or connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(f"SELECT 1 FROM {table} WHERE id = ANY(%s) FOR KEY SHARE", [ids])  # noqa: S608


def update_rows(model, columns, rows) -> None:
    """UPDATE rows by primary key: ``rows`` are tuples ``(pk, *values)`` in the order of ``columns`` (attnames),
    values in their stored form. PostgreSQL: COPY into a temporary table, then one UPDATE … FROM; others:
    executemany. (bulk_update's CASE WHEN per field costs seconds per thousand rows.)"""
    if not rows:
        return
    conn = connections[DEFAULT_DB_ALIAS]
    qn = conn.ops.quote_name
    fields = [model._meta.get_field(a) if a != "pk" else model._meta.pk for a in columns]
    table = qn(model._meta.db_table)
    pk_col = qn(model._meta.pk.column)
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            tmp = qn(f"_intake_upd_{model._meta.db_table}")
            defs = ", ".join(f"{qn(f.column)} {f.db_type(conn)}" for f in fields)
            cur.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {tmp} (_pk bigint PRIMARY KEY, {defs}) "
                        "ON COMMIT DROP")
            cur.execute(f"TRUNCATE {tmp}")
            cols = ", ".join(qn(f.column) for f in fields)
            with cur.cursor.copy(f"COPY {tmp} (_pk, {cols}) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)
            sets = ", ".join(f"{qn(f.column)} = t.{qn(f.column)}" for f in fields)
            cur.execute(f"UPDATE {table} SET {sets} FROM {tmp} t WHERE {table}.{pk_col} = t._pk")  # noqa: S608
        else:
            sets = ", ".join(f"{qn(f.column)} = %s" for f in fields)
            cur.executemany(f"UPDATE {table} SET {sets} WHERE {pk_col} = %s",  # noqa: S608
                            [(*row[1:], row[0]) for row in rows])


def background_writes_possible() -> bool:
    """Whether the import's writes may run in a CopyWriter thread on this connection."""
    vendor = connection.vendor
    if vendor == "postgresql":
        return True
    if vendor == "sqlite":
        import sqlite3

        return sqlite3.threadsafety == 3  # SQLite built serialized: one connection, several threads
    return False


SQLITE_CACHE_KIB_PER_ROW = 2  # about what the pages an imported row touches take (13 rows, about 20 indexes)
SQLITE_MAX_CACHE_KIB = 256 * 1024


def grow_sqlite_cache(expected_rows: int):
    """SQLite: a page cache in proportion to the file (up to 256 MiB) for the import, so that the indexes it
    writes stay in memory instead of being spilled and read back; returns a function that puts the connection's
    setting back (None when nothing was changed)."""
    if connection.vendor != "sqlite":
        return None
    want = min(SQLITE_MAX_CACHE_KIB, expected_rows * SQLITE_CACHE_KIB_PER_ROW)
    with connection.cursor() as cur:
        cur.execute("PRAGMA cache_size")
        before = cur.fetchone()[0]
        current_kib = -before if before < 0 else before * 4  # pages of (at most) 4 KiB when positive
        if want <= current_kib:
            return None
        cur.execute(f"PRAGMA cache_size = -{int(want)}")

    def restore():
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA cache_size = {int(before)}")

    return restore


# --- secondary indexes built after the load (PostgreSQL, tables empty at the start) ----------------------------


class DeferredIndexes:
    """Builds the secondary indexes of tables that were empty when the import started after their rows are in,
    as pg_restore does: one sort per index instead of millions of insertions at random places (the lookup
    hashes, the account numbers). Everything happens in the import's own transaction (PostgreSQL's DDL is
    transactional): a crash, a kill or a rejected file rolls the drops back with the rows, and the indexes are
    exactly as before. A unique constraint is checked again when it is rebuilt.

    PostgreSQL only, and only for tables with no row at all: dropping an index takes the table's ACCESS
    EXCLUSIVE lock until commit, which an empty table costs nobody (there is nothing to read in it yet; the
    first placement of a new system, a migration from another one). Indexes whose leading column is in
    ``keep`` (the loader's own lookups while it loads: parties by debtor, phones and addresses by party) stay.
    If a lock is not granted within ``LOCK_TIMEOUT_MS`` (another transaction uses the table), nothing is deferred.
    """

    LOCK_TIMEOUT_MS = 2000
    MAINTENANCE_WORK_MEM = "512MB"  # for the index builds only: each sorts in memory instead of on disk

    def __init__(self, models, *, keep: dict | None = None):
        self.models = list(models)
        self.keep = {m: set(cols) for m, cols in (keep or {}).items()}
        self.rebuild: list[str] = []  # statements, in order
        self.deferred: set = set()  # models whose indexes wait

    def start(self) -> set:
        """Drop what can be deferred; returns the models whose indexes now wait for ``finish``."""
        if connection.vendor != "postgresql" or not connection.in_atomic_block:
            return set()  # outside a transaction a drop would be committed at once: never
        from django.db import DatabaseError, transaction

        qn = connection.ops.quote_name
        try:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute("SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)",
                            [f"{int(self.LOCK_TIMEOUT_MS)}ms"])
                lock_timeout = cur.fetchone()[0]
                rebuild, deferred = [], set()
                for model in self.models:
                    table = model._meta.db_table
                    cur.execute(f"SELECT EXISTS (SELECT 1 FROM {qn(table)})")  # noqa: S608 - a model's table
                    if cur.fetchone()[0]:
                        continue
                    cur.execute(_INDEXES_SQL, [table])
                    drops = []
                    for index, index_def, constraint, constraint_def, first_column in cur.fetchall():
                        if first_column in self.keep.get(model, ()):
                            continue
                        if constraint:
                            drops.append(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(constraint)}")
                            rebuild.append(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(constraint)} {constraint_def}")
                        else:
                            drops.append(f"DROP INDEX {qn(index)}")
                            rebuild.append(index_def)
                    for sql in drops:
                        cur.execute(sql)
                    if drops:
                        deferred.add(model)
                cur.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
        except DatabaseError:  # a lock not had in time: load with the indexes in place
            return set()
        self.rebuild, self.deferred = rebuild, deferred
        return deferred

    def finish(self) -> None:
        """Build the dropped indexes again (in the caller's transaction), with memory enough to sort in RAM."""
        statements, self.rebuild = self.rebuild, []
        if not statements:
            return
        with connection.cursor() as cur:
            # Deferred foreign-key checks (a role that may not switch them off) run now: an index cannot be built
            # on a table with pending trigger events. Later statements get deferred checks again.
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute("SELECT current_setting('maintenance_work_mem'), set_config('maintenance_work_mem', %s, true)",
                        [self.MAINTENANCE_WORK_MEM])
            work_mem = cur.fetchone()[0]
            for sql in statements:
                cur.execute(sql)
            cur.execute("SELECT set_config('maintenance_work_mem', %s, true)", [work_mem])
            cur.execute("SET CONSTRAINTS ALL DEFERRED")


# Secondary (not primary-key) indexes of a table: name, definition, the constraint it backs (unique) and its
# definition, and the name of its leading column (None for an expression).
_INDEXES_SQL = """
SELECT i.relname, pg_get_indexdef(i.oid), c.conname, pg_get_constraintdef(c.oid), a.attname
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid AND c.contype IN ('u', 'x')
LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
WHERE x.indrelid = %s::regclass AND NOT x.indisprimary
ORDER BY i.relname
"""
