"""Callbacks from the SMS gateway: delivery receipts and inbound replies, signed like our requests.

They are machine endpoints, not pages: a request without a signature, or with a wrong or stale one,
gets 403 {"code": "BAD_SIGNATURE"} and is audited, whoever is logged in.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.messaging.actions import do_receive_sms, do_record_receipt
from qingshou.messaging.gateways import verify


def _signed_json(request):
    """(payload, None) for a valid signed request, else (None, response)."""
    body = request.body
    if "X-Signature" not in request.headers or request.headers.get("X-App-Id") != settings.SMS_APP_ID or not verify(
            settings.SMS_APP_SECRET, request.headers, body, max_skew=settings.SMS_SIGNATURE_MAX_SKEW_SECONDS):
        audit("permission.denied", actor=None, reason="sms.hook.signature", path=request.path[:300],
              method=request.method)
        return None, JsonResponse({"code": "BAD_SIGNATURE"}, status=403)
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        payload = None
    if not isinstance(payload, dict):
        return None, JsonResponse({"code": "BAD_REQUEST"}, status=400)
    return payload, None


@csrf_exempt
@require_POST
def receipt(request):
    payload, error = _signed_json(request)
    if error is not None:
        return error
    try:
        message = do_record_receipt(gateway_id=str(payload.get("message_id") or ""),
                                    out_id=str(payload.get("out_id") or ""), status=str(payload.get("status") or ""),
                                    error_code=str(payload.get("error_code") or ""))
    except ActionError:
        return JsonResponse({"code": "BAD_STATUS"}, status=400)
    if message is None:
        return JsonResponse({"code": "UNKNOWN_MESSAGE"}, status=404)
    return JsonResponse({"code": "OK"})


@csrf_exempt
@require_POST
def inbound(request):
    payload, error = _signed_json(request)
    if error is not None:
        return error
    phone = str(payload.get("phone") or "")
    if not phone:
        return JsonResponse({"code": "BAD_REQUEST"}, status=400)
    row = do_receive_sms(phone_number=phone, text=str(payload.get("text") or ""),
                         gateway_id=str(payload.get("message_id") or ""))
    return JsonResponse({"code": "OK", "opt_out": row.opt_out})
