"""Signed JSON over HTTP, as our gateway contracts use it (SMS gateway, dialer): both directions.

A request is signed with HMAC-SHA256 over ``timestamp \\n nonce \\n body`` using the shared app secret and
carries X-App-Id, X-Timestamp, X-Nonce and X-Signature headers; callbacks to us are verified the same way.
Errors are classified for the task retry logic: RetryableError (5xx, 429, timeouts, connection
failures) and PermanentError (other 4xx, or a gateway that is not configured).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request


class GatewayError(Exception):
    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


class RetryableError(GatewayError):
    """Try again later: the gateway is down or overloaded (5xx / 429), or the request timed out."""


class PermanentError(GatewayError):
    """Never retry: the request or the number is wrong (4xx), or the gateway is not configured."""


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


def json_object(raw: bytes) -> dict:
    """The JSON object in `raw`, or {} when it is not one."""
    try:
        value = json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def post_signed_json(url: str, body: bytes, *, secret: str, app_id: str, timeout: float) -> dict:
    """POST a signed JSON body; the response's JSON object, or a classified GatewayError."""
    request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310 (configured URL)
                                     headers=signed_headers(secret, app_id, body))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured URL)
            return json_object(response.read())
    except urllib.error.HTTPError as exc:
        payload = json_object(exc.read())
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
