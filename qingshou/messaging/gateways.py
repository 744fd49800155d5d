"""SMS gateway adapters, chosen by settings.SMS_BACKEND ("console" or "http").

    result = get_backend().send(OutgoingSms(...))   # -> gateway message id
    raises RetryableError (5xx, timeouts, connection errors) or PermanentError (4xx, invalid number)

The HTTP contract (README "Channels: templates and SMS"): every request and callback is signed with
the app secret: X-Signature = hex HMAC-SHA256(secret, timestamp + "\\n" + nonce + "\\n" + raw body),
with headers X-App-Id, X-Timestamp (Unix seconds), X-Nonce.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils import timezone


class GatewayError(Exception):
    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


class RetryableError(GatewayError):
    """Try again later: the gateway is down or overloaded (5xx), or the request timed out."""


class PermanentError(GatewayError):
    """Never retry: the request or the number is wrong (4xx, invalid number)."""


@dataclass
class OutgoingSms:
    out_id: str                      # our message id ("qs-<pk>"): the gateway de-duplicates on it
    phone: str
    template_id: str                 # "<creditor>.<template code>.v<number>"
    params: dict = field(default_factory=dict)
    content: str = ""
    sign_name: str = ""


# --- signing --------------------------------------------------------------------------------------

def signature(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, app_id: str, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    nonce = secrets.token_hex(12)
    return {"Content-Type": "application/json; charset=utf-8", "X-App-Id": app_id, "X-Timestamp": timestamp,
            "X-Nonce": nonce, "X-Signature": signature(secret, timestamp, nonce, body)}


def verify(secret: str, headers, body: bytes, *, max_skew: int, now: float | None = None) -> bool:
    """True when the headers carry a valid, fresh signature of `body` (headers: a case-insensitive mapping)."""
    if not secret:
        return False
    timestamp, nonce, sig = headers.get("X-Timestamp", ""), headers.get("X-Nonce", ""), headers.get("X-Signature", "")
    if not (timestamp and nonce and sig) or not timestamp.isdigit():
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > max_skew:
        return False
    return hmac.compare_digest(signature(secret, timestamp, nonce, body), sig)


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
        request = urllib.request.Request(self.url + "/sms/send", data=body, method="POST",  # noqa: S310
                                         headers=signed_headers(self.secret, self.app_id, body))
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (configured URL)
                payload = _json(response.read())
        except urllib.error.HTTPError as exc:
            payload = _json(exc.read())
            code = str(payload.get("code") or f"http_{exc.code}")
            if exc.code >= 500 or exc.code == 429:
                raise RetryableError(code, str(payload.get("message", ""))) from exc
            raise PermanentError(code, str(payload.get("message", ""))) from exc
        except TimeoutError as exc:
            raise RetryableError("timeout") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise RetryableError("timeout") from exc
            raise RetryableError("connection", str(exc.reason)) from exc
        message_id = payload.get("message_id")
        if payload.get("code") != "OK" or not message_id:
            raise PermanentError(str(payload.get("code") or "bad_response"), str(payload.get("message", "")))
        return str(message_id)


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


BACKENDS = {"console": ConsoleBackend, "http": HttpBackend}


def get_backend():
    try:
        return BACKENDS[settings.SMS_BACKEND]()
    except KeyError:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"SMS_BACKEND must be one of {sorted(BACKENDS)}") from None
