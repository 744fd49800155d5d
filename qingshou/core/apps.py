from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "qingshou.core"
    label = "core"
