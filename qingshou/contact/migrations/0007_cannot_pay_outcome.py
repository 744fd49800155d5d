from django.db import migrations


def load(apps, schema_editor):
    from qingshou.contact.outcomes import ensure_standard_outcomes

    ensure_standard_outcomes(apps.get_model("contact", "OutcomeCode"))  # adds cannot_pay 无力还款


class Migration(migrations.Migration):
    dependencies = [("contact", "0006_call_status_qa_flag")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
