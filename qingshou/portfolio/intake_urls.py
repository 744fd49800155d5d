from django.urls import path

from qingshou.portfolio import intake_views as views

app_name = "intake"
urlpatterns = [
    path("", views.index, name="index"),
    path("placement/", views.placement_upload, name="placement_upload"),
    path("placement/<str:token>/", views.placement_mapping, name="placement_mapping"),
    path("payments/", views.payment_upload, name="payment_upload"),
    path("recall/", views.recall, name="recall"),
    path("recall/file/", views.recall_file, name="recall_file"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/status/", views.status, name="status"),
    path("<int:pk>/errors/", views.error_report, name="error_report"),
    path("<int:pk>/run/", views.run_for_real, name="run_for_real"),
]
