from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "qingshou.reports"
    label = "reports"
