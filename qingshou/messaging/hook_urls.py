from django.urls import path

from qingshou.messaging import hooks

app_name = "sms_hooks"
urlpatterns = [
    path("receipt", hooks.receipt, name="receipt"),
    path("inbound", hooks.inbound, name="inbound"),
]
