from django.db import migrations


def load(apps, schema_editor):
    from qingshou.contact.outcomes import STANDARD_OUTCOMES

    OutcomeCode = apps.get_model("contact", "OutcomeCode")
    for order, (code, zh, en, flags) in enumerate(STANDARD_OUTCOMES, start=1):
        OutcomeCode.objects.update_or_create(
            code=code, defaults={"label_zh": zh, "label_en": en, "order": order * 10, **flags}
        )


class Migration(migrations.Migration):
    dependencies = [("contact", "0002_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
