from django.db import migrations


def seed(apps, schema_editor):
    from django.utils import timezone

    from qingshou.strategy.rules import DEFAULT_RULES

    StrategyVersion = apps.get_model("strategy", "StrategyVersion")
    if not StrategyVersion.objects.exists():
        StrategyVersion.objects.create(number=1, rules=DEFAULT_RULES, status="published", published_at=timezone.now(),
                                       note="出厂默认策略")


class Migration(migrations.Migration):
    dependencies = [("strategy", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
