"""SMS gateway adapters, chosen by settings.SMS_BACKEND ("console" or "http").

    result = get_backend().send(OutgoingSms(...))   # -> gateway message id
    raises RetryableError (5xx, timeouts, connection errors) or PermanentError (4xx, invalid number)

The HTTP contract (README "Channels: templates and SMS"): every request and callback is signed with
the app secret: X-Signature = hex HMAC-SHA256(secret, timestamp + "\\n" + nonce + "\\n" + raw body),
with headers X-App-Id, X-Timestamp (Unix seconds), X-Nonce.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from qingshou.core.signedhttp import (  # noqa: F401 (re-exported for the adapters' users)
    GatewayError,
    PermanentError,
    RetryableError,
    json_object,
    post_signed_json,
    signature,
    signed_headers,
    verify,
)


@dataclass
class OutgoingSms:
    out_id: str                      # our message id ("qs-<pk>"): the gateway de-duplicates on it
    phone: str
    template_id: str                 # "<creditor>.<template code>.v<number>"
    params: dict = field(default_factory=dict)
    content: str = ""
    sign_name: str = ""


# --- backends -------------------------------------------------------------------------------------

class ConsoleBackend:
    """The embedded default: appends one JSON line per message to settings.SMS_OUTBOX; nothing is sent."""

    name = "console"

    def send(self, sms: OutgoingSms) -> str:
        path = Path(settings.SMS_OUTBOX)
        path.parent.mkdir(parents=True, exist_ok=True)
        gateway_id = f"console-{uuid.uuid4().hex[:16]}"
        line = {"at": timezone.now().isoformat(), "gateway_id": gateway_id, **asdict(sms)}
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
        return gateway_id


class HttpBackend:
    """A typical Chinese SMS gateway: POST {SMS_GATEWAY_URL}/sms/send, signed JSON in, JSON out."""

    name = "http"

    def __init__(self, url: str | None = None, app_id: str | None = None, secret: str | None = None,
                 timeout: float | None = None):
        self.url = (url if url is not None else settings.SMS_GATEWAY_URL).rstrip("/")
        self.app_id = app_id if app_id is not None else settings.SMS_APP_ID
        self.secret = secret if secret is not None else settings.SMS_APP_SECRET
        self.timeout = timeout if timeout is not None else settings.SMS_TIMEOUT_SECONDS

    def send(self, sms: OutgoingSms) -> str:
        if not self.url or not self.secret:
            raise PermanentError("not_configured", "SMS_GATEWAY_URL and SMS_APP_SECRET must be set")
        body = json.dumps(asdict(sms), ensure_ascii=False, separators=(",", ":")).encode()
        payload = post_signed_json(self.url + "/sms/send", body, secret=self.secret, app_id=self.app_id,
                                   timeout=self.timeout)
        message_id = payload.get("message_id")
        if payload.get("code") != "OK" or not message_id:
            raise PermanentError(str(payload.get("code") or "bad_response"), str(payload.get("message", "")))
        return str(message_id)


BACKENDS = {"console": ConsoleBackend, "http": HttpBackend}


def get_backend():
    try:
        return BACKENDS[settings.SMS_BACKEND]()
    except KeyError:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"SMS_BACKEND must be one of {sorted(BACKENDS)}") from None
