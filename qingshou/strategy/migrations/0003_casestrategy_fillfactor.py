from django.db import migrations


def fillfactor(apps, schema_editor):
    # Nightly runs rewrite every row; free space on each page lets PostgreSQL update in place (HOT) when the
    # indexed columns (treatment, priority, experiment, arm) did not change.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE strategy_casestrategy SET (fillfactor = 70)")


class Migration(migrations.Migration):
    dependencies = [("strategy", "0002_seed_default_strategy")]
    operations = [migrations.RunPython(fillfactor, migrations.RunPython.noop)]
