from django.urls import path

from qingshou.strategy import views

app_name = "strategy"
urlpatterns = [
    path("", views.index, name="index"),
    path("versions/new/", views.new_draft, name="new_draft"),
    path("versions/<int:pk>/", views.version, name="version"),
    path("versions/<int:pk>/publish/", views.publish, name="publish"),
    path("versions/<int:pk>/rollback/", views.rollback, name="rollback"),
    path("diff/", views.diff, name="diff"),
    path("experiments/start/", views.experiment_start, name="experiment_start"),
    path("experiments/<int:pk>/", views.experiment, name="experiment"),
    path("experiments/<int:pk>/stop/", views.experiment_stop, name="experiment_stop"),
    path("runs/now/", views.run_now, name="run_now"),
    path("runs/<int:pk>/", views.run, name="run"),
]
