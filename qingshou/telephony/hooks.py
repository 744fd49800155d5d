"""The dialer's call-result callback (POST /hooks/telephony/result), signed like our requests.

A request without a signature is treated like any browser request (login required, then refused and
audited); a wrong or stale signature gets 403 {"code": "BAD_SIGNATURE"} and is audited.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from qingshou.core.audit import audit
from qingshou.core.errors import ActionError
from qingshou.core.views import deny
from qingshou.telephony.actions import do_complete_call
from qingshou.telephony.gateways import verify


@csrf_exempt
@require_POST
def result(request):
    if "X-Signature" not in request.headers:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        deny(request, "telephony.hook.unsigned")
    body = request.body
    if not verify(settings.TELEPHONY_APP_SECRET, request.headers, body,
                  max_skew=settings.TELEPHONY_SIGNATURE_MAX_SKEW_SECONDS):
        audit("permission.denied", actor=None, reason="telephony.hook.signature", path=request.path[:300],
              method=request.method)
        return JsonResponse({"code": "BAD_SIGNATURE"}, status=403)
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        payload = None
    if not isinstance(payload, dict) or not payload.get("call_id"):
        return JsonResponse({"code": "BAD_REQUEST"}, status=400)
    started = parse_datetime(str(payload.get("started_at") or "")) if payload.get("started_at") else None
    try:
        duration = int(payload.get("duration") or 0)
    except (TypeError, ValueError):
        return JsonResponse({"code": "BAD_REQUEST", "message": "duration"}, status=400)
    try:
        call = do_complete_call(
            str(payload["call_id"]), duration=duration, hangup_cause=str(payload.get("hangup_cause") or ""),
            started_at=started if started and started.tzinfo else None,
            recording_url=str(payload.get("recording_url") or ""), disposition=str(payload.get("outcome") or ""),
            gateway_call_id=str(payload.get("gateway_call_id") or ""),
        )
    except ActionError as exc:
        return JsonResponse({"code": "BAD_REQUEST", "message": str(exc)}, status=400)
    if call is None:
        return JsonResponse({"code": "UNKNOWN_CALL"}, status=404)
    return JsonResponse({"code": "OK"})
