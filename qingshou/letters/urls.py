from django.urls import path

from qingshou.letters import views

app_name = "letters"

urlpatterns = [
    path("", views.index, name="index"),
    path("batches/<int:pk>/", views.batch_detail, name="batch"),
    path("<int:pk>/pdf/", views.letter_pdf, name="pdf"),
    path("register/", views.register, name="register"),
    path("register/import/", views.import_tracking, name="import"),
    path("<int:pk>/dispatch/", views.dispatch, name="dispatch"),
]
