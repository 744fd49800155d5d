from django.urls import path

from qingshou.telephony import hooks

app_name = "telephony_hooks"
urlpatterns = [
    path("result", hooks.result, name="result"),
]
