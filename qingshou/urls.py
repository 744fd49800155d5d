from django.contrib import admin
from django.urls import include, path

from qingshou.api.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("", include("qingshou.core.urls")),
    path("cases/", include("qingshou.portfolio.urls")),
    path("contacts/", include("qingshou.contact.urls")),
    path("reports/", include("qingshou.reports.urls")),
    path("compliance/", include("qingshou.compliance.urls")),
    path("strategy/", include("qingshou.strategy.urls")),
    path("propensity/", include("qingshou.propensity.urls")),
    path("arrangements/", include("qingshou.arrangements.urls")),
    path("intake/", include("qingshou.portfolio.intake_urls")),
    path("skiptrace/", include("qingshou.skiptrace.urls")),
    path("letters/", include("qingshou.letters.urls")),
    path("s/", include("qingshou.selfservice.urls")),
    path("hooks/sms/", include("qingshou.messaging.hook_urls")),
    path("messaging/", include("qingshou.messaging.urls")),
    path("hooks/telephony/", include("qingshou.telephony.hook_urls")),
    path("telephony/", include("qingshou.telephony.urls")),
]
