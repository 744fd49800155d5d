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
    path("intake/", include("qingshou.portfolio.intake_urls")),
]
