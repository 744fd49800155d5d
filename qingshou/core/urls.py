from django.contrib.auth import views as auth_views
from django.urls import include, path

from qingshou.core import views

# login / logout / home keep their global names (settings.LOGIN_URL = "login", LOGIN_REDIRECT_URL = "home");
# the rest of the app lives under the "core" namespace.
core_patterns = (
    [
        path("tokens/", views.token_list, name="tokens"),
        path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    ],
    "core",
)

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include(core_patterns)),
]
