"""The placement import action (委案导入).

Transactions: the whole load of one file runs in ONE database transaction (PostgreSQL and SQLite alike).
Rows are streamed, validated and written in batches inside it; the Import row's final status and counts are
written in the same transaction. A crash or kill at any moment therefore leaves no partial placement: the
transaction rolls back (PostgreSQL on disconnect, SQLite from its journal on next open) and the Import stays
``running`` (or becomes ``failed``) with nothing loaded. All-or-nothing: at the first invalid row loading
stops (validation goes on to report every error) and the transaction is rolled back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time as _time
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qingshou.core.audit import audit
from qingshou.org.models import Creditor
from qingshou.portfolio.intake import fastinsert as fast
from qingshou.portfolio.intake.pipeline import Packer, gc_paused, seal_packed, validated_chunks
from qingshou.portfolio.intake.profiles import check_mapping, propose_mapping
from qingshou.portfolio.intake.readers import UnreadableFile, read_table
from qingshou.portfolio.intake.report import store_errors
from qingshou.portfolio.intake.validation import (
    P_ACCOUNT,
    P_BIRTH,
    P_BUCKET,
    P_CONTACTS,
    P_DPD,
    P_EMPLOYER,
    P_ENDS_ON,
    P_GENDER,
    P_HOME,
    P_HUKOU,
    P_ID_NUMBER,
    P_INTEREST,
    P_LATE_FEES,
    P_MOBILE,
    P_MONEY,
    P_NAME,
    P_OTHER_FEES,
    P_PLACED_ON,
    P_PRINCIPAL,
    P_PRODUCT,
    P_TOTAL,
    P_WORK_ADDRESS,
    P_WORK_PHONE,
    Reason,
    RowError,
    RowValidator,
)
from qingshou.portfolio.models import (
    Address,
    Case,
    CaseEvent,
    CaseSnapshot,
    CaseStatus,
    CaseStatusChange,
    Debtor,
    Import,
    ImportKind,
    ImportProfile,
    Party,
    Phone,
    Placement,
    Relation,
)

log = logging.getLogger(__name__)
BATCH_SIZE = 5000
# Large files are written in larger batches (about a twentieth of the file, up to this many rows): fewer
# statements, and each batch's rows reach the big random-key indexes (phone and ID-number hashes) in one
# ordered sweep rather than many. PostgreSQL gains most (1,000,000 rows: about 15% less server CPU than with
# 20,000, for about 270 MB more memory); SQLite, with its page cache grown for the import, hardly.
MAX_BATCH_SIZE = {"postgresql": 50_000}
MAX_BATCH_SIZE_OTHER = 20_000
MAX_STORED_ERRORS = 50_000
DEFAULT_PLACEMENT_DAYS = 90
S = Import.Status
T = CaseEvent.Type
CASE_MONEY = ("principal", "interest", "late_fees", "other_fees", "total_due")


# --- creating an Import ---------------------------------------------------------------------------------------


def _resolve_creditor(creditor) -> Creditor:
    return creditor if isinstance(creditor, Creditor) else Creditor.objects.get(code=creditor)


def _resolve_profile(profile, creditor):
    if profile is None or isinstance(profile, ImportProfile):
        return profile
    return ImportProfile.objects.get(creditor=creditor, kind=ImportKind.PLACEMENT, name=profile)


def find_previous(creditor, sha256: str, kind: str = ImportKind.PLACEMENT):
    """The earlier successful (not dry-run) import of the same file by the same creditor, if any."""
    return (Import.objects.filter(creditor=creditor, kind=kind, sha256=sha256, status=S.SUCCEEDED, dry_run=False)
            .order_by("id").first())


def create_import(file, *, creditor, profile=None, dry_run: bool = False, skip_invalid: bool = False,
                  acting_user=None, mapping: dict | None = None, encoding: str | None = None,
                  placement_code: str | None = None, file_name: str | None = None, sheet=None,
                  kind: str = ImportKind.PLACEMENT) -> Import:
    """Store the file and create a pending ``Import`` for it (nothing is imported yet).

    ``file``: a path or a binary file object (UploadedFile). ``creditor``: Creditor or its code.
    ``profile``: an ImportProfile or its name; ``mapping`` ({our_field: their_header}) overrides the
    profile's; with neither, the mapping is proposed from synonyms when the import runs.
    ``placement_code``: the batch code (default: the file name without extension).
    The same file (sha256) already imported successfully for this creditor gives an Import with status
    ``no_op`` and a message saying so; nothing else happens. Run it with ``run_placement_import(imp.pk)``.
    """
    creditor = _resolve_creditor(creditor)
    profile = _resolve_profile(profile, creditor)
    close = None
    if isinstance(file, str | os.PathLike):
        fh = open(file, "rb")  # noqa: SIM115
        close = fh.close
        file_name = file_name or Path(file).name
    else:
        fh = file
        file_name = file_name or Path(getattr(file, "name", "") or "upload").name
        if hasattr(fh, "seek"):
            fh.seek(0)
    try:
        digest, size = hashlib.sha256(), 0
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        sha = digest.hexdigest()
        options = dict(profile.options) if profile else {}
        if encoding:
            options["encoding"] = encoding
        if sheet is not None:
            options["sheet"] = sheet
        imp = Import(kind=kind, creditor=creditor, profile=profile,
                     mapping=dict(mapping or (profile.mapping if profile else {}) or {}), options=options,
                     file_name=file_name[:255], sha256=sha, size=size, dry_run=dry_run, skip_invalid=skip_invalid,
                     created_by=acting_user if getattr(acting_user, "pk", None) else None,
                     placement_code=(placement_code or Path(file_name).stem)[:64])
        prev = find_previous(creditor, sha, kind)
        if prev is not None:
            imp.status = S.NO_OP
            imp.placement_id = prev.placement_id
            imp.finished_at = timezone.now()
            imp.message = _("This file was already imported on %(when)s (import #%(id)s); nothing was changed.") % {
                "when": timezone.localtime(prev.finished_at or prev.created_at).strftime("%Y-%m-%d %H:%M"),
                "id": prev.pk}
            imp.save()
            return imp
        fh.seek(0)
        imp.file.save(file_name, File(fh, name=file_name), save=False)
        imp.save()
        return imp
    finally:
        if close:
            close()


# --- progress ------------------------------------------------------------------------------------------------


def _progress_path(import_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / "progress" / str(import_id)


def live_progress(imp: Import) -> int:
    """Rows done so far: read from the side file while the import runs (its transaction hides the DB row)."""
    if imp.status == S.RUNNING:
        try:
            return max(imp.progress, int(_progress_path(imp.pk).read_text() or 0))
        except (OSError, ValueError):
            return imp.progress
    return imp.progress


class _Progress:
    def __init__(self, imp: Import, callback, total: int):
        self.imp, self.callback, self.total = imp, callback, total
        self.path = _progress_path(imp.pk)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.last = 0.0

    def __call__(self, done: int, *, force=False):
        now = _time.monotonic()
        if not force and now - self.last < 0.25:
            return
        self.last = now
        total = max(self.total, done)
        if self.callback:
            self.callback(done, total)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(str(done))
        tmp.replace(self.path)
        if not connection.in_atomic_block:
            Import.objects.filter(pk=self.imp.pk).update(progress=done, total_rows=total)

    def close(self):
        try:
            self.path.unlink()
        except OSError:
            pass


# --- loading -------------------------------------------------------------------------------------------------


class _Loader:
    """Writes validated records in chunks: new cases with debtor, parties, phones and addresses; re-placed
    accounts updated (snapshot first), new parties and phones added without duplicates.

    New rows are plain tuples written with COPY (PostgreSQL) or executemany (SQLite), primary keys taken ahead
    from the sequences; no model instance is built for them. On PostgreSQL, when the role may, the foreign-key
    triggers are switched off for the writes of each chunk (``SET LOCAL session_replication_role``): every id
    written is one this import just allocated and inserted, or an existing row locked FOR KEY SHARE first, so
    the checks could not fail, and row-by-row checking at commit costs more than the whole COPY.

    A batch of only new rows is handed to a ``fastinsert.CopyWriter``, a thread writing on the same connection
    (so in the same transaction) while the next batch is built; the next blocks of ids are fetched in its turn
    too. A batch with re-placed accounts waits for it and is written in this thread. Whatever happens, the
    writer is stopped before the transaction ends (``close``/``abort``).
    """

    def __init__(self, imp: Import, placement: Placement | None, *, write: bool, expected_rows: int = 0):
        self.imp, self.placement, self.write = imp, placement, write
        largest = MAX_BATCH_SIZE.get(connection.vendor, MAX_BATCH_SIZE_OTHER)
        self.batch_size = min(largest, max(BATCH_SIZE, expected_rows // 20))
        self.creditor_id = imp.creditor_id
        self.user = imp.created_by
        self.batch = []
        self.created = self.updated = 0
        self.debtor_by_id_number: dict[str, int] = {}
        self.min_placed = self.max_ends = None
        self.ids = fast.IdPool(block=BATCH_SIZE, max_block=largest * 4)
        self.writer = None  # PostgreSQL: a CopyWriter, once there is something to write
        # Whether the creditor has any case yet: if not, no account of this file can be a re-placement (the
        # creditor's row is locked for the whole import, and only imports create cases).
        self.may_exist = Case.objects.filter(creditor_id=self.creditor_id).exists()
        self.skip_fk = False
        self.restore_cache = None
        # PostgreSQL, tables still empty (a new system's first placement): their secondary indexes are built
        # after the rows are in (fastinsert.DeferredIndexes); the loader's own lookups keep theirs.
        self.indexes = fast.DeferredIndexes([Debtor, Party, Phone, Address, Case, CaseEvent],
                                            keep={Party: {"debtor_id"}, Phone: {"party_id"}, Address: {"party_id"}})
        self.deferred = set()
        if write:
            self.deferred = self.indexes.start()
            self.restore_cache = fast.grow_sqlite_cache(expected_rows)
            self.skip_fk = fast.skip_fk_triggers_possible()
            if self.skip_fk:
                fast.lock_key_share(Placement, [placement.pk])
                if self.user:
                    fast.lock_key_share(type(self.user), [self.user.pk])
            self._tables()

    def _tables(self):
        conn = connection
        self.now = timezone.now()
        self.now_db = conn.ops.adapt_datetimefield_value(self.now)
        # plain_text: columns whose values never need COPY escaping (ciphertexts, hashes, choices).
        # Rows in hash order, so that the hash index takes them in one sweep; not when that index is built
        # afterwards (then id order suits the indexes that stay, phones by party).
        self.t_debtor = fast.RowTable(Debtor, ["id", "name", "id_number", "id_number_hash", "gender", "birth_date",
                                               "employer"],
                                      order_by=None if Debtor in self.deferred else "id_number_hash",
                                      plain_text=("id_number", "id_number_hash", "gender"))
        self.t_party = fast.RowTable(Party, ["id", "debtor_id", "name", "relation"], plain_text=("relation",))
        self.t_phone = fast.RowTable(Phone, ["id", "party_id", "number", "number_hash", "status", "source"],
                                     order_by=None if Phone in self.deferred else "number_hash",
                                     plain_text=("number", "number_hash", "status", "source"))
        self.t_address = fast.RowTable(Address, ["id", "party_id", "kind", "text"], plain_text=("kind",))
        self.t_case = fast.RowTable(Case, ["id", "placement_id", "debtor_id", "creditor_id", "account_number",
                                           "product", "dpd", "bucket", "principal", "interest", "late_fees",
                                           "other_fees", "total_due", "status", "created_at"],
                                    plain_text=("bucket", "status"))
        self.t_snapshot = fast.RowTable(CaseSnapshot, ["id", "case_id", "at", "imp_id", "placement_id", "dpd",
                                                       "bucket", *CASE_MONEY], plain_text=("bucket",))
        self.t_event = fast.RowTable(CaseEvent, ["id", "case_id", "type", "user_id", "at", "data"],
                                     plain_text=("type",))

    def add(self, item):
        """``item``: ``(packed, sealed, event)`` from ``pipeline.Packer``."""
        self.batch.append(item)
        p = item[0]
        placed, ends = p[P_PLACED_ON], p[P_ENDS_ON]  # ISO dates (years 1900-2200) compare as text
        if placed and (self.min_placed is None or placed < self.min_placed):
            self.min_placed = placed
        if ends and (self.max_ends is None or ends > self.max_ends):
            self.max_ends = ends
        if len(self.batch) >= self.batch_size:
            self.flush()

    def flush(self):
        batch, self.batch = self.batch, []
        if not batch:
            return
        existing = {}
        if self.may_exist:
            for case in (Case.objects.filter(creditor_id=self.creditor_id,
                                             account_number__in=[item[0][P_ACCOUNT] for item in batch])
                         .order_by("id")):
                existing[case.account_number] = case  # the latest case of an account wins
        if not self.write:
            n_upd = sum(1 for item in batch if item[0][P_ACCOUNT] in existing)
            self.updated += n_upd
            self.created += len(batch) - n_upd
            return
        self._write(batch, existing)

    def _write(self, batch, existing):
        ids = self.ids
        if self.writer is None and fast.background_writes_possible():
            # Started here, after the reader process was forked (never fork a process with threads).
            connection.ensure_connection()
            self.writer = fast.CopyWriter(connection.connection, skip_fk=self.skip_fk)
            if connection.vendor == "postgresql":
                ids.runner = self.writer.call
        dumps = json.dumps
        now_db = self.now_db
        placement = self.placement
        placement_id, placement_code, imp_id = placement.pk, placement.code, self.imp.pk
        creditor_id = self.creditor_id
        debtor_by_id = self.debtor_by_id_number
        # Debtors we may already know: of re-placed cases, or created earlier in this import.
        known = {c.debtor_id for c in existing.values()}
        if existing:
            for item in batch:
                p = item[0]
                if p[P_ACCOUNT] not in existing and p[P_ID_NUMBER] in debtor_by_id:
                    known.add(debtor_by_id[p[P_ID_NUMBER]])
        else:
            known.update(debtor_by_id[item[0][P_ID_NUMBER]] for item in batch if item[0][P_ID_NUMBER] in debtor_by_id)
        parties: dict[tuple, int] = {}  # (debtor id, relation, name) -> party id
        phones: set[tuple] = set()  # (party id, number)
        addresses: set[tuple] = set()  # (party id, kind, text)
        if known:
            if self.skip_fk:
                fast.lock_key_share(Debtor, known)
            party_ids = []
            for pk, debtor_id, relation, name in Party.objects.filter(debtor_id__in=known).values_list(
                    "id", "debtor_id", "relation", "name"):
                parties.setdefault((debtor_id, relation, "" if relation == Relation.SELF else name), pk)
                party_ids.append(pk)
            if self.skip_fk:
                fast.lock_key_share(Party, party_ids)
            phones.update(Phone.objects.filter(party__debtor_id__in=known).values_list("party_id", "number"))
            addresses.update(Address.objects.filter(party__debtor_id__in=known).values_list("party_id", "kind",
                                                                                          "text"))
        t_debtor, t_party, t_phone, t_address = self.t_debtor, self.t_party, self.t_phone, self.t_address
        t_case, t_snapshot, t_event = self.t_case, self.t_snapshot, self.t_event
        add_debtor, add_party, add_phone = t_debtor.rows.append, t_party.rows.append, t_phone.rows.append
        add_address, add_case, add_event = t_address.rows.append, t_case.rows.append, t_event.rows.append
        upd_cases, status_changes = [], []
        user_id = self.user.pk if self.user else None
        next_debtor, next_party, next_phone = ids.taker(Debtor), ids.taker(Party), ids.taker(Phone)
        next_address, next_case, next_event = ids.taker(Address), ids.taker(Case), ids.taker(CaseEvent)
        SELF = Relation.SELF.value
        PH_UNKNOWN, PH_PLACEMENT = Phone.Status.UNKNOWN.value, Phone.Source.PLACEMENT.value
        HOME, HUKOU, WORK = Address.Kind.HOME.value, Address.Kind.HUKOU.value, Address.Kind.WORK.value
        ACTIVE, PLACED, REPLACED = CaseStatus.ACTIVE.value, T.PLACED.value, T.REPLACED.value
        parties_get, phones_add, addresses_add = parties.get, phones.add, addresses.add

        for p, sealed, event in batch:
            if sealed is None:
                sealed = seal_packed(p)
            name, id_number = p[P_NAME], p[P_ID_NUMBER]
            case = existing.get(p[P_ACCOUNT]) if existing else None
            if case is not None:
                debtor_id = case.debtor_id
            else:
                debtor_id = debtor_by_id.get(id_number)
                if debtor_id is None:
                    debtor_id = debtor_by_id[id_number] = next_debtor()
                    add_debtor((debtor_id, name, *sealed[0], p[P_GENDER], p[P_BIRTH], p[P_EMPLOYER]))
            # The debtor's own party, phones and addresses (each once per party).
            key = (debtor_id, SELF, "")
            me = parties_get(key)
            if me is None:
                me = parties[key] = next_party()
                add_party((me, debtor_id, name, SELF))
            for number, pair in ((p[P_MOBILE], sealed[1]), (p[P_WORK_PHONE], sealed[2])):
                if number and (me, number) not in phones:
                    phones_add((me, number))
                    add_phone((next_phone(), me, *pair, PH_UNKNOWN, PH_PLACEMENT))
            for kind, text in ((HOME, p[P_HOME]), (HUKOU, p[P_HUKOU]), (WORK, p[P_WORK_ADDRESS])):
                if text and (me, kind, text) not in addresses:
                    addresses_add((me, kind, text))
                    add_address((next_address(), me, kind, text))
            for k, (cname, relation, number) in enumerate(p[P_CONTACTS], 3):
                key = (debtor_id, relation, "" if relation == SELF else cname)
                pid = parties_get(key)
                if pid is None:
                    pid = parties[key] = next_party()
                    add_party((pid, debtor_id, cname, relation))
                if number and (pid, number) not in phones:
                    phones_add((pid, number))
                    add_phone((next_phone(), pid, *sealed[k], PH_UNKNOWN, PH_PLACEMENT))
            if case is None:
                case_id = next_case()
                add_case((case_id, placement_id, debtor_id, creditor_id, p[P_ACCOUNT], p[P_PRODUCT], p[P_DPD],
                          p[P_BUCKET], p[P_PRINCIPAL], p[P_INTEREST], p[P_LATE_FEES], p[P_OTHER_FEES], p[P_TOTAL],
                          ACTIVE, now_db))
                add_event((next_event(), case_id, PLACED, user_id, now_db, event))
            else:
                t_snapshot.add(ids.take(CaseSnapshot), case.pk, now_db, imp_id,
                               case.placement_id, case.dpd, case.bucket, *(getattr(case, f) for f in CASE_MONEY))
                t_event.add(next_event(), case.pk, REPLACED, user_id, now_db, dumps({
                    "placement": placement_code, "total_due": p[P_TOTAL], "old_total_due": str(case.total_due),
                    "dpd": p[P_DPD], "old_dpd": case.dpd, "bucket": p[P_BUCKET], "old_bucket": case.bucket,
                    "import_id": imp_id}))
                case.placement_id = placement_id
                case.dpd, case.bucket = p[P_DPD], p[P_BUCKET]
                for f, i in zip(CASE_MONEY, P_MONEY, strict=True):
                    setattr(case, f, p[i])
                if case.status == CaseStatus.RECALLED:  # handed back by the creditor: back in collection
                    status_changes.append(CaseStatusChange(case_id=case.pk, from_status=case.status,
                                                           to_status=ACTIVE, by_id=user_id, reason="re-placed"))
                    t_event.add(next_event(), case.pk, T.STATUS_CHANGED.value, user_id, now_db, dumps(
                        {"old": case.status, "new": ACTIVE, "reason": "re-placed"}))
                    case.status = ACTIVE
                upd_cases.append(case)
        self.created += len(batch) - len(upd_cases)
        self.updated += len(upd_cases)
        if self.writer is not None and not upd_cases:
            # Only new rows: written in the background while the next batch is prepared.
            self.writer.submit([job for t in (t_debtor, t_party, t_phone, t_address, t_case, t_event)
                                if (job := t.copy_job()) is not None])
            return
        if self.writer is not None:
            self.writer.drain()
        if self.skip_fk:
            fast.set_fk_triggers(False)
        try:
            for t in (t_debtor, t_party, t_phone, t_address, t_case):
                t.flush()
            fast.update_rows(Case, ["placement_id", "dpd", "bucket", "status", *CASE_MONEY], [
                (c.pk, c.placement_id, c.dpd, c.bucket, c.status, *(getattr(c, f) for f in CASE_MONEY))
                for c in upd_cases])
            t_snapshot.flush()
            CaseStatusChange.objects.bulk_create(status_changes, batch_size=BATCH_SIZE)
            t_event.flush()
        finally:
            if self.skip_fk:
                fast.set_fk_triggers(True)

    def close(self):
        """Wait for the background writes (raising their error, if any)."""
        writer, self.writer = self.writer, None
        self.ids.runner = None
        try:
            if writer is not None:
                writer.close()
        finally:
            restore, self.restore_cache = self.restore_cache, None
            if restore is not None:
                restore()

    def finish(self):
        """The load went through: build the indexes that were deferred (in the import's transaction)."""
        self.indexes.finish()

    def abort(self):
        """Stop the background writes, on the way out with an error (the transaction is rolled back)."""
        try:
            self.close()
        except Exception:  # noqa: BLE001 - the error under way is the one to report
            log.debug("background write failed while aborting", exc_info=True)


class _Rejected(Exception):
    pass


def _finish(imp: Import, status, message="", **fields):
    imp.status = status
    imp.message = message
    imp.finished_at = timezone.now()
    for k, v in fields.items():
        setattr(imp, k, v)
    imp.save()
    return imp


def _file_arg(imp: Import):
    try:
        return imp.file.path
    except (NotImplementedError, ValueError):
        return imp.file


def run_placement_import(import_id: int, *, progress=None) -> Import:
    """Run a pending Import: read, validate every row and load, in one transaction.

    ``progress(done, total)`` is called as rows are processed (at most 4 times a second); the upload page
    reads the same figure with ``live_progress(imp)``. All-or-nothing unless ``skip_invalid``; a dry run
    validates and counts what would be created/updated without writing. Returns the Import with its final
    status (succeeded, failed, rejected or no_op), counts, message and error report.
    """
    imp = Import.objects.select_related("creditor", "created_by").get(pk=import_id)
    if imp.is_finished:
        return imp
    imp.status, imp.started_at = S.RUNNING, timezone.now()
    imp.save(update_fields=["status", "started_at"])
    reporter = None
    try:
        opts = imp.options or {}
        try:
            table = read_table(_file_arg(imp), encoding=opts.get("encoding") or None, sheet=opts.get("sheet"))
        except UnreadableFile as exc:
            return _finish(imp, S.FAILED, str(exc))
        with table:
            mapping = imp.mapping or propose_mapping(table.headers, imp.creditor).mapping
            problems = check_mapping(mapping, table.headers)
            if problems:
                return _finish(imp, S.FAILED, _("The column mapping does not fit the file: %(problems)s") % {
                    "problems": "; ".join(f"{k}: {v}" for k, v in problems.items())}, mapping=mapping)
            imp.mapping = mapping
            reporter = _Progress(imp, progress, table.row_estimate)
            if imp.dry_run:
                return _run(imp, table, reporter, write=False)
            try:
                with transaction.atomic():
                    return _run(imp, table, reporter, write=True)
            except _Rejected as rej:
                imp.placement = None
                state = rej.args[0]
                return _store_outcome(imp, S.REJECTED, state)
    except Exception as exc:
        log.exception("placement import %s failed", import_id)
        _finish(imp, S.FAILED, _("The import failed: %(error)s") % {"error": exc}, placement=None)
        raise
    finally:
        if reporter:
            reporter.close()


def _store_outcome(imp, status, state, message=""):
    errors, total, invalid, loader = state
    imp.total_rows, imp.invalid_rows, imp.valid_rows = total, invalid, total - invalid
    imp.progress = total
    if loader is not None:
        imp.created_count, imp.updated_count = loader.created, loader.updated
    if status == S.REJECTED:
        imp.created_count = imp.updated_count = 0
        message = _("%(invalid)s of %(total)s rows are invalid; nothing was imported. Fix them, or import with "
                    "“skip invalid rows”.") % {"invalid": invalid, "total": total}
    store_errors(imp, errors, total_invalid=invalid)
    return _finish(imp, status, message)


def _run(imp: Import, table, reporter, *, write: bool):
    placement = None
    placement_created = False
    if write:
        # One import per creditor at a time; then make sure the file did not get in meanwhile.
        Creditor.objects.select_for_update().filter(pk=imp.creditor_id).first()
        prev = find_previous(imp.creditor, imp.sha256)
        if prev is not None and prev.pk != imp.pk:
            return _finish(imp, S.NO_OP, _("This file was already imported (import #%(id)s); nothing was changed.")
                           % {"id": prev.pk}, placement_id=prev.placement_id)
        today = timezone.localdate()
        placement, placement_created = Placement.objects.get_or_create(
            creditor_id=imp.creditor_id, code=imp.placement_code,
            defaults={"starts_on": today, "ends_on": today + timedelta(days=DEFAULT_PLACEMENT_DAYS)})
        imp.placement = placement
    validator = RowValidator(table.headers, imp.mapping, options=imp.options)
    packer = Packer(validator, sealing=write, placement_code=placement.code if placement else "", import_id=imp.pk)
    loader = _Loader(imp, placement, write=write, expected_rows=table.row_estimate)
    errors: list[RowError] = []
    total = invalid = 0
    loading = True
    try:
        with gc_paused():
            for chunk in validated_chunks(table, packer, ahead_rows=loader.batch_size):
                for _rownum, item, errs in chunk:
                    total += 1
                    if errs:
                        invalid += 1
                        if len(errors) < MAX_STORED_ERRORS:
                            errors.extend(errs)
                        if not imp.skip_invalid:
                            loading = False
                    elif loading:
                        loader.add(item)
                    if total % 500 == 0:
                        reporter(total)
            if loading:
                loader.flush()
            loader.close()
            if write and loading and total:
                loader.finish()
    except BaseException:
        loader.abort()
        raise
    if total == 0:
        errors.append(RowError(0, "", "", "file", Reason(gettext_lazy("The file has no data rows."))))
    reporter(total, force=True)
    state = (errors, total, invalid, loader)
    if write and (total == 0 or (invalid and not imp.skip_invalid)):
        raise _Rejected(state)
    if imp.dry_run:
        return _store_outcome(imp, S.SUCCEEDED, state, _dry_message(total, invalid, loader))
    min_placed = date.fromisoformat(loader.min_placed) if loader.min_placed else None
    max_ends = date.fromisoformat(loader.max_ends) if loader.max_ends else None
    if placement_created:
        placement.starts_on = min_placed or placement.starts_on
        placement.ends_on = max_ends or (placement.starts_on + timedelta(days=DEFAULT_PLACEMENT_DAYS))
    elif max_ends and max_ends > placement.ends_on:
        placement.ends_on = max_ends
    placement.save(update_fields=["starts_on", "ends_on"])
    result = _store_outcome(imp, S.SUCCEEDED, state, _(
        "Imported %(valid)s rows: %(created)s new cases, %(updated)s re-placed; %(invalid)s invalid rows skipped.")
        % {"valid": total - invalid, "created": loader.created, "updated": loader.updated, "invalid": invalid})
    audit("import.placement", actor=imp.created_by, obj=imp, placement=placement.code, file=imp.file_name,
          sha256=imp.sha256, rows=total, invalid=invalid, created=loader.created, updated=loader.updated,
          skip_invalid=imp.skip_invalid)
    return result


def _dry_message(total, invalid, loader):
    return _("Dry run: %(total)s rows, %(invalid)s invalid; would create %(created)s cases and update "
             "%(updated)s.") % {"total": total, "invalid": invalid, "created": loader.created,
                                "updated": loader.updated}
