from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "qingshou.payments"
    label = "payments"
