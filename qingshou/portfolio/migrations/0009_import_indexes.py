"""Cheaper indexes for the placement import (every index is one more write per imported row):

- ``portfolio_case.account_number`` and ``status``: the plain index stays (renamed ``case_account_number``,
  ``case_status``, declared in Meta), the ``varchar_pattern_ops`` twin PostgreSQL had (``…_like``) goes: nothing
  queries either column with ``LIKE 'prefix%'`` (``icontains`` is ``UPPER(…) LIKE '%…%'``, which no btree serves).
  On PostgreSQL the plain indexes are only renamed; elsewhere they are made again under the new name.
- ``portfolio_phone``: the unique constraint ``phone_unique_per_party`` becomes (number_hash, party_id) instead of
  (party_id, number_hash), so it also serves exact lookups by number and ``phone_number_hash`` goes; lookups by
  party get a plain index ``phone_party`` (8-byte keys). One wide index on the random hash instead of two.
- ``portfolio_case.locked_by_id`` and (team_id, status): indexed only where set (partial indexes ``case_locked_by``,
  ``case_team_status``). Every lookup gives a user or a team (``locked_by = …``, ``team = …``, the foreign-key
  checks); nothing looks for the cases of no team; and an imported case has neither.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (old name, new name, column) of the plain indexes Django made for db_index=True
CASE_INDEXES = [
    ("portfolio_case_account_number_5dd343b1", "case_account_number", "account_number"),
    ("portfolio_case_status_cd9fba2d", "case_status", "status"),
]


def case_indexes_forwards(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for old, new, column in CASE_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{old}_like"')
        if postgres:
            schema_editor.execute(f'ALTER INDEX IF EXISTS "{old}" RENAME TO "{new}"')
        else:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{old}"')
            schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{new}" ON "portfolio_case" ("{column}")')


def case_indexes_backwards(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for old, new, column in CASE_INDEXES:
        if postgres:
            schema_editor.execute(f'ALTER INDEX IF EXISTS "{new}" RENAME TO "{old}"')
            schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{old}_like" ON "portfolio_case" '
                                  f'("{column}" varchar_pattern_ops)')
        else:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{new}"')
            schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{old}" ON "portfolio_case" ("{column}")')


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0008_drop_redundant_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(case_indexes_forwards, case_indexes_backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="account_number",
                    field=models.CharField(max_length=40, verbose_name="account number"),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="status",
                    field=models.CharField(
                        choices=[
                            ("active", "in collection"),
                            ("settled", "settled"),
                            ("legal", "escalated to legal"),
                            ("recalled", "recalled"),
                            ("closed", "closed"),
                        ],
                        default="active",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                migrations.AddIndex(
                    model_name="case",
                    index=models.Index(fields=["account_number"], name="case_account_number"),
                ),
                migrations.AddIndex(
                    model_name="case",
                    index=models.Index(fields=["status"], name="case_status"),
                ),
            ],
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "portfolio_case_locked_by_id_7b46672e"',
                    reverse_sql='CREATE INDEX IF NOT EXISTS "portfolio_case_locked_by_id_7b46672e" '
                                'ON "portfolio_case" ("locked_by_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="locked_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="locked by",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(condition=models.Q(("locked_by__isnull", False)), fields=["locked_by"],
                               name="case_locked_by"),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(condition=models.Q(("team__isnull", False)), fields=["team", "status"],
                               name="case_team_status"),
        ),
        migrations.RemoveIndex(
            model_name="case",
            name="portfolio_c_team_id_0c35eb_idx",
        ),
        migrations.AddIndex(
            model_name="phone",
            index=models.Index(fields=["party"], name="phone_party"),
        ),
        migrations.RemoveConstraint(
            model_name="phone",
            name="phone_unique_per_party",
        ),
        migrations.AddConstraint(
            model_name="phone",
            constraint=models.UniqueConstraint(fields=("number_hash", "party"), name="phone_unique_per_party"),
        ),
        migrations.RemoveIndex(
            model_name="phone",
            name="phone_number_hash",
        ),
    ]
