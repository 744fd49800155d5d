from django.urls import path

from qingshou.telephony import views

app_name = "telephony"
urlpatterns = [
    path("case/<int:pk>/call/", views.call, name="call"),
    path("case/<int:pk>/calls/", views.case_calls, name="case_calls"),
    path("recordings/<int:pk>/audio/", views.recording_audio, name="recording"),
    path("qa/", views.qa_list, name="qa"),
    path("preview.csv", views.preview_export, name="preview"),
    path("import/", views.import_results, name="import"),
    path("campaigns/", views.campaigns, name="campaigns"),
    path("campaigns/<int:pk>/", views.campaign, name="campaign"),
]
