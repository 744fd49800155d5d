from django.urls import path

from qingshou.skiptrace import views

app_name = "skiptrace"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("case/<int:pk>/", views.case_leads, name="case"),
    path("case/<int:pk>/leads/", views.add_lead, name="add_lead"),
    path("leads/<int:pk>/verify/", views.verify_lead, name="verify_lead"),
    path("report/", views.report, name="report"),
    path("enrichment/", views.enrichment_upload, name="import"),
    path("enrichment/<int:pk>/", views.enrichment_detail, name="import_detail"),
]
