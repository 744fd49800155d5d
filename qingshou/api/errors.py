"""Error answers of the API. Every refusal is a 4xx with a JSON body; bad input names its fields.

Shapes:
- 400 / 422: ``{"detail": str, "errors": {field: [message, ...]}}``
- 401 / 403 / 404: ``{"detail": str}``
- 409 (compliance refusal): ``{"allowed": false, "reasons": [...], "next_allowed_at": ...}``
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from qingshou.core.audit import audit
from qingshou.core.errors import ActionError

NON_FIELD = "__all__"

# Pydantic error types -> our (translatable) messages. Anything else keeps pydantic's English text.
_PYDANTIC_MESSAGES = {
    "missing": lambda ctx: _("This field is required."),
    "int_type": lambda ctx: _("Enter a whole number."),
    "int_parsing": lambda ctx: _("Enter a whole number."),
    "int_from_float": lambda ctx: _("Enter a whole number."),
    "decimal_type": lambda ctx: _("Enter a number."),
    "decimal_parsing": lambda ctx: _("Enter a number."),
    "finite_number": lambda ctx: _("Enter a number."),
    "decimal_max_digits": lambda ctx: _("The number is too large."),
    "decimal_whole_digits": lambda ctx: _("The number is too large."),
    "decimal_max_places": lambda ctx: (
        _("Use at most %(n)s decimal places.") % {"n": ctx.get("decimal_places")}
    ),
    "bool_type": lambda ctx: _("Enter true or false."),
    "bool_parsing": lambda ctx: _("Enter true or false."),
    "string_type": lambda ctx: _("Enter text."),
    "string_too_short": lambda ctx: _("This field cannot be blank."),
    "string_too_long": lambda ctx: _("At most %(n)s characters.") % {"n": ctx.get("max_length")},
    "date_type": lambda ctx: _("Enter a valid date (YYYY-MM-DD)."),
    "date_parsing": lambda ctx: _("Enter a valid date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": lambda ctx: _("Enter a valid date (YYYY-MM-DD)."),
    "date_from_datetime_inexact": lambda ctx: _("Enter a valid date (YYYY-MM-DD)."),
    "datetime_type": lambda ctx: _("Enter a valid date and time (ISO 8601)."),
    "datetime_parsing": lambda ctx: _("Enter a valid date and time (ISO 8601)."),
    "datetime_from_date_parsing": lambda ctx: _("Enter a valid date and time (ISO 8601)."),
    "greater_than": lambda ctx: _("Must be greater than %(v)s.") % {"v": ctx.get("gt")},
    "greater_than_equal": lambda ctx: _("Must be at least %(v)s.") % {"v": ctx.get("ge")},
    "less_than": lambda ctx: _("Must be less than %(v)s.") % {"v": ctx.get("lt")},
    "less_than_equal": lambda ctx: _("Must be at most %(v)s.") % {"v": ctx.get("le")},
    "enum": lambda ctx: _("Choose one of: %(v)s.") % {"v": ctx.get("expected")},
    "literal_error": lambda ctx: _("Choose one of: %(v)s.") % {"v": ctx.get("expected")},
    "dict_type": lambda ctx: _("Enter an object."),
    "model_attributes_type": lambda ctx: _("The request body must be a JSON object."),
    "model_type": lambda ctx: _("The request body must be a JSON object."),
    "extra_forbidden": lambda ctx: _("Unknown field."),
}


def _field_name(loc) -> str:
    """('body', 'payload', 'party_id') -> 'party_id'; ('query', 'limit') -> 'limit'; ('path', 'case_id')."""
    parts = [str(p) for p in loc if str(p) != "[key]"]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        where = parts.pop(0)
        if where == "body" and len(parts) > 1:
            parts.pop(0)  # the name of the body parameter
    return ".".join(parts) or NON_FIELD


def _message(err: dict) -> str:
    ctx = err.get("ctx") or {}
    handler = _PYDANTIC_MESSAGES.get(err.get("type", ""))
    if handler is not None:
        try:
            return str(handler(ctx))
        except (KeyError, TypeError, ValueError):  # odd ctx: fall back to pydantic's own text
            handler = None
    msg = str(err.get("msg", ""))
    # Our own validators raise ValueError("..."); pydantic prefixes "Value error, ".
    return msg.removeprefix("Value error, ")


def field_errors_from_pydantic(errors: list[dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for err in errors:
        out.setdefault(_field_name(err.get("loc", ())), []).append(_message(err))
    return out


def field_errors_from_action(exc: DjangoValidationError, rename: dict[str, str] | None = None) -> dict:
    rename = rename or {}
    if hasattr(exc, "error_dict"):
        items = exc.message_dict.items()
    else:
        items = [(NON_FIELD, exc.messages)]
    return {rename.get(k, k): [str(m) for m in v] for k, v in items}


class ApiValidationError(Exception):
    """Raised by operations for 422 with field errors they found themselves."""

    def __init__(self, errors: dict[str, list[str] | str]):
        self.errors = {
            k: [str(m) for m in (v if isinstance(v, list | tuple) else [v])] for k, v in errors.items()
        }
        super().__init__(self.errors)


class PermissionDeniedError(Exception):
    """403. Raise through `deny()` so that the refusal is audited."""

    def __init__(self, message: str | None = None):
        self.message = message
        super().__init__(message)


def deny(request, *, capability: str = "", case_id=None, reason: str = "") -> PermissionDeniedError:
    """Audit a refusal and return the exception to raise."""
    user = getattr(request, "auth", None) or getattr(request, "user", None)
    audit(
        "permission.denied",
        actor=user,
        case_id=_safe_case_id(case_id),
        reason=reason,
        method=request.method,
        path=request.path[:300],
        capability=capability,
        via="api",
    )
    return PermissionDeniedError()


def _safe_case_id(value):
    try:
        value = int(value)
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2**63 else None


def validation_body(errors: dict) -> dict:
    return {"detail": _("The request has errors; see the fields."), "errors": errors}


def install_handlers(api) -> None:
    """Replace ninja's default handlers with ours (JSON everywhere, field errors, audited 403s)."""

    def on_ninja_validation(request, exc: NinjaValidationError):
        return api.create_response(
            request, validation_body(field_errors_from_pydantic(exc.errors)), status=422
        )

    def on_api_validation(request, exc: ApiValidationError):
        return api.create_response(request, validation_body(exc.errors), status=422)

    def on_action_error(request, exc: ActionError):
        return api.create_response(request, validation_body(field_errors_from_action(exc)), status=422)

    def on_denied(request, exc: PermissionDeniedError):
        return api.create_response(
            request, {"detail": exc.message or _("You do not have permission to do this.")}, status=403
        )

    def on_404(request, exc):
        return api.create_response(request, {"detail": _("Not found.")}, status=404)

    def on_auth(request, exc: AuthenticationError):
        response = api.create_response(
            request,
            {"detail": _("Authentication required: send 'Authorization: Bearer <token>'.")},
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="qingshou"'
        return response

    def on_http_error(request, exc: HttpError):
        if exc.status_code == 400:
            body = validation_body({"body": [_("The request body is not valid JSON.")]})
            body["detail"] = _("The request body is not valid JSON.")
            return api.create_response(request, body, status=400)
        if exc.status_code == 403:
            deny(request, reason=str(exc)[:200])
            return api.create_response(
                request, {"detail": _("You do not have permission to do this.")}, status=403
            )
        return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)

    api.add_exception_handler(NinjaValidationError, on_ninja_validation)
    api.add_exception_handler(ApiValidationError, on_api_validation)
    api.add_exception_handler(ActionError, on_action_error)
    api.add_exception_handler(PermissionDeniedError, on_denied)
    api.add_exception_handler(Http404, on_404)
    api.add_exception_handler(AuthenticationError, on_auth)
    api.add_exception_handler(HttpError, on_http_error)
