"""Dialer operations: the feed of numbers callable now, and the batch compliance check.

The rules (who gets full numbers, what is stored and audited) are in compliance.dialer.
"""

from __future__ import annotations

from datetime import UTC

from django.http import JsonResponse
from django.utils import timezone
from ninja import Query, Router

from qingshou.api import schemas as s
from qingshou.api.errors import deny
from qingshou.compliance.dialer import do_dialer_check, do_dialer_feed
from qingshou.core.masking import mask_phone
from qingshou.core.scoping import can

router = Router(tags=["dialer"])

ERRORS = {401: s.ErrorOut, 403: s.ErrorOut, 422: s.FieldErrorsOut}


@router.get(
    "/dialer/next",
    response={200: s.DialerNextOut, **ERRORS},
    operation_id="dialer_next",
    summary="The next numbers of my queue that may be called now (full numbers; audited)",
    description="At most one number per case, the debtor's own first; each returned number has a stored "
    "compliance decision. Needs the dialer.feed capability (collectors, team leaders).",
)
def dialer_next(request, query: Query[s.DialerNextIn]):
    user = request.auth
    if not can(user, "dialer.feed"):
        raise deny(request, capability="dialer.feed")
    items, checked = do_dialer_feed(user, limit=query.limit, institution_stated=query.institution_stated)
    for item in items:
        item["number_masked"] = mask_phone(item["number"])
    return {"count": len(items), "checked": checked, "items": items}


@router.post(
    "/dialer/check",
    response={200: s.DialerCheckOut, **ERRORS, 400: s.FieldErrorsOut},
    operation_id="dialer_check",
    summary="Check up to 1,000 numbers against the compliance engine; every decision is stored",
    description="Per item: allowed, the denying rules and the earliest allowed time. Items outside your "
    "workable cases (or whose party/phone is not in the case) come back with error 'not_found'.",
)
def dialer_check(request, payload: s.DialerCheckIn):
    user = request.auth
    if not can(user, "case.work"):
        raise deny(request, capability="case.work")
    at = payload.at
    if at is not None:
        # pydantic's fixed-offset tzinfo is slow to convert; the engine works in zoneinfo zones.
        at = timezone.make_aware(at) if timezone.is_naive(at) else at.astimezone(UTC)
    items = do_dialer_check(user, [i.model_dump() for i in payload.items], at=at,
                            institution_stated=payload.institution_stated)
    for item in items:
        if item["next_allowed_at"] is not None:
            item["next_allowed_at"] = timezone.localtime(item["next_allowed_at"]).isoformat()
    versions = sorted({i.pop("policy_version") for i in items if "policy_version" in i})
    # Rendered directly (the response schema above documents it): validating 1,000 items again on the
    # way out would cost more than the whole compliance check.
    return JsonResponse({"count": len(items), "allowed": sum(1 for i in items if i["allowed"]),
                         "policy_versions": versions, "items": items}, json_dumps_params={"ensure_ascii": False})
