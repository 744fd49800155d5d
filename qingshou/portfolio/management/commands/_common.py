"""Helpers shared by the portfolio commands."""

from __future__ import annotations

from datetime import date

from django.core.management.base import CommandError

from qingshou.core.errors import ActionError


def get_creditor(code: str):
    from qingshou.org.models import Creditor

    try:
        return Creditor.objects.get(code=code)
    except Creditor.DoesNotExist:
        known = ", ".join(Creditor.objects.order_by("code").values_list("code", flat=True)) or "none"
        raise CommandError(f"No creditor with code {code!r} (known: {known}).") from None


def get_user(username: str | None):
    if not username:
        return None
    from qingshou.org.models import User

    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise CommandError(f"No user named {username!r}.") from None


def parse_date(value: str | None, what: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{what}: expected a date as YYYY-MM-DD, got {value!r}.") from None


def action_error(exc: ActionError) -> CommandError:
    if hasattr(exc, "error_dict"):
        text = "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in exc.message_dict.items())
    else:
        text = "; ".join(str(m) for m in exc.messages)
    return CommandError(text)
