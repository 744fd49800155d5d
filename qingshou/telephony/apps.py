from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "qingshou.telephony"
    verbose_name = "telephony"
    default_auto_field = "django.db.models.BigAutoField"
