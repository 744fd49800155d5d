from django.urls import path

from qingshou.contact import views

app_name = "contact"
urlpatterns = [
    path("case/<int:pk>/log/", views.log_contact, name="log"),
]
