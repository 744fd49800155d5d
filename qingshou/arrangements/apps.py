from django.apps import AppConfig


class ArrangementsConfig(AppConfig):
    name = "qingshou.arrangements"
    label = "arrangements"
    verbose_name = "arrangements"
