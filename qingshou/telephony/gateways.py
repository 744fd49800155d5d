"""Telephony adapters, chosen by settings.TELEPHONY_BACKEND ("console" or "http").

    gateway_call_id = get_backend().originate(Originate(...))
    raises RetryableError (5xx, 429, timeouts, connection errors) or PermanentError (other 4xx)

HTTP contract (README "Channels: dialer, recordings and voice reminders"), like a typical CTI gateway:
every request and callback carries X-App-Id, X-Timestamp (Unix seconds), X-Nonce and
X-Signature = hex HMAC-SHA256(secret, timestamp + "\\n" + nonce + "\\n" + raw body).

    POST {TELEPHONY_GATEWAY_URL}/calls/originate
      {"call_id", "mode": "agent"|"robot", "extension", "number", "script", "callback_url"}
      -> 200 {"code": "OK", "gateway_call_id": "..."}
    POST {callback_url}  (our /hooks/telephony/result)
      {"call_id", "gateway_call_id", "started_at" (ISO 8601), "duration" (s), "hangup_cause",
       "recording_url" (optional), "outcome" (optional: one of our outcome codes, the agent's disposition)}
"""

from __future__ import annotations

import io
import json
import math
import struct
import urllib.error
import urllib.request
import wave
from dataclasses import asdict, dataclass

from django.conf import settings

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
class Originate:
    call_id: str                 # our id: the gateway de-duplicates on it and echoes it in the callback
    mode: str                    # "agent" (click-to-call: ring the extension, then the number) | "robot"
    extension: str
    number: str
    callback_url: str
    script: str = ""             # robot calls: the rendered voice script (text-to-speech on the gateway)


# --- synthetic audio --------------------------------------------------------------------------------

def sine_wav(seconds: float = 2.0, freq: float = 440.0, rate: int = 8000) -> bytes:
    """A short mono 16-bit WAV of a sine tone (telephone quality): the console backend's 'recording'."""
    frames = int(seconds * rate)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate)))
                               for i in range(frames)))
    return out.getvalue()


# --- backends -------------------------------------------------------------------------------------

class ConsoleBackend:
    """The embedded default: nothing rings. A task completes the call after a few seconds with a fake
    result and a synthetic WAV recording (telephony.tasks.console_complete_call)."""

    name = "console"

    def originate(self, call: Originate) -> str:
        from datetime import timedelta

        from django.utils import timezone

        from qingshou.telephony.tasks import console_complete_call

        run_after = timezone.now() + timedelta(seconds=settings.TELEPHONY_CONSOLE_DELAY_SECONDS)
        console_complete_call.using(run_after=run_after).enqueue(call.call_id)
        return "console-" + call.call_id


class HttpBackend:
    name = "http"

    def __init__(self, url: str | None = None, app_id: str | None = None, secret: str | None = None,
                 timeout: float | None = None):
        self.url = (url if url is not None else settings.TELEPHONY_GATEWAY_URL).rstrip("/")
        self.app_id = app_id if app_id is not None else settings.TELEPHONY_APP_ID
        self.secret = secret if secret is not None else settings.TELEPHONY_APP_SECRET
        self.timeout = timeout if timeout is not None else settings.TELEPHONY_TIMEOUT_SECONDS

    def originate(self, call: Originate) -> str:
        if not self.url or not self.secret:
            raise PermanentError("not_configured", "TELEPHONY_GATEWAY_URL and TELEPHONY_APP_SECRET must be set")
        body = json.dumps(asdict(call), ensure_ascii=False, separators=(",", ":")).encode()
        payload = post_signed_json(self.url + "/calls/originate", body, secret=self.secret,
                                   app_id=self.app_id, timeout=self.timeout)
        gateway_call_id = payload.get("gateway_call_id")
        if payload.get("code") != "OK" or not gateway_call_id:
            raise PermanentError(str(payload.get("code") or "bad_response"), str(payload.get("message", "")))
        return str(gateway_call_id)


def fetch_recording(url: str, *, max_bytes: int, timeout: float) -> tuple[bytes, str]:
    """GET a recording (signed like our requests when it goes to the configured gateway)."""
    headers = {}
    if settings.TELEPHONY_APP_SECRET:
        headers = signed_headers(settings.TELEPHONY_APP_SECRET, settings.TELEPHONY_APP_ID, b"")
        headers.pop("Content-Type")
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (URL from a signed callback)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            data = response.read(max_bytes + 1)
            content_type = response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise RetryableError(f"http_{exc.code}") from exc
        raise PermanentError(f"http_{exc.code}") from exc
    except (TimeoutError, urllib.error.URLError) as exc:
        raise RetryableError("connection", str(exc)) from exc
    if len(data) > max_bytes:
        raise PermanentError("too_large")
    if not data:
        raise PermanentError("empty")
    return data, content_type


BACKENDS = {"console": ConsoleBackend, "http": HttpBackend}


def get_backend():
    return BACKENDS[settings.TELEPHONY_BACKEND]()
