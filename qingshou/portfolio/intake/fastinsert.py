"""Fast inserts for intake: model instances built without Model.__init__, primary keys allocated up front,
rows written with COPY (PostgreSQL) or executemany (SQLite and others) inside the caller's transaction.

Every value still goes through the field's ``pre_save`` and ``get_db_prep_save`` (as bulk_create does), so
field-level behaviour such as encryption at rest or auto_now_add applies unchanged.
"""

from __future__ import annotations

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

    def __init__(self, block=10_000):
        self.block = block
        self.free: dict = {}
        self._sequences: dict[str, str] = {}

    def take(self, model) -> int:
        pool = self.free.get(model)
        if not pool:
            pool = self.free[model] = self._allocate(model)
        return pool.pop()

    def _allocate(self, model) -> list[int]:
        table = model._meta.db_table
        qn = connection.ops.quote_name
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                seq = self._sequences.get(table)
                if seq is None:
                    cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                    seq = self._sequences[table] = cur.fetchone()[0]
                # One array of ids in one round trip; the sequence is named once, not resolved per value.
                cur.execute("SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s)",
                            [seq, self.block])
                ids = list(cur.fetchone()[0])
            else:
                cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {qn(table)}")  # noqa: S608 - a model's table name
                top = cur.fetchone()[0]
                if connection.vendor == "sqlite":
                    cur.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                    row = cur.fetchone()
                    top = max(top, row[0] if row else 0)
                nxt = getattr(self, "_next_" + table, None)
                start = max(top, nxt or 0) + 1
                ids = list(range(start, start + self.block))
                setattr(self, "_next_" + table, start + self.block - 1)
        ids.reverse()
        return ids


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

    def __init__(self, model, columns):
        conn = connections[DEFAULT_DB_ALIAS]
        self.model = model
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        self.columns = list(columns)
        missing = [f for f in model._meta.concrete_fields if f.attname not in self.columns]
        probe = new(model)
        self.tail = tuple(f.get_db_prep_save(f.pre_save(probe, True), conn) for f in missing)
        qn = conn.ops.quote_name
        cols = [qn(by_attname[a].column) for a in self.columns] + [qn(f.column) for f in missing]
        self.table = qn(model._meta.db_table)
        self.sql_columns = ", ".join(cols)
        self.width = len(cols)
        self.rows: list[tuple] = []

    def add(self, *values):
        self.rows.append(values)

    def flush(self):
        rows, self.rows = self.rows, []
        if not rows:
            return 0
        conn = connections[DEFAULT_DB_ALIAS]
        tail = self.tail
        with conn.cursor() as cur:
            if conn.vendor == "postgresql":
                with cur.cursor.copy(f"COPY {self.table} ({self.sql_columns}) FROM STDIN") as cp:
                    write_row = cp.write_row
                    if tail:
                        for row in rows:
                            write_row(row + tail)
                    else:
                        for row in rows:
                            write_row(row)
            else:
                marks = ", ".join(["%s"] * self.width)
                sql = f"INSERT INTO {self.table} ({self.sql_columns}) VALUES ({marks})"  # noqa: S608
                cur.executemany(sql, [row + tail for row in rows] if tail else rows)
        return len(rows)


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
