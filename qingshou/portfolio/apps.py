from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    name = "qingshou.portfolio"
    label = "portfolio"
