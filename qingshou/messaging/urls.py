from django.urls import path

from qingshou.messaging import views

app_name = "messaging"
urlpatterns = [
    path("templates/", views.template_list, name="templates"),
    path("templates/new/", views.template_new, name="template_new"),
    path("templates/<int:pk>/", views.template_detail, name="template"),
    path("templates/<int:pk>/retire/", views.template_retire, name="template_retire"),
    path("versions/<int:pk>/submit/", views.version_submit, name="version_submit"),
    path("versions/<int:pk>/review/", views.version_review, name="version_review"),
    path("case/<int:pk>/sms/", views.case_sms, name="case_sms"),
    path("sms/bulk/", views.bulk, name="bulk"),
    path("sms/batches/<int:pk>/", views.batch, name="batch"),
]
