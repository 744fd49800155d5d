"""PII at rest: Debtor.id_number and Phone.number become AES-GCM ciphertext with a keyed-hash column.

Existing rows are encrypted in place (raw SQL in id batches, the same on SQLite and PostgreSQL; rows
already encrypted are left alone, so the step can be re-run). Reversible: the reverse decrypts.
"""

from django.db import migrations, models

import qingshou.core.fields

BATCH = 2000
COLUMNS = (("debtor", "id_number", "id_number_hash"), ("phone", "number", "number_hash"))


def _rewrite(apps, schema_editor, convert):
    conn = schema_editor.connection
    qn = conn.ops.quote_name
    for model_name, col, hash_col in COLUMNS:
        table = qn(apps.get_model("portfolio", model_name)._meta.db_table)
        last = 0
        while True:
            with conn.cursor() as cur:
                cur.execute(f"SELECT id, {qn(col)} FROM {table} WHERE id > %s ORDER BY id LIMIT %s",  # noqa: S608
                            [last, BATCH])
                rows = cur.fetchall()
                if not rows:
                    break
                updates = [u for u in (convert(pk, value) for pk, value in rows) if u is not None]
                if updates:
                    cur.executemany(f"UPDATE {table} SET {qn(col)} = %s, {qn(hash_col)} = %s WHERE id = %s",  # noqa: S608
                                    updates)
            last = rows[-1][0]


def encrypt_existing(apps, schema_editor):
    from qingshou.core import crypto

    def convert(pk, value):
        if not value or crypto.key_id_of(value) is not None:  # empty, or already encrypted
            return None
        return (crypto.encrypt(value), crypto.hash_value(value), pk)

    _rewrite(apps, schema_editor, convert)


def decrypt_existing(apps, schema_editor):
    from qingshou.core import crypto

    def convert(pk, value):
        if not value or crypto.key_id_of(value) is None:
            return None
        return (crypto.decrypt(value), "", pk)

    _rewrite(apps, schema_editor, convert)


class Migration(migrations.Migration):

    dependencies = [
        ('portfolio', '0004_compliance_holds_timezones'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='phone',
            name='phone_unique_per_party',
        ),
        migrations.AddField(
            model_name='debtor',
            name='id_number_hash',
            field=qingshou.core.fields.LookupHashField(source='id_number'),
        ),
        migrations.AddField(
            model_name='phone',
            name='number_hash',
            field=qingshou.core.fields.LookupHashField(source='number'),
        ),
        migrations.AlterField(
            model_name='debtor',
            name='id_number',
            field=qingshou.core.fields.EncryptedCharField(max_length=18, verbose_name='ID number'),
        ),
        migrations.AlterField(
            model_name='phone',
            name='number',
            field=qingshou.core.fields.EncryptedCharField(max_length=20, verbose_name='number'),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing, elidable=False),
        migrations.AddConstraint(
            model_name='phone',
            constraint=models.UniqueConstraint(fields=('party', 'number_hash'), name='phone_unique_per_party'),
        ),
        migrations.AddIndex(
            model_name='debtor',
            index=models.Index(fields=['id_number_hash'], name='debtor_id_number_hash'),
        ),
        migrations.AddIndex(
            model_name='phone',
            index=models.Index(fields=['number_hash'], name='phone_number_hash'),
        ),
    ]
