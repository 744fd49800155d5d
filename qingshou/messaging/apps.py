from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "qingshou.messaging"
    label = "messaging"
