from django.urls import path

from qingshou.propensity import views

app_name = "propensity"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/activate/", views.activate, name="activate"),
    path("deactivate/", views.deactivate, name="deactivate"),
]
