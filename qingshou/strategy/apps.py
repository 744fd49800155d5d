from django.apps import AppConfig


class StrategyConfig(AppConfig):
    name = "qingshou.strategy"
    label = "strategy"
