from django.urls import path

from qingshou.arrangements import views

app_name = "arrangements"
urlpatterns = [
    path("approvals/", views.approvals, name="approvals"),
    path("terms/", views.terms_list, name="terms"),
    path("terms/<int:pk>/", views.terms_edit, name="terms_edit"),
    path("case/<int:pk>/", views.case_card, name="case_card"),
    path("case/<int:pk>/plan/", views.plan_new, name="plan_new"),
    path("case/<int:pk>/plan/preview/", views.plan_preview, name="plan_preview"),
    path("case/<int:pk>/offer/", views.offer_new, name="offer_new"),
    path("plans/<int:pk>/", views.plan_detail, name="plan"),
    path("plans/<int:pk>/review/", views.plan_review, name="plan_review"),
    path("plans/<int:pk>/documents/", views.plan_document, name="plan_document"),
    path("plans/<int:pk>/documents/<int:doc>/", views.plan_document_file, name="plan_document_file"),
    path("plans/<int:pk>/cancel/", views.plan_cancel, name="plan_cancel"),
    path("offers/<int:pk>/", views.offer_detail, name="offer"),
    path("offers/<int:pk>/review/", views.offer_review, name="offer_review"),
    path("offers/<int:pk>/communicate/", views.offer_communicate, name="offer_communicate"),
]
