from django.db import migrations

# Outcome code of letter contact records (ContactAttempt.channel = "letter").
LETTER_OUTCOMES = [("letter_sent", "信函已生成", "letter generated", 910)]


def load(apps, schema_editor):
    OutcomeCode = apps.get_model("contact", "OutcomeCode")
    for code, zh, en, order in LETTER_OUTCOMES:
        OutcomeCode.objects.update_or_create(code=code, defaults={"label_zh": zh, "label_en": en, "order": order})


def unload(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("letters", "0001_initial"), ("contact", "0005_tp_refused_outcome")]
    operations = [migrations.RunPython(load, unload)]
