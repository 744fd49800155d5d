from django.apps import AppConfig


class StrategyConfig(AppConfig):
    name = "qingshou.strategy"
    label = "strategy"

    def ready(self):
        from qingshou.strategy import signals  # noqa: F401
