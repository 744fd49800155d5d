"""Drop single-column indexes that a composite index already leads (each is one more write per imported row):

- ``portfolio_phone.party_id``: the unique constraint ``phone_unique_per_party`` is (party_id, number_hash);
- ``portfolio_caseevent.case_id``: the index (case_id, at DESC);
- ``portfolio_case.placement_id``: ``case_account_unique`` (placement_id, account_number);
- ``portfolio_case.creditor_id``, ``team_id``, ``assigned_to_id``: the indexes (…, status).

Only the indexes go (``DROP INDEX``): the foreign-key constraints stay as they are, so neither PostgreSQL
re-checks them nor SQLite rebuilds the tables.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (model, field, table, column, index name as Django created it)
INDEXES = [
    ("case", "assigned_to", "portfolio_case", "assigned_to_id", "portfolio_case_assigned_to_id_10dd13c5"),
    ("case", "creditor", "portfolio_case", "creditor_id", "portfolio_case_creditor_id_2283f42f"),
    ("case", "placement", "portfolio_case", "placement_id", "portfolio_case_placement_id_6c339354"),
    ("case", "team", "portfolio_case", "team_id", "portfolio_case_team_id_36c76e40"),
    ("caseevent", "case", "portfolio_caseevent", "case_id", "portfolio_caseevent_case_id_071b711d"),
    ("phone", "party", "portfolio_phone", "party_id", "portfolio_phone_party_id_8a6c8ee1"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("org", "0002_creditor_jurisdiction"),
        ("portfolio", "0007_skiptrace_sources_verification"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")',
                )
                for _model, _field, table, column, name in INDEXES
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="assigned_to",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="assigned_cases",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="collector",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="creditor",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="org.creditor",
                        verbose_name="creditor",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="placement",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="portfolio.placement",
                        verbose_name="placement",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="org.team",
                        verbose_name="team",
                    ),
                ),
                migrations.AlterField(
                    model_name="caseevent",
                    name="case",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="portfolio.case",
                    ),
                ),
                migrations.AlterField(
                    model_name="phone",
                    name="party",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="phones",
                        to="portfolio.party",
                        verbose_name="party",
                    ),
                ),
            ],
        ),
    ]
