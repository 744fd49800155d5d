from django.db import migrations


def load(apps, schema_editor):
    from qingshou.contact.outcomes import ensure_standard_outcomes

    ensure_standard_outcomes(apps.get_model("contact", "OutcomeCode"))  # adds tp_refused 第三方拒绝转告


class Migration(migrations.Migration):
    dependencies = [("contact", "0004_outcome_refused_contact_flags")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
