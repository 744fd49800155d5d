from django.db import migrations


def load(apps, schema_editor):
    from qingshou.messaging.outcomes import ensure_sms_outcomes

    ensure_sms_outcomes(apps.get_model("contact", "OutcomeCode"))  # sms_sent 短信已发送, sms_failed 短信发送失败


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial"), ("contact", "0005_tp_refused_outcome")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
