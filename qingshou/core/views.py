"""Shared view plumbing (refusals are audited) and the pages of the core app: home, login, tokens."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.scoping import can
from qingshou.org.models import Role


def deny(request, what: str, **data):
    """Write the refusal to the audit log, then answer 403."""
    user = request.user if getattr(request.user, "is_authenticated", False) else None
    audit(
        "permission.denied", actor=user, reason=what, path=request.path[:300], method=request.method, **data
    )
    raise PermissionDenied(what)


def require_capability(capability: str):
    """login_required + can(user, capability), with the refusal audited."""

    def decorator(view):
        @functools.wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not can(request.user, capability):
                deny(request, capability)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def action_error_messages(exc: ActionError) -> dict[str, list[str]]:
    """{field: [message, ...]} from an ActionError, whatever shape it was built with."""
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


def add_action_errors(form, exc: ActionError) -> None:
    """Put an ActionError's field errors beside the matching form fields; the rest at the top."""
    for field, msgs in action_error_messages(exc).items():
        target = field if field in form.fields else None
        for msg in msgs:
            form.add_error(target, msg)


MAX_PK = 2**63 - 1


def parse_pk(value) -> int | None:
    """An id from user input, or None: never a value the database cannot even compare."""
    try:
        pk = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return pk if 0 < pk <= MAX_PK else None


class SafeModelChoiceMixin:
    """ModelChoiceField that answers "invalid choice" for ids out of the database's integer range."""

    def to_python(self, value):
        if value not in self.empty_values and parse_pk(value) is None:
            from django.core.exceptions import ValidationError

            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


def home_url_for(user) -> str:
    role = user.role
    if role in (Role.COLLECTOR, Role.TEAM_LEADER):
        return reverse("portfolio:queue")
    if role == Role.SUPERVISOR:
        return reverse("reports:team")
    if role == Role.ADMIN:
        return reverse("admin:index")
    return reverse("portfolio:list")


@login_required
def home(request):
    return redirect(home_url_for(request.user))


# --- API tokens --------------------------------------------------------------------------------


def _token_service():
    try:
        from qingshou.core import tokens
    except ImportError:  # the API part of the project is not installed yet
        return None
    return tokens


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    from qingshou.core.models import ApiToken

    service = _token_service()
    new_secret = None
    errors = []
    if request.method == "POST":
        if service is None:
            errors.append(_("API tokens are not available yet."))
        else:
            try:
                _token, new_secret = service.create_api_token(
                    request.user, request.POST.get("name") or "", acting_user=request.user
                )
            except ActionError as exc:
                errors.extend(m for ms in action_error_messages(exc).values() for m in ms)
    tokens = ApiToken.objects.filter(user=request.user).order_by("-created_at", "-id")
    return render(
        request,
        "core/tokens.html",
        {
            "tokens": tokens,
            "new_secret": new_secret,
            "errors": errors,
            "available": service is not None,
        },
    )


@login_required
@require_http_methods(["POST"])
def token_revoke(request, pk):
    from qingshou.core.models import ApiToken

    service = _token_service()
    token = ApiToken.objects.filter(user=request.user, pk=pk if str(pk).isdigit() else None).first()
    if token is None:
        from django.http import Http404

        raise Http404("no such token")
    if service is None:
        messages.error(request, _("API tokens are not available yet."))
    elif token.revoked_at:
        messages.info(request, _("This token was already revoked."))
    else:
        try:
            service.revoke_api_token(token, acting_user=request.user)
            messages.success(request, _("Token revoked."))
        except ActionError as exc:
            for msgs in action_error_messages(exc).values():
                for m in msgs:
                    messages.error(request, m)
    return redirect("core:tokens")
