from django.urls import path

from qingshou.compliance import views

app_name = "compliance"
urlpatterns = [
    path("decisions/", views.decisions, name="decisions"),
    path("refusals/", views.refusals, name="refusals"),
    path("policies/", views.policies, name="policies"),
    path("policies/<str:name>/", views.policy_layer, name="policy_layer"),
]
