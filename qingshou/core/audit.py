"""Writing the audit log. Call inside the action's transaction so the row commits with the change."""

from django.db import models

from qingshou.core.models import AuditLog


def audit(
    action: str,
    *,
    actor,
    obj: models.Model | None = None,
    case_id: int | None = None,
    reason: str = "",
    **data,
) -> AuditLog:
    object_type = ""
    object_id = ""
    if obj is not None:
        object_type = obj._meta.label_lower
        object_id = str(obj.pk)
        if case_id is None and obj._meta.label_lower == "portfolio.case":
            case_id = obj.pk
    return AuditLog.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        case_id=case_id,
        reason=reason[:500],
        data=_jsonable(data),
    )


def _jsonable(value):
    from datetime import date, datetime
    from decimal import Decimal

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value
