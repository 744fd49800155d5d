from django.apps import AppConfig


class ContactConfig(AppConfig):
    name = "qingshou.contact"
    label = "contact"
