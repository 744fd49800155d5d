from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SelfServiceConfig(AppConfig):
    name = "qingshou.selfservice"
    label = "selfservice"
    verbose_name = _("Debtor self-service")
