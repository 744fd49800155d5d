"""Fast inserts for intake: model instances built without Model.__init__, primary keys allocated up front,
rows written with COPY (PostgreSQL) or executemany (SQLite and others) inside the caller's transaction.

Every value still goes through the field's ``pre_save`` and ``get_db_prep_save`` (as bulk_create does), so
field-level behaviour such as encryption at rest or auto_now_add applies unchanged.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models.base import ModelState

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
        for f in self.fields:
            if f.has_default() and callable(f.default):
                self.defaults.append((f.attname, f, True))
            else:
                self.defaults.append((f.attname, f.get_default(), False))


_SPECS: dict = {}


def spec(model) -> _Spec:
    s = _SPECS.get(model)
    if s is None:
        s = _SPECS[model] = _Spec(model)
    return s


def new(model, **values):
    """An unsaved instance with ``values`` (by attname, e.g. ``debtor_id``) and the fields' defaults."""
    obj = model.__new__(model)
    obj._state = ModelState()
    d = obj.__dict__
    for attname, default, is_callable in spec(model).defaults:
        if attname not in values:
            d[attname] = default.get_default() if is_callable else default
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
                cur.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                            [table, self.block])
                ids = [r[0] for r in cur.fetchall()]
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


def insert(model, objs) -> None:
    """INSERT these instances (primary keys set) in one COPY / executemany."""
    if not objs:
        return
    s = spec(model)
    fields = s.fields
    conn = connections[DEFAULT_DB_ALIAS]
    getters = []
    for f in fields:
        if type(f) in _PLAIN:
            getters.append(lambda o, a=f.attname: o.__dict__[a])
        else:
            getters.append(lambda o, f=f: f.get_db_prep_save(f.pre_save(o, True), conn))
    rows = [tuple(g(o) for g in getters) for o in objs]
    qn = conn.ops.quote_name
    cols = ", ".join(qn(f.column) for f in fields)
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {qn(s.table)} ({cols}) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(fields))
            cur.executemany(f"INSERT INTO {qn(s.table)} ({cols}) VALUES ({marks})", rows)  # noqa: S608
    for o in objs:
        o._state.adding = False
        o._state.db = conn.alias
