from django.urls import path

from qingshou.selfservice import views

app_name = "selfservice"

urlpatterns = [
    # staff
    path("staff/cases/<int:pk>/links/", views.case_links, name="case_links"),
    path("staff/links/<int:pk>/revoke/", views.revoke, name="revoke"),
    # the debtor (public; the token is a signed link key, which always contains ":")
    path("<str:token>/", views.verify, name="verify"),
    path("<str:token>/account/", views.home, name="home"),
    path("<str:token>/promise/", views.promise, name="promise"),
    path("<str:token>/plan/", views.plan, name="plan"),
    path("<str:token>/dispute/", views.dispute, name="dispute"),
    path("<str:token>/quiet/", views.quiet, name="quiet"),
    path("<str:token>/leave/", views.leave, name="leave"),
]
