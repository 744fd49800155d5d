"""Placement intake: readers (encodings, formats), validation error kinds, the import action."""

import csv
import io
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from qingshou.portfolio.intake import create_import, propose_mapping, read_table, run_placement_import
from qingshou.portfolio.intake.placement import BATCH_SIZE
from qingshou.portfolio.intake.profiles import synonym_mapping
from qingshou.portfolio.intake.sample import HEADERS, rows, write_csv
from qingshou.portfolio.intake.validation import RowValidator
from qingshou.portfolio.models import (
    Case,
    CaseEvent,
    CaseSnapshot,
    Import,
    ImportProfile,
    ImportRowError,
    Party,
    Phone,
    Placement,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def sample(n=5, **kw):
    return [HEADERS, *rows(n, **kw)]


def write(path, table, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(table)
    return path


def do_import(path, creditor, **kw):
    imp = create_import(path, creditor=creditor, **kw)
    return run_placement_import(imp.pk)


# --- readers --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gbk"),
                                               ("gb18030", "gb18030")])
def test_csv_encodings_detected(tmp_path, encoding, expected):
    table = sample(3)
    if encoding == "gb18030":  # a character outside GBK makes the file GB18030 proper
        table[1][14] = table[1][14] + "𠀀"
    path = write(tmp_path / "f.csv", table, encoding)
    t = read_table(path)
    assert t.encoding == expected
    assert t.headers == HEADERS
    got = list(t.rows())
    assert [r for _, r in got] == table[1:]
    assert [n for n, _ in got] == [2, 3, 4]


def test_encoding_can_be_forced_and_bad_text_reported(tmp_path):
    from qingshou.portfolio.intake.readers import UnreadableFile

    path = write(tmp_path / "f.csv", sample(2), "gbk")
    assert read_table(path, encoding="gb18030").headers == HEADERS
    with pytest.raises(UnreadableFile):
        list(read_table(path, encoding="utf-8").rows())


def test_xlsx_and_xls(tmp_path):
    import openpyxl
    import xlwt

    table = sample(4)
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in table:
        ws.append(r)
    ws.append([None] * 5)  # a blank row is skipped
    wb.save(tmp_path / "f.xlsx")
    t = read_table(tmp_path / "f.xlsx")
    assert t.format == "xlsx" and t.headers == HEADERS
    assert [r for _, r in t.rows()] == table[1:]

    book = xlwt.Workbook(encoding="utf-8")
    sh = book.add_sheet("委案")
    for i, r in enumerate(table):
        for j, v in enumerate(r):
            sh.write(i, j, v)
    book.save(str(tmp_path / "f.xls"))
    t = read_table(tmp_path / "f.xls")
    assert t.format == "xls" and t.sheet == "委案"
    assert [r for _, r in t.rows()] == table[1:]


def test_excel_numbers_and_dates_as_text(tmp_path):
    from datetime import datetime

    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["逾期天数", "欠款总额", "委案日期"])
    wb.active.append([45, 1234.5, datetime(2026, 1, 5)])
    wb.save(tmp_path / "n.xlsx")
    assert list(read_table(tmp_path / "n.xlsx").rows()) == [(2, ["45", "1234.5", "2026-01-05"])]


# --- profiles -------------------------------------------------------------------------------------------------


def test_synonyms_and_saved_profile(world):
    headers = ["姓名", "身份证号", "手机", "合同号", "欠款金额（元）", "逾期天数", "紧急联系人姓名",
               "联系人二电话", "X"]
    p = propose_mapping(headers, world.creditor_a)
    assert p.mapping["name"] == "姓名" and p.mapping["id_number"] == "身份证号"
    assert p.mapping["account_number"] == "合同号" and p.mapping["total_due"] == "欠款金额（元）"
    assert p.mapping["contact1_name"] == "紧急联系人姓名" and p.mapping["contact2_phone"] == "联系人二电话"
    assert p.unmapped_headers == ["X"] and p.complete
    ImportProfile.objects.create(creditor=world.creditor_a, name="A", mapping={"account_number": "X"})
    p = propose_mapping(headers, world.creditor_a)
    assert p.profile.name == "A" and p.mapping["account_number"] == "X"
    assert propose_mapping(["foo"], world.creditor_a).missing_required


# --- validation -----------------------------------------------------------------------------------------------


def _validate(changes, extra_rows=()):
    row = next(rows(1))
    for header, value in changes.items():
        row[HEADERS.index(header)] = value
    v = RowValidator(HEADERS, synonym_mapping(HEADERS))
    for r in extra_rows:
        v.validate(2, r)
    return v.validate(3, row)


@pytest.mark.parametrize("changes,code,column", [
    ({"客户姓名": ""}, "required", "客户姓名"),
    ({"证件号码": "110101199001011234"}, "id_number", "证件号码"),
    ({"证件号码": "11010119900101"}, "id_number", "证件号码"),
    ({"手机号码": "12345"}, "phone", "手机号码"),
    ({"单位电话": "62345678"}, "phone", "单位电话"),
    ({"本金": "-5"}, "amount", "本金"),
    ({"利息": "abc"}, "amount", "利息"),
    ({"欠款总额": "1.00"}, "total_mismatch", "欠款总额"),
    ({"委案日期": "2026-13-45"}, "date", "委案日期"),
    ({"逾期天数": "-3"}, "dpd", "逾期天数"),
    ({"账龄": "Q9"}, "bucket", "账龄"),
    ({"联系人1关系": "外星人"}, "relation", "联系人1关系"),
])
def test_each_error_kind(changes, code, column):
    rec, errors = _validate(changes)
    assert rec is None
    assert [(e.code, e.column) for e in errors] == [(code, column)]
    assert str(errors[0].reason.text("zh-hans"))


def test_all_errors_of_a_row_and_masking():
    rec, errors = _validate({"证件号码": "110101199001011234", "手机号码": "13800000000x", "本金": "-1"})
    assert {e.code for e in errors} >= {"id_number", "phone", "amount"}
    idn = next(e for e in errors if e.code == "id_number")
    assert idn.value == "110101********1234"


def test_duplicate_account_in_file():
    first = next(rows(1))
    rec, errors = _validate({}, extra_rows=[first])
    assert [e.code for e in errors] == ["duplicate_account"]


def test_valid_row_normalised():
    row = next(rows(1))
    rec, errors = _validate({"联系人1关系": "老婆", "手机号码": "+86 " + row[2], "证件号码": row[1].lower(),
                             "欠款总额": "¥" + row[7]})
    assert not errors
    assert rec.contacts[0].relation == "spouse" and rec.mobile == row[2]
    assert rec.bucket == ("M7+" if rec.dpd > 180 else f"M{(rec.dpd - 1) // 30 + 1}")


def test_tolerance_configurable():
    row = next(rows(1))
    row[7] = str(Decimal(row[7]) + Decimal("0.50"))
    v = RowValidator(HEADERS, synonym_mapping(HEADERS), options={"amount_tolerance": "1"})
    assert v.validate(2, row)[1] == []


# --- the import -----------------------------------------------------------------------------------------------


def test_import_creates_cases_events_audit(world, tmp_path):
    from qingshou.core.models import AuditLog

    path = write(tmp_path / "A-100.csv", sample(20), "gbk")
    imp = do_import(path, world.creditor_a, acting_user=world.supervisor)
    assert imp.status == Import.Status.SUCCEEDED, imp.message
    assert (imp.total_rows, imp.valid_rows, imp.created_count) == (20, 20, 20)
    placement = Placement.objects.get(creditor=world.creditor_a, code="A-100")
    cases = Case.objects.filter(placement=placement)
    assert cases.count() == 20
    assert CaseEvent.objects.filter(case__placement=placement, type="placed").count() == 20
    ev = CaseEvent.objects.filter(case__placement=placement, type="placed").first()
    assert ev.data["placement"] == "A-100" and ev.data["total_due"] == str(ev.case.total_due)
    case = cases.first()
    assert case.debtor.parties.count() == 3
    assert Phone.objects.filter(party__debtor=case.debtor).count() == 4  # mobile, work phone, 2 contacts
    assert AuditLog.objects.filter(action="import.placement", object_id=str(imp.pk)).count() == 1
    assert str(placement.starts_on) == "2026-01-05"


def test_same_file_twice_is_a_no_op(world, tmp_path):
    path = write(tmp_path / "f.csv", sample(5))
    do_import(path, world.creditor_a)
    imp2 = create_import(path, creditor=world.creditor_a)
    assert imp2.status == Import.Status.NO_OP and "已于" in imp2.message
    assert run_placement_import(imp2.pk).status == Import.Status.NO_OP
    assert Case.objects.filter(creditor=world.creditor_a, placement__code="f").count() == 5


def _bad_table():
    table = sample(6)
    table[2][1] = "110101199001011234"  # row 3: bad ID
    table[4][2] = "999"  # row 5: bad phone
    return table


def test_all_or_nothing_rejects_and_reports(world, tmp_path, media):
    import openpyxl

    path = write(tmp_path / "bad.csv", _bad_table())
    imp = do_import(path, world.creditor_a)
    assert imp.status == Import.Status.REJECTED
    assert (imp.total_rows, imp.invalid_rows, imp.created_count) == (6, 2, 0)
    assert not Placement.objects.filter(code="bad").exists()
    assert not Case.objects.filter(placement__code="bad").exists()
    errs = list(ImportRowError.objects.filter(imp=imp))
    assert [(e.row, e.column) for e in errs] == [(3, "证件号码"), (5, "手机号码")]
    assert "校验" in errs[0].reason_zh and errs[1].reason_zh == "不是电话号码。"
    ws = openpyxl.load_workbook(imp.error_report.path).active
    got = list(ws.iter_rows(values_only=True))
    assert got[0][:4] == ("行号", "列", "值（已脱敏）", "错误类型")
    assert got[1][0] == 3 and got[1][2] == "110101********1234"


def test_skip_invalid_loads_good_rows(world, tmp_path):
    path = write(tmp_path / "bad.csv", _bad_table())
    imp = do_import(path, world.creditor_a, skip_invalid=True)
    assert imp.status == Import.Status.SUCCEEDED
    assert (imp.valid_rows, imp.invalid_rows, imp.created_count) == (4, 2, 4)
    assert Case.objects.filter(placement__code="bad").count() == 4
    assert imp.error_report


def test_dry_run_writes_nothing(world, tmp_path):
    path = write(tmp_path / "d.csv", sample(5))
    imp = do_import(path, world.creditor_a, dry_run=True)
    assert imp.status == Import.Status.SUCCEEDED and imp.created_count == 5 and imp.dry_run
    assert not Placement.objects.filter(code="d").exists()
    # A dry run does not make the real import a no-op.
    assert do_import(path, world.creditor_a).created_count == 5


def test_replacement_updates_without_duplicates(world, tmp_path):
    from qingshou.portfolio.models import CaseHold

    first = sample(4)
    do_import(write(tmp_path / "P1.csv", first), world.creditor_a)
    case = Case.objects.get(placement__code="P1", account_number=first[1][3])
    case.assigned_to, case.team = world.collector, world.collector.team
    case.save()
    CaseHold.objects.create(case=case, reason="dispute")
    parties_before = Party.objects.filter(debtor=case.debtor).count()
    phones_before = Phone.objects.filter(party__debtor=case.debtor).count()
    second = [list(r) for r in first[:3]]
    for r in second[1:]:  # new balance and DPD, a new third party for the first account
        r[5], r[7], r[8] = "400", str(Decimal(r[7]) + 100), str(Decimal(r[8]) + 100)
    second[1][22], second[1][24] = "新朋友", "13900001111"
    second.append(next(rows(1, start=99)))  # and a new account
    imp = do_import(write(tmp_path / "P2.csv", second), world.creditor_a)
    assert (imp.created_count, imp.updated_count) == (1, 2), imp.message
    case.refresh_from_db()
    assert case.placement.code == "P2" and case.dpd == 400 and case.bucket == "M7+"
    assert case.total_due == Decimal(second[1][7])
    assert case.assigned_to == world.collector and case.holds.count() == 1
    snap = CaseSnapshot.objects.get(case=case)
    assert snap.total_due == Decimal(first[1][7]) and snap.placement.code == "P1" and snap.imp == imp
    assert Party.objects.filter(debtor=case.debtor).count() == parties_before + 1
    assert Phone.objects.filter(party__debtor=case.debtor).count() == phones_before + 1
    assert case.events.filter(type="replaced").count() == 1
    # The same accounts again: nothing duplicated.
    third = [list(r) for r in second]
    third[1][5] = "401"
    do_import(write(tmp_path / "P3.csv", third), world.creditor_a)
    assert Party.objects.filter(debtor=case.debtor).count() == parties_before + 1
    assert Phone.objects.filter(party__debtor=case.debtor).count() == phones_before + 1
    assert Case.objects.filter(creditor=world.creditor_a, account_number=first[1][3]).count() == 1


def test_unreadable_and_bad_mapping_fail(world, tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(b"a,b\n1,2\n")
    imp = do_import(p, world.creditor_a)
    assert imp.status == Import.Status.FAILED and "列映射" in imp.message


def test_command(world, tmp_path):
    from django.core.management import call_command

    path = write(tmp_path / "cmd.csv", sample(3), "gbk")
    out = io.StringIO()
    call_command("import_placement", str(path), creditor="bank-a", no_progress=True, stdout=out)
    assert "created 3" in out.getvalue()
    out = io.StringIO()
    call_command("import_placement", str(path), creditor="bank-a", no_progress=True, stdout=out)
    assert "已于" in out.getvalue()


def _count_rows(backend, tmp_path, sql):
    if backend == "sqlite":
        return sqlite3.connect(tmp_path / "kill.sqlite3").execute(sql).fetchone()[0]
    import psycopg

    with psycopg.connect(host=os.environ.get("PGHOST", "127.0.0.1"), user=os.environ.get("PGUSER", "postgres"),
                         dbname=KILL_PGDATABASE) as conn:
        return conn.execute(sql).fetchone()[0]


KILL_PGDATABASE = "qingshou_killtest"


def _pg_admin(sql):
    import psycopg

    with psycopg.connect(host=os.environ.get("PGHOST", "127.0.0.1"), user=os.environ.get("PGUSER", "postgres"),
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(sql)


def _cmdline(proc_dir: Path) -> bytes:
    try:
        return (proc_dir / "cmdline").read_bytes()
    except OSError:
        return b""


def test_killed_import_leaves_nothing(tmp_path):
    """A subprocess killed mid-import (after several batches were written) leaves zero rows of that placement.

    Runs against a database of its own: a SQLite file in the SQLite pass, a scratch PostgreSQL database in
    the PostgreSQL pass.
    """
    backend = "postgres" if os.environ.get("DB") == "postgres" else "sqlite"
    env = {**os.environ, "DB": backend, "QINGSHOU_VAR_DIR": str(tmp_path / "var"),
           "SQLITE_PATH": str(tmp_path / "kill.sqlite3"), "DJANGO_SETTINGS_MODULE": "qingshou.settings",
           "PGDATABASE": KILL_PGDATABASE}
    if backend == "postgres":
        _pg_admin(f"DROP DATABASE IF EXISTS {KILL_PGDATABASE} WITH (FORCE)")
        _pg_admin(f"CREATE DATABASE {KILL_PGDATABASE}")
    (tmp_path / "var").mkdir()
    qs = [sys.executable, str(ROOT / "manage.py")]
    try:
        subprocess.run([*qs, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
        subprocess.run([*qs, "shell", "-c", "from qingshou.org.models import Creditor; "
                        "Creditor.objects.create(code='K', name='K')"], env=env, check=True, cwd=ROOT)
        write_csv(tmp_path / "KILL.csv", 60000)
        count = lambda sql: _count_rows(backend, tmp_path, sql)  # noqa: E731
        indexes = ("select count(*) from pg_indexes where tablename like 'portfolio%'" if backend == "postgres" else
                   "select count(*) from sqlite_master where type = 'index' and tbl_name like 'portfolio%'")
        indexes_before = count(indexes)
        proc = subprocess.Popen([*qs, "import_placement", str(tmp_path / "KILL.csv"), "--creditor", "K"], env=env,
                                cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        buf = b""
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            chunk = os.read(proc.stderr.fileno(), 256)
            if not chunk:
                break
            buf += chunk
            done = [int(m.replace(b",", b"")) for m in re.findall(rb"([\d,]+)/[\d,]+ rows", buf)]
            if done and max(done) >= 3 * BATCH_SIZE:  # at least two batches written in the transaction
                break
        assert proc.poll() is None, buf.decode(errors="replace")[-500:]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(0.5)  # PostgreSQL notices the dropped connection and rolls back
        assert count("select count(*) from portfolio_case") == 0
        assert count("select count(*) from portfolio_placement where code='KILL'") == 0
        assert count("select count(*) from portfolio_debtor") == 0
        assert count("select count(*) from portfolio_phone") == 0
        assert count("select count(*) from portfolio_import where status='running'") == 1
        # Into a new database the import drops indexes to build them after the load: the kill put them back.
        assert count(indexes) == indexes_before > 20
        # The reader process (a fork: same command line) noticed its parent was gone and ended too.
        marker = str(tmp_path / "KILL.csv").encode()
        for _ in range(50):
            alive = [p for p in Path("/proc").glob("[0-9]*") if marker in _cmdline(p)]
            if not alive:
                break
            time.sleep(0.2)
        assert alive == []
    finally:
        if backend == "postgres":
            _pg_admin(f"DROP DATABASE IF EXISTS {KILL_PGDATABASE} WITH (FORCE)")


def test_fast_phone_check_agrees_with_phonenumbers():
    """The fast check built from phonenumbers' metadata gives exactly phonenumbers' answer, on random mobiles
    (every 1xx prefix) and landlines of every length, and on the international-prefix corner (00…)."""
    import random

    from qingshou.portfolio.intake.validation import _cn_valid, cn_valid_fast, parse_phone

    rng = random.Random(20261123)
    numbers = ["00123456789", "0086138001", "17400123456", "17406123456", "16100123456", "17951234567",
               "11234567890", "12593123456", "01012345678", "0755123456", "031112345678"]
    for _ in range(12_000):
        if rng.random() < 0.5:
            numbers.append("1" + "".join(rng.choice("0123456789") for _ in range(10)))
        else:
            numbers.append("0" + "".join(rng.choice("0123456789") for _ in range(rng.randint(9, 11))))
    disagree = [n for n in numbers if cn_valid_fast(n) != _cn_valid(n)]
    assert disagree == []
    valid = sum(map(_cn_valid, numbers))
    assert 1000 < valid < len(numbers) - 1000  # both outcomes are well represented
    with pytest.raises(ValueError):
        parse_phone("00123456789")  # was an uncaught NumberParseException


def test_recalled_case_replaced_comes_back_active(world, tmp_path):
    """A case recalled (退案) and then sent again in a new placement file is active again in the new placement,
    with a status change and timeline events; its history (snapshot, recall event) is kept."""
    from qingshou.portfolio.actions import do_recall_cases
    from qingshou.portfolio.models import CaseStatusChange

    first = sample(3)
    do_import(write(tmp_path / "R1.csv", first), world.creditor_a)
    case = Case.objects.get(placement__code="R1", account_number=first[1][3])
    assert do_recall_cases([case.pk], acting_user=world.supervisor, reason="甲方退案") == [case.pk]
    case.refresh_from_db()
    assert case.status == "recalled"
    again = [first[0], list(first[1])]
    again[1][5], again[1][6] = "200", "M7+"
    imp = do_import(write(tmp_path / "R2.csv", again), world.creditor_a)
    assert (imp.created_count, imp.updated_count) == (0, 1), imp.message
    case.refresh_from_db()
    assert case.status == "active" and case.placement.code == "R2" and case.dpd == 200
    assert Case.objects.filter(creditor=world.creditor_a, account_number=first[1][3]).count() == 1
    change = CaseStatusChange.objects.filter(case=case).order_by("id").last()
    assert (change.from_status, change.to_status, change.reason) == ("recalled", "active", "re-placed")
    types = list(case.events.order_by("id").values_list("type", flat=True))
    assert types[0] == "placed" and "recalled" in types
    assert types[-2:] == ["replaced", "status_changed"]
    ev = case.events.get(type="status_changed", data__reason="re-placed")
    assert (ev.data["old"], ev.data["new"]) == ("recalled", "active")
    snap = CaseSnapshot.objects.get(case=case)
    assert snap.placement.code == "R1" and snap.dpd == int(first[1][5])
    # The other cases of the first placement stay as they were.
    assert Case.objects.filter(placement__code="R1").count() == 2


def test_reader_process_gives_the_same_results(world, tmp_path, settings):
    """With the reader/validator in a second process (files above INTAKE_WORKER_MIN_ROWS), the outcome is the
    same: all-or-nothing, skip-invalid with its error report, and phones/ID numbers encrypted and hashed so
    that lookups find them."""
    from qingshou.portfolio.intake import pipeline
    from qingshou.portfolio.models import Debtor

    settings.INTAKE_WORKER_MIN_ROWS = 1
    table = sample(2600)
    table[1700][2] = "123"  # a bad mobile
    path = write(tmp_path / "W1.csv", table)
    with read_table(path) as t:
        assert pipeline.use_worker(t)
    imp = do_import(path, world.creditor_a)
    assert imp.status == Import.Status.REJECTED and imp.invalid_rows == 1 and imp.total_rows == 2600
    assert not Case.objects.filter(creditor=world.creditor_a, placement__code="W1").exists()
    imp = do_import(path, world.creditor_a, skip_invalid=True)
    assert imp.status == Import.Status.SUCCEEDED, imp.message
    assert (imp.created_count, imp.invalid_rows) == (2599, 1)
    assert list(imp.row_errors.values_list("row", flat=True)) == [1701]
    last = table[-1]
    case = Case.objects.get(placement__code="W1", account_number=last[3])
    assert case.debtor.id_number == last[1] and Debtor.objects.filter(id_number=last[1]).count() == 1
    assert Phone.objects.filter(number=last[2], party__debtor=case.debtor).count() == 1
    assert Phone.objects.filter(party__debtor=case.debtor).count() == 4
    assert case.events.filter(type="placed").count() == 1


def test_sealing_ahead_is_the_fields_encryption_with_fresh_nonces():
    from qingshou.core import crypto
    from qingshou.portfolio.intake.pipeline import seal

    validator = RowValidator(HEADERS, synonym_mapping(HEADERS))
    table = sample(2)
    recs = [validator.validate(i + 2, row)[0] for i, row in enumerate(table[1:])]
    recs[1].mobile = recs[0].mobile
    for rec in recs:
        seal(rec)
        assert set(rec.sealed) == {rec.id_number, rec.mobile, rec.work_phone, *(c.phone for c in rec.contacts)}
        for plain, (stored, digest) in rec.sealed.items():
            assert crypto.decrypt(stored) == plain and digest == crypto.hash_value(plain)
            assert stored.startswith(crypto.keyring().current.prefix)
    a, b = recs[0].sealed[recs[0].mobile][0], recs[1].sealed[recs[1].mobile][0]
    assert a != b  # the same number twice: two different nonces, two different ciphertexts
    nonces = [stored.split("$", 1)[1][:16] for stored, _ in recs[0].sealed.values()]  # 12 bytes = 16 base64 chars
    assert len(set(nonces)) == len(nonces) == 5  # and each value of one record has its own nonce


@pytest.mark.parametrize("skip_fk", [True, False])
def test_foreign_key_checks_off_only_while_writing(world, tmp_path, monkeypatch, skip_fk):
    """On PostgreSQL the FK triggers are switched off (SET LOCAL) only around each chunk's writes, and only when
    the role may; either way the result is the same and the session is back to normal afterwards."""
    from django.db import connection

    from qingshou.portfolio.intake import fastinsert

    if connection.vendor != "postgresql":
        assert fastinsert.skip_fk_triggers_possible() is False
    elif not skip_fk:
        monkeypatch.setattr(fastinsert, "skip_fk_triggers_possible", lambda: False)
    table = sample(30)
    imp = do_import(write(tmp_path / f"FK{skip_fk}.csv", table), world.creditor_a, acting_user=world.supervisor)
    assert imp.status == Import.Status.SUCCEEDED and imp.created_count == 30
    assert Party.objects.filter(debtor__cases__placement__code=f"FK{skip_fk}").count() == 90
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SHOW session_replication_role")
            assert cur.fetchone()[0] == "origin"


def test_fast_validation_path_agrees_with_the_thorough_one():
    """``validate_packed`` (a fast path for clean rows, the thorough ``validate`` for anything else) gives exactly
    ``pack_record(validate(...))`` and the same errors, on clean rows and on rows with odd or bad values."""
    import random

    from qingshou.portfolio.intake.validation import pack_record

    rng = random.Random(20261124)
    odd = ["", " ", "0", "00", "12.5", "12.50", "12.505", "-1", "1,234.00", "¥12.00", "1e3", "abc", ".5", "007",
           "999999999999.99", "9999999999999.99", "M3", "m7+", "M8", "30天", "36500", "36501", "2026-02-30",
           "20260105", "2026/1/5", "+86 13812345678", "12345678901", "010-12345678", "62345678", "老婆", "外星人",
           "SELF", " 配偶 ", "x" * 101, "110101199001011234", "11010119900101123x", "110101900101123", "a\tb\\c"]
    base = list(rows(300, seed=11))
    thorough, fast = (RowValidator(HEADERS, synonym_mapping(HEADERS)) for _ in range(2))
    fast_taken = 0
    for n in range(3000):
        row = list(rng.choice(base))
        row[3] += f"-{n % 2500}"  # mostly distinct accounts, a few repeated
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            i = rng.randrange(len(row))
            row[i] = rng.choice(odd) if rng.random() < 0.7 else row[rng.randrange(len(row))]
        if rng.random() < 0.05:
            row = row[:rng.randrange(len(row))]
        rec, errors = thorough.validate(n + 2, row)
        packed, packed_errors = fast.validate_packed(n + 2, row)
        assert packed == (pack_record(rec) if rec else None), row
        assert [(e.row, e.column, e.value, e.code, e.reason.text("en")) for e in packed_errors] == [
            (e.row, e.column, e.value, e.code, e.reason.text("en")) for e in errors], row
        fast_taken += packed is not None
    assert thorough.seen_accounts == fast.seen_accounts
    assert 300 < fast_taken < 2900  # both paths well exercised


def test_combined_phone_pattern_is_the_type_by_type_check():
    import random

    from qingshou.portfolio.intake.validation import _CN_VALID_NSN, _cn_valid_nsn_by_types

    rng = random.Random(7)
    numbers = ["".join(rng.choice("0123456789") for _ in range(rng.randint(1, 13))) for _ in range(20_000)]
    numbers += [p + n[:10] for p, n in zip(["1", "10", "13", "17", "179", "2", "86", "0"] * 500, numbers,
                                           strict=False)]
    assert [n for n in numbers if (_CN_VALID_NSN(n) is not None) != _cn_valid_nsn_by_types(n)] == []


def test_placed_event_text_is_what_json_dumps_writes():
    import json

    from qingshou.portfolio.intake.pipeline import Packer

    validator = RowValidator(HEADERS, synonym_mapping(HEADERS))
    packer = Packer(validator, sealing=False, placement_code="委案-1 \"x\"", import_id=42)
    table = sample(3)
    table[2][25] = table[2][26] = ""  # no last payment
    for i, row in enumerate(table[1:]):
        _rownum, (p, _sealed, event), errors = packer(i + 2, row)
        data = {"placement": "委案-1 \"x\"", "total_due": p[9], "import_id": 42}
        if row[25]:
            data["last_payment_date"] = p[16]
        if row[26]:
            data["last_payment_amount"] = p[17]
        assert event == json.dumps(data) and not errors


def test_copy_text_escapes_and_nulls():
    from qingshou.portfolio.intake.fastinsert import _text_formatters
    from qingshou.portfolio.models import CaseEvent

    fields = [CaseEvent._meta.get_field(a) for a in ("id", "case", "type", "user", "data")]
    plain, escaping, texts = _text_formatters(fields, ("x\ty", None))
    rows = [(1, 2, "placed", None, '{"a": "\\u59d4"}'), (3, 4, "note", 5, "a\tb\nc\rd")]
    assert texts(rows) == 'placed{"a": "\\u59d4"}notea\tb\nc\rd'
    assert plain(rows[:1]) == '1\t2\tplaced\t\\N\t{"a": "\\u59d4"}\tx\\ty\t\\N\n'
    assert escaping(rows) == ('1\t2\tplaced\t\\N\t{"a": "\\\\u59d4"}\tx\\ty\t\\N\n'
                              '3\t4\tnote\t5\ta\\tb\\nc\\rd\tx\\ty\t\\N\n')


def test_copy_text_plain_columns_left_out_of_the_escape_check():
    """Columns declared plain_text (choices, ciphertexts, hashes) are not looked at to decide on escaping; the
    others still are, and an escaping batch escapes every text column."""
    from qingshou.portfolio.intake.fastinsert import _text_formatters
    from qingshou.portfolio.models import CaseEvent

    fields = [CaseEvent._meta.get_field(a) for a in ("id", "case", "type", "user", "data")]
    plain, escaping, texts = _text_formatters(fields, (), plain_text={2})
    rows = [(1, 2, "placed", None, "a\tb")]
    assert texts(rows) == "a\tb"
    assert escaping(rows) == "1\t2\tplaced\t\\N\ta\\tb\n"
    _plain, _escaping, texts = _text_formatters(fields, (), plain_text={2, 4})
    assert texts(rows) == ""


def test_import_indexes_schema(db):
    """Migration 0009: the case's account number and status have one plain index each (no varchar_pattern_ops
    twin), the phone's unique constraint leads with the number's hash (and serves lookups by number), phones have
    an index by party, and locked_by and (team, status) are indexed where set only."""
    from django.db import connection

    with connection.cursor() as cur:
        case = connection.introspection.get_constraints(cur, "portfolio_case")
        phone = connection.introspection.get_constraints(cur, "portfolio_phone")
    case_indexes = {name for name, c in case.items() if c["index"]}
    assert {"case_account_number", "case_status", "case_locked_by", "case_team_status"} <= case_indexes
    assert not [name for name in case_indexes if name.endswith("_like")]
    assert [c["columns"] for name, c in case.items() if c["index"] and "account_number" in c["columns"]
            and name != "case_account_unique"] == [["account_number"]]
    assert phone["phone_unique_per_party"]["unique"]
    assert phone["phone_unique_per_party"]["columns"] == ["number_hash", "party_id"]
    assert phone["phone_party"]["columns"] == ["party_id"]
    assert "phone_number_hash" not in phone
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN ('case_locked_by', "
                        "'case_team_status')")
            defs = dict(cur.fetchall())
        assert "WHERE (locked_by_id IS NOT NULL)" in defs["case_locked_by"]
        assert "WHERE (team_id IS NOT NULL)" in defs["case_team_status"]


def test_text_with_tabs_and_backslashes_stored_as_written(world, tmp_path):
    from qingshou.portfolio.models import Address

    table = sample(3)
    table[1][14] = "幸福路\\1号\t2栋"  # home address
    table[2][0] = "张\\三"
    imp = do_import(write(tmp_path / "ESC.csv", table), world.creditor_a)
    assert imp.status == Import.Status.SUCCEEDED, imp.message
    assert Address.objects.filter(text="幸福路\\1号\t2栋").count() == 1
    assert Case.objects.get(placement__code="ESC", account_number=table[2][3]).debtor.name == "张\\三"


def test_a_failed_background_write_leaves_nothing(world, tmp_path, monkeypatch):
    """The batches are written by a background thread; when one of its writes fails, the import fails and the
    batches written before it are rolled back with everything else."""
    from qingshou.portfolio.intake import fastinsert, placement

    monkeypatch.setattr(placement, "BATCH_SIZE", 10)
    real, calls = fastinsert.run_jobs, []

    def failing(cursor, jobs, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(cursor, jobs, **kw)

    monkeypatch.setattr(fastinsert, "run_jobs", failing)
    imp = create_import(write(tmp_path / "BG.csv", sample(35)), creditor=world.creditor_a)
    with pytest.raises(RuntimeError, match="disk full"):
        run_placement_import(imp.pk)
    imp.refresh_from_db()
    assert imp.status == Import.Status.FAILED and len(calls) >= 2
    assert not Case.objects.filter(placement__code="BG").exists()
    monkeypatch.setattr(fastinsert, "run_jobs", real)
    imp = do_import(write(tmp_path / "BG2.csv", sample(35)), world.creditor_a)
    assert imp.status == Import.Status.SUCCEEDED and imp.created_count == 35


INTAKE_TABLES = ("portfolio_debtor", "portfolio_party", "portfolio_phone", "portfolio_address", "portfolio_case",
                 "portfolio_caseevent")


def _index_definitions():
    """{(table, index name): definition} of the intake tables' indexes, and their unique constraints."""
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)",
                        [list(INTAKE_TABLES)])
            found = {(t, name): d for t, name, d in cur.fetchall()}
            cur.execute("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE conrelid::regclass::text = ANY(%s)", [list(INTAKE_TABLES)])
            found.update({(t, "constraint " + name): d for t, name, d in cur.fetchall()})
            return found
        cur.execute("SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index'")
        return {(t, name): d for t, name, d in cur.fetchall() if t in INTAKE_TABLES}


def test_indexes_of_empty_tables_built_after_the_load(db, tmp_path, monkeypatch):
    """PostgreSQL: into tables with no row yet, an import drops their secondary indexes (not those its own lookups
    use) and builds them again, in its transaction, once the rows are in; afterwards every index and unique
    constraint is exactly as before. Into tables that have rows, nothing is dropped. SQLite: never."""
    from django.db import connection

    from qingshou.core import crypto
    from qingshou.org.models import Creditor
    from qingshou.portfolio.intake import fastinsert
    from qingshou.portfolio.models import Debtor

    creditor = Creditor.objects.create(code="IDX", name="索引测试银行")
    assert not Case.objects.exists() and not Phone.objects.exists()
    before = _index_definitions()
    assert len(before) >= 15
    started = []
    real_start = fastinsert.DeferredIndexes.start

    def spy(self):
        out = real_start(self)
        started.append((out, list(self.rebuild)))
        return out

    monkeypatch.setattr(fastinsert.DeferredIndexes, "start", spy)
    table = sample(40)
    table[2][1] = table[1][1]  # one debtor with two accounts
    imp = do_import(write(tmp_path / "IDX1.csv", table), creditor)
    assert imp.status == Import.Status.SUCCEEDED and imp.created_count == 40
    deferred, statements = started[-1]
    if connection.vendor == "postgresql":
        assert deferred == {Debtor, Phone, Case, CaseEvent}  # parties and addresses have only the kept ones
        assert any("phone_unique_per_party" in s and "UNIQUE (number_hash, party_id)" in s for s in statements)
        assert any("debtor_id_number_hash" in s for s in statements)
        assert not any("phone_party" in s for s in statements)  # the loader's own lookup stays
    else:
        assert deferred == set() and statements == []
    assert _index_definitions() == before
    assert Debtor.objects.filter(cases__placement__code="IDX1").distinct().count() == 39
    # The search still finds a case by its full phone number: the hash index is back and used.
    phone = table[5][2]
    assert Phone.objects.filter(number_hash=crypto.hash_value(phone)).count() == 1
    imp = do_import(write(tmp_path / "IDX2.csv", sample(10, start=100)), creditor)
    assert imp.status == Import.Status.SUCCEEDED and imp.created_count == 10
    assert started[-1] == (set(), [])
    assert _index_definitions() == before


def test_deferred_unique_constraint_checked_when_rebuilt(db):
    """A unique constraint dropped for the load is checked again when it is rebuilt: a duplicate fails the
    transaction, and rolling back puts the constraint back."""
    from django.db import IntegrityError, connection, transaction

    from qingshou.portfolio.intake import fastinsert
    from qingshou.portfolio.models import Debtor

    if connection.vendor != "postgresql":
        pytest.skip("indexes are deferred on PostgreSQL only")
    before = _index_definitions()
    with pytest.raises(IntegrityError, match="phone_unique_per_party"), transaction.atomic():
        indexes = fastinsert.DeferredIndexes([Debtor, Party, Phone])
        assert indexes.start() == {Debtor, Party, Phone}
        assert ("portfolio_phone", "phone_unique_per_party") not in _index_definitions()
        debtor = Debtor.objects.create(name="测试", id_number="11010119900307123X")
        party = Party.objects.create(debtor=debtor, name="测试", relation="self")
        Phone.objects.create(party=party, number="13800000000")
        Phone.objects.create(party=party, number="13800000000")
        indexes.finish()
    assert _index_definitions() == before


def test_nothing_deferred_when_a_table_is_in_use(db, monkeypatch):
    """When another transaction holds a lock on an empty table, the drop is not granted within the lock timeout:
    nothing is deferred, the import's transaction goes on, and every index stays."""
    import psycopg
    from django.db import connection, transaction

    from qingshou.portfolio.intake import fastinsert

    if connection.vendor != "postgresql":
        pytest.skip("indexes are deferred on PostgreSQL only")
    monkeypatch.setattr(fastinsert.DeferredIndexes, "LOCK_TIMEOUT_MS", 200)
    before = _index_definitions()
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k in ("host", "port", "user", "password", "dbname")},
                         autocommit=False) as other:
        other.execute("LOCK TABLE portfolio_caseevent IN ACCESS SHARE MODE")
        with transaction.atomic():
            indexes = fastinsert.DeferredIndexes([CaseEvent])
            assert indexes.start() == set() and indexes.rebuild == []
            assert CaseEvent.objects.count() == 0  # the transaction is still usable
            with connection.cursor() as cur:
                cur.execute("SHOW lock_timeout")
                assert cur.fetchone()[0] in ("0", "0ms")  # put back
        other.rollback()
    assert _index_definitions() == before
