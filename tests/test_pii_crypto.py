"""PII at rest: AES-GCM field encryption, keyed-hash lookup, key rotation, the data migration, and no
plaintext phone or ID number anywhere in the stored rows (SQLite file and PostgreSQL rows)."""

import base64
import os
import re
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.exceptions import FieldError, ImproperlyConfigured, ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings

from qingshou.core import crypto
from qingshou.core.rotation import rotate_keys
from qingshou.portfolio.filters import CaseFilter
from qingshou.portfolio.models import Case, Debtor, Party, Phone, Relation
from qingshou.portfolio.search import number_candidates

ROOT = Path(__file__).resolve().parent.parent
OLD = "old:" + "o" * 40
NEW = "new:" + "n" * 40


def raw(table, column, pk):
    with connection.cursor() as cur:
        cur.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cur.fetchone()[0]


def raw_phone(phone):
    return raw("portfolio_phone", "number", phone.pk)


# --- the primitives --------------------------------------------------------------------------------


def test_round_trip_random_nonce_and_key_id_prefix():
    a, b = crypto.encrypt("13800138000"), crypto.encrypt("13800138000")
    assert a != b  # a fresh nonce each time
    assert crypto.decrypt(a) == crypto.decrypt(b) == "13800138000"
    assert a.startswith(crypto.keyring().current.prefix) and "13800138000" not in a
    assert crypto.decrypt(crypto.encrypt("证件号码 X")) == "证件号码 X"


def test_tampered_or_unknown_key_or_plaintext_is_refused():
    token = crypto.encrypt("110101199003071234")
    kid, body = token.split("$")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(f"{kid}${flipped}")
    with pytest.raises(crypto.DecryptionError, match="not in the keyring"):
        crypto.decrypt(f"nosuchkey${body}")
    with pytest.raises(crypto.DecryptionError, match="not encrypted"):
        crypto.decrypt("110101199003071234")


def test_keyring_parsing():
    ring = crypto.parse_keyring([NEW, OLD, "z" * 40])
    assert [k.id for k in ring.keys] == ["new", "old", crypto.derive_key_id("z" * 40)]
    assert ring.current.id == "new" and len(ring.hash_keys) == 3
    fixed = crypto.parse_keyring([NEW, OLD], hash_secret="h" * 40)
    assert len(fixed.hash_keys) == 1  # a configured hash key does not change with the encryption key
    with pytest.raises(ImproperlyConfigured, match="at least 32"):
        crypto.parse_keyring(["k1:short"])
    with pytest.raises(ImproperlyConfigured, match="twice"):
        crypto.parse_keyring([NEW, NEW])
    with pytest.raises(ImproperlyConfigured):
        crypto.parse_keyring([])


def test_keyring_from_the_environment(tmp_path, monkeypatch):
    from qingshou.envconf import env_keyring, env_secret

    monkeypatch.setenv("QS_TEST_KEYS", f"{NEW}, {OLD}")
    assert env_keyring("QS_TEST_KEYS") == [NEW, OLD]
    f = tmp_path / "keys"
    f.write_text(f"{NEW}\n{OLD}\n")
    monkeypatch.delenv("QS_TEST_KEYS")
    monkeypatch.setenv("QS_TEST_KEYS_FILE", str(f))
    assert env_keyring("QS_TEST_KEYS") == [NEW, OLD]
    assert env_keyring("QS_TEST_NOTHING") == []
    assert env_secret("QS_TEST_NOTHING", optional=True) == ""


def test_lookup_hash():
    assert crypto.hash_value("13800138000") == crypto.hash_value("13800138000")
    assert crypto.hash_value("13800138000") != crypto.hash_value("13800138001")
    assert len(crypto.hash_value("13800138000")) == crypto.HASH_HEX_CHARS
    assert crypto.hash_value("") == "" and crypto.hash_value(None) is None
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW]):
        other = crypto.hash_value("13800138000")
    assert other != crypto.hash_value("13800138000")  # keyed


# --- the model fields ------------------------------------------------------------------------------


@pytest.fixture
def party(db):
    debtor = Debtor.objects.create(name="测试甲", id_number="11010119900307123X")
    return Party.objects.create(debtor=debtor, name=debtor.name, relation=Relation.SELF)


def test_stored_as_ciphertext_read_as_plaintext(party):
    phone = Phone.objects.create(party=party, number="13912345678")
    stored = raw_phone(phone)
    assert "13912345678" not in stored and crypto.decrypt(stored) == "13912345678"
    assert raw("portfolio_phone", "number_hash", phone.pk) == crypto.hash_value("13912345678")
    assert "11010119900307123X" not in raw("portfolio_debtor", "id_number", party.debtor_id)
    phone.refresh_from_db()
    assert phone.number == "13912345678" and str(phone) == "139****5678"
    assert Debtor.objects.get(pk=party.debtor_id).id_number == "11010119900307123X"
    assert list(Phone.objects.filter(pk=phone.pk).values_list("number", flat=True)) == ["13912345678"]
    assert Phone.objects.filter(pk=phone.pk).values("number", "party__debtor__id_number")[0] == {
        "number": "13912345678", "party__debtor__id_number": "11010119900307123X"}


def test_exact_lookups_go_through_the_hash(party):
    a = Phone.objects.create(party=party, number="13912345678")
    b = Phone.objects.create(party=party, number="13987654321")
    assert Phone.objects.get(number="13912345678") == a
    assert set(Phone.objects.filter(number__in=["13912345678", "13987654321", "1"])) == {a, b}
    assert not Phone.objects.filter(number="1391234567").exists()  # partial numbers find nothing
    assert Debtor.objects.get(id_number="11010119900307123X").pk == party.debtor_id
    assert Debtor.objects.filter(parties__phones__number="13987654321").get().pk == party.debtor_id
    assert Phone.objects.exclude(number="13912345678").get() == b
    assert not Phone.objects.filter(number__in=[]).exists()
    obj, created = Phone.objects.get_or_create(party=party, number="13912345678")
    assert obj == a and not created
    with pytest.raises(FieldError, match="encrypted"):
        list(Phone.objects.filter(number__icontains="1391"))
    with pytest.raises(FieldError, match="encrypted"):
        list(Phone.objects.filter(number__startswith="139"))


def test_unique_per_party_through_the_hash(party):
    Phone.objects.create(party=party, number="13912345678")
    dup = Phone(party=party, number="13912345678")
    with pytest.raises(ValidationError):
        dup.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        dup.save()


def test_bulk_create_update_bulk_update_and_update_fields_keep_the_hash(party):
    phones = Phone.objects.bulk_create([Phone(party=party, number=f"1381234{i:04d}") for i in range(3)])
    assert all("1381234" not in raw_phone(p) for p in phones)
    assert Phone.objects.filter(number="13812340002").count() == 1

    Phone.objects.filter(pk=phones[0].pk).update(number="13700000000")
    assert Phone.objects.get(number="13700000000").pk == phones[0].pk
    assert "13700000000" not in raw_phone(phones[0])

    phones[1].number = "13700000001"
    Phone.objects.bulk_update([phones[1]], ["number"])
    assert Phone.objects.get(number="13700000001").pk == phones[1].pk

    phones[2].number = "13700000002"
    phones[2].save(update_fields=["number"])
    assert Phone.objects.get(number="13700000002").pk == phones[2].pk
    assert not Phone.objects.filter(number__in=["13812340000", "13812340001", "13812340002"]).exists()


# --- search ----------------------------------------------------------------------------------------


def test_number_candidates():
    assert number_candidates("138 0013-8000") == ["13800138000"]
    assert number_candidates("+86 13800138000") == ["+8613800138000", "13800138000"]
    assert number_candidates("11010119900307123x") == ["11010119900307123X"]
    assert number_candidates("张三") == [] and number_candidates("ACC0001") == [] and number_candidates("1234") == []


def test_case_list_queue_and_api_find_a_case_by_full_phone_or_id_number(world, client_for):
    from qingshou.core.tokens import create_api_token

    case = world.case
    debtor_phone = Phone.objects.filter(party__debtor=case.debtor, party__relation=Relation.SELF).first()
    third_phone = Phone.objects.filter(party__debtor=case.debtor).exclude(party__relation=Relation.SELF).first()
    for q in (debtor_phone.number, third_phone.number, case.debtor.id_number, case.debtor.id_number.lower(),
              f"{debtor_phone.number[:3]} {debtor_phone.number[3:7]} {debtor_phone.number[7:]}"):
        assert list(CaseFilter({"q": q}, queryset=Case.objects.all()).qs) == [case], q
    assert not CaseFilter({"q": debtor_phone.number[:-1]}, queryset=Case.objects.all()).qs.exists()

    c = client_for(world.collector)
    html = c.get("/cases/mine/", {"q": debtor_phone.number}).content.decode()
    assert case.account_number in html and world.case_peer.account_number not in html
    html = c.get("/cases/", {"q": case.debtor.id_number}).content.decode()
    assert case.account_number in html
    # Out of scope stays out of scope: the peer's case is not found by its number either.
    peer_phone = Phone.objects.filter(party__debtor=world.case_team2.debtor).first()
    assert world.case_team2.account_number not in c.get("/cases/", {"q": peer_phone.number}).content.decode()

    _, token = create_api_token(world.collector, "t", acting_user=world.collector)
    r = c.get("/api/v1/cases", {"q": case.debtor.id_number}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == [case.pk]


# --- no plaintext anywhere -------------------------------------------------------------------------


def _all_stored_text():
    """Every table's rows as text, straight from the database (no ORM conversion)."""
    out = []
    with connection.cursor() as cur:
        for table in connection.introspection.table_names(cur):
            cur.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            out.extend(f"{table}: {row!r}" for row in cur.fetchall())
    return "\n".join(out)


def test_no_plaintext_phone_or_id_number_in_any_stored_row(db):
    call_command("demo", "--cases", "30", stdout=StringIO())
    numbers = set(Phone.objects.values_list("number", flat=True)) | set(
        Debtor.objects.values_list("id_number", flat=True))
    assert len(numbers) > 100
    with connection.cursor() as cur:
        cur.execute("SELECT number, number_hash FROM portfolio_phone")
        for stored, digest in cur.fetchall():
            assert re.match(r"^[A-Za-z0-9_.-]+\$[A-Za-z0-9_-]+$", stored) and len(digest) == 32
    text = _all_stored_text()
    leaked = sorted(n for n in numbers if n in text)
    assert not leaked, leaked[:5]


def test_no_plaintext_in_the_raw_sqlite_file(tmp_path):
    key = "filetest:" + "f" * 40
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "QINGSHOU_FIELD_KEYS")}
    env.update(DB="sqlite", QINGSHOU_VAR_DIR=str(tmp_path), QINGSHOU_FIELD_KEY=key,
               DJANGO_SETTINGS_MODULE="qingshou.settings")
    cli = [sys.executable, "-c", "from qingshou.cli import main; main()"]
    for args in (["migrate", "-v", "0"], ["demo", "--cases", "40", "-v", "0"]):
        subprocess.run(cli + args, cwd=ROOT, env=env, check=True, timeout=300, capture_output=True)
    db = tmp_path / "qingshou.sqlite3"
    ring = crypto.parse_keyring([key])
    con = sqlite3.connect(db)
    try:
        stored = [r[0] for r in con.execute("SELECT number FROM portfolio_phone")]
        stored += [r[0] for r in con.execute("SELECT id_number FROM portfolio_debtor")]
    finally:
        con.close()
    assert len(stored) > 100
    numbers = set()
    for value in stored:
        kid, body = value.split("$")
        assert kid == "filetest"
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        numbers.add(ring.current.aead.decrypt(blob[:12], blob[12:], None).decode())
    data = b"".join(p.read_bytes() for p in tmp_path.glob("qingshou.sqlite3*"))
    for n in numbers:
        assert n.encode() not in data, n
        assert n.encode("utf-16-le") not in data


# --- rotation --------------------------------------------------------------------------------------


def counted(*args):
    """Run `qingshou rotate_keys ARGS` and read {field: count} off its summary (in whatever language)."""
    out = StringIO()
    call_command("rotate_keys", *args, stdout=out)
    return {m[1]: int(m[2]) for m in re.finditer(r"^(portfolio\.\w+\.\w+)\D*(\d+)", out.getvalue(), re.M)}


def test_rotate_keys_resumable_and_lookups_work_throughout(party):
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD]):
        phones = Phone.objects.bulk_create([Phone(party=party, number=f"1360000{i:04d}") for i in range(5)])
        Debtor.objects.filter(pk=party.debtor_id).update(id_number="11010119900307123X")
        assert all(raw_phone(p).startswith("old$") for p in phones)
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW, OLD]):
        # Mixed state: old rows still decrypt and are found through the old key's hash.
        assert Phone.objects.get(number="13600000003").pk == phones[3].pk

        class Stop(Exception):
            pass

        def stop_after_first_batch(result):
            if result.label == "portfolio.Phone.number":
                raise Stop

        with pytest.raises(Stop):
            rotate_keys(batch_size=2, progress=stop_after_first_batch)
        stored = [raw_phone(p) for p in phones]
        assert sum(s.startswith("new$") for s in stored) == 2  # the first batch is committed
        assert Phone.objects.get(number="13600000000").pk == phones[0].pk  # rotated row, new hash
        assert Phone.objects.get(number="13600000004").pk == phones[4].pk  # pending row, old hash

        assert counted("--dry-run") == {"portfolio.Debtor.id_number": 0, "portfolio.Phone.number": 3}
        assert all(raw_phone(p) == s for p, s in zip(phones, stored, strict=True))  # a dry run changes nothing
        assert counted("--batch-size", "2") == {"portfolio.Debtor.id_number": 0, "portfolio.Phone.number": 3}
        assert all(raw_phone(p).startswith("new$") for p in phones)
        assert counted() == {"portfolio.Debtor.id_number": 0, "portfolio.Phone.number": 0}  # nothing left
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW]):  # the old key can now be dropped
        assert sorted(Phone.objects.values_list("number", flat=True)) == [f"1360000{i:04d}" for i in range(5)]
        assert Phone.objects.get(number="13600000002").pk == phones[2].pk
        assert Debtor.objects.get(id_number="11010119900307123X").pk == party.debtor_id


def test_rotate_keys_reports_a_missing_key(party):
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD]):
        Phone.objects.create(party=party, number="13600000000")
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW]), pytest.raises(CommandError, match="not in the keyring"):
        call_command("rotate_keys", stdout=StringIO())


def test_rotate_keys_rehash_after_changing_the_hash_key(party):
    phone = Phone.objects.create(party=party, number="13600000000")
    with override_settings(FIELD_HASH_KEY="h" * 40):
        assert not Phone.objects.filter(number="13600000000").exists()
        call_command("rotate_keys", "--rehash", stdout=StringIO())
        assert Phone.objects.get(number="13600000000") == phone


# --- the data migration ----------------------------------------------------------------------------


def _plaintext_rows(case):
    """Put plaintext back into the columns, as before the migration."""
    with connection.cursor() as cur:
        cur.execute("UPDATE portfolio_debtor SET id_number = %s, id_number_hash = '' WHERE id = %s",
                    ["11010119900307123X", case.debtor_id])
        for phone in Phone.objects.filter(party__debtor=case.debtor):
            cur.execute("UPDATE portfolio_phone SET number = %s, number_hash = '' WHERE id = %s",
                        [f"1350000{phone.pk:04d}", phone.pk])


def test_data_migration_encrypts_existing_rows(world):
    import importlib

    from django.apps import apps as global_apps

    mig = importlib.import_module("qingshou.portfolio.migrations.0005_pii_encryption")
    _plaintext_rows(world.case)
    editor = SimpleNamespace(connection=connection)  # the step only uses the editor's connection
    mig.encrypt_existing(global_apps, editor)
    mig.encrypt_existing(global_apps, editor)  # re-runnable: encrypted rows are left alone
    assert crypto.decrypt(raw("portfolio_debtor", "id_number", world.case.debtor_id)) == "11010119900307123X"
    assert Debtor.objects.get(id_number="11010119900307123X").pk == world.case.debtor_id
    for phone in Phone.objects.filter(party__debtor=world.case.debtor):
        assert phone.number == f"1350000{phone.pk:04d}"
        assert Phone.objects.get(number=phone.number) == phone
    mig.decrypt_existing(global_apps, editor)
    assert raw("portfolio_debtor", "id_number", world.case.debtor_id) == "11010119900307123X"


@pytest.mark.django_db(transaction=True)
def test_migration_forwards_and_backwards():
    """The real migration on this database: back to plaintext columns, rows added, forward again."""
    target = [("portfolio", "0005_pii_encryption")]
    before = [("portfolio", "0004_compliance_holds_timezones")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT number FROM portfolio_phone")
            assert cur.fetchall() == []
        old = MigrationExecutor(connection).loader.project_state(before).apps
        debtor = old.get_model("portfolio", "Debtor").objects.create(name="迁移", id_number="11010119900307123X")
        party = old.get_model("portfolio", "Party").objects.create(debtor=debtor, name="迁移", relation="self")
        old_phone = old.get_model("portfolio", "Phone")
        for i in range(3):
            old_phone.objects.create(party=party, number=f"1370000{i:04d}")
        executor = MigrationExecutor(connection)
        executor.migrate(target)
        # the models as of the target migration (later migrations may add columns)
        new = MigrationExecutor(connection).loader.project_state(target).apps
        new_debtor, new_phone = new.get_model("portfolio", "Debtor"), new.get_model("portfolio", "Phone")
        assert "11010119900307123X" not in raw("portfolio_debtor", "id_number", debtor.pk)
        assert new_debtor.objects.get(id_number="11010119900307123X").name == "迁移"
        assert sorted(new_phone.objects.filter(party_id=party.pk).values_list("number", flat=True)) == [
            "13700000000", "13700000001", "13700000002"]
        with pytest.raises(IntegrityError), transaction.atomic():
            new_phone.objects.create(party_id=party.pk, number="13700000001")
        executor = MigrationExecutor(connection)
        executor.migrate(before)  # backwards decrypts
        assert raw("portfolio_debtor", "id_number", debtor.pk) == "11010119900307123X"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
