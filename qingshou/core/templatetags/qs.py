"""Template helpers: masking, money, and the Chinese rendering of timeline events."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.utils import timezone

from qingshou.core import masking

register = template.Library()


@register.filter
def mask_phone(value):
    return masking.mask_phone(value)


@register.filter
def mask_id(value):
    return masking.mask_id_number(value)


@register.filter
def mask_name(value):
    return masking.mask_name(value)


@register.filter
def money(value):
    """12,345.60 — Decimal in, grouped string out; never goes through float."""
    if value is None or value == "":
        return ""
    try:
        d = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return str(value)
    sign = "-" if d < 0 else ""
    whole, frac = f"{abs(d):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{','.join(groups)}.{frac}"


@register.filter
def percent(value):
    if value is None:
        return "—"
    return f"{value * 100:.1f}%"


@register.filter
def local_dt(value, fmt="%Y-%m-%d %H:%M"):
    if not value:
        return ""
    return timezone.localtime(value).strftime(fmt)


@register.simple_tag
def qs_role_label(user):
    return user.get_role_display() if getattr(user, "role", None) else ""


@register.filter
def field_error_text(field):
    """The first error of a bound field as plain text."""
    errors = getattr(field, "errors", None)
    return errors[0] if errors else ""
