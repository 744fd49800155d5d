from django.db import migrations


def load(apps, schema_editor):
    from qingshou.contact.outcomes import ensure_standard_outcomes

    ensure_standard_outcomes(apps.get_model("contact", "OutcomeCode"))


class Migration(migrations.Migration):
    dependencies = [("contact", "0002_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
