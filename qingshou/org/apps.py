from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "qingshou.org"
    label = "org"
