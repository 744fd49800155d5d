from django.db import migrations


def seed(apps, schema_editor):
    from qingshou.compliance.policies import ensure_seed_layers

    ensure_seed_layers(apps.get_model("compliance", "PolicyLayerVersion"))


class Migration(migrations.Migration):
    dependencies = [("compliance", "0003_policy_layers_dnc_preferences_calendar")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
