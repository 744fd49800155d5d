from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "qingshou.compliance"
    label = "compliance"
