from django.apps import AppConfig


class SkipTraceConfig(AppConfig):
    name = "qingshou.skiptrace"
    label = "skiptrace"
    verbose_name = "skip tracing"

    def ready(self):
        from qingshou.skiptrace import signals  # noqa: F401
