from django.urls import path

from qingshou.compliance import views as compliance_views
from qingshou.portfolio import views

app_name = "portfolio"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("mine/", views.queue, name="queue"),
    path("next/", views.get_next, name="get_next"),
    path("<int:pk>/", views.case_detail, name="case"),
    path("<int:pk>/phones/", views.phone_options, name="phone_options"),
    path("<int:pk>/reveal/", views.reveal, name="reveal"),
    path("<int:pk>/precheck/", compliance_views.precheck, name="precheck"),
]
