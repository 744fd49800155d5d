"""Who is calling: a per-user API token, or the browser's Django session (with CSRF on writes)."""

from __future__ import annotations

from django.conf import settings
from ninja.security import APIKeyCookie, HttpBearer

from qingshou.core.tokens import authenticate_token


class TokenAuth(HttpBearer):
    """``Authorization: Bearer qs_<prefix>_<secret>``."""

    def authenticate(self, request, token):
        user = authenticate_token(token)
        if user is not None:
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The logged-in browser session. Unsafe methods need the CSRF token (``X-CSRFToken`` header).

    Unlike ninja's own SessionAuth, the CSRF check runs only when a session user is present, so an
    anonymous request is a 401, not a 403.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super()._get_key(request)  # raises HttpError(403) when the CSRF check fails

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None
