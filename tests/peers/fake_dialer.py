"""A local fake CTI dialer speaking the documented contract (README "Channels: dialer, recordings and
voice reminders").

    d = FakeDialer(secret="s3cret").start()    # threaded HTTP server on a free port -> TELEPHONY_GATEWAY_URL
    d.fail_next(2)                             # the next 2 originate requests answer 503
    d.no_recording = True                      # results carry no recording URL
    d.hangup_cause, d.duration = "NO_ANSWER", 0
    d.wait_for_callbacks(1)                    # block until n results were POSTed back (and answered)
    d.stop()

It verifies the signature of every originate request (401 BAD_SIGNATURE otherwise), answers with a
gateway call id, then POSTs the signed result to the request's callback_url from a thread, with a
recording URL that it serves itself (a short synthetic WAV).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.utils import timezone

from qingshou.telephony.gateways import signed_headers, sine_wav, verify


class FakeDialer:
    def __init__(self, secret: str, app_id: str = "qingshou", callback_delay: float = 0.05):
        self.secret = secret
        self.app_id = app_id
        self.callback_delay = callback_delay
        self.originated: list[dict] = []      # accepted originate requests
        self.requests: list[dict] = []        # every originate request: {"status", "body"}
        self.callbacks: list[tuple[int, dict]] = []   # (our status, our answer) per result POSTed
        self.recording_gets = 0
        self.no_recording = False
        self.auto_callback = True
        self.hangup_cause = "NORMAL_CLEARING"
        self.duration = 42
        self.wav = sine_wav(seconds=1.0)
        self._fail = 0
        self._lock = threading.Lock()
        self._done = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    # --- control ------------------------------------------------------------------------------
    def fail_next(self, n: int, status: int = 503) -> None:
        with self._lock:
            self._fail, self._fail_status = n, status

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeDialer:
        dialer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body: bytes, ctype="application/json"):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802 (the recording)
                if self.path.startswith("/recordings/") and self.path.endswith(".wav"):
                    dialer.recording_gets += 1
                    return self._send(200, dialer.wav, "audio/wav")
                return self._send(404, b"{}")

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, payload = dialer._handle(self.path, self.headers, body)
                self._send(status, json.dumps(payload).encode())

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def wait_for_callbacks(self, n: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self._done:
            while len(self.callbacks) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"only {len(self.callbacks)} of {n} callbacks after {timeout}s")
                self._done.wait(left)

    # --- the contract -------------------------------------------------------------------------
    def _handle(self, path, headers, body):
        record = {"path": path, "body": body}
        self.requests.append(record)
        if path != "/calls/originate":
            record["status"] = 404
            return 404, {"code": "NOT_FOUND"}
        if headers.get("X-App-Id") != self.app_id or not verify(self.secret, headers, body, max_skew=300):
            record["status"] = 401
            return 401, {"code": "BAD_SIGNATURE"}
        with self._lock:
            if self._fail > 0:
                self._fail -= 1
                record["status"] = self._fail_status
                return self._fail_status, {"code": "BUSY", "message": "try later"}
        data = json.loads(body)
        for key in ("call_id", "number", "callback_url", "mode"):
            if not data.get(key):
                record["status"] = 400
                return 400, {"code": "BAD_REQUEST", "message": key}
        for earlier in self.originated:       # idempotent on our call id
            if earlier["call_id"] == data["call_id"]:
                record["status"] = 200
                return 200, {"code": "OK", "gateway_call_id": earlier["gateway_call_id"]}
        data["gateway_call_id"] = "cti-" + uuid.uuid4().hex[:12]
        self.originated.append(data)
        record["status"] = 200
        if self.auto_callback:
            threading.Thread(target=self._callback_later, args=(data,), daemon=True).start()
        return 200, {"code": "OK", "gateway_call_id": data["gateway_call_id"]}

    def result_payload(self, data: dict) -> dict:
        payload = {"call_id": data["call_id"], "gateway_call_id": data.get("gateway_call_id", ""),
                   "started_at": timezone.now().isoformat(), "duration": self.duration,
                   "hangup_cause": self.hangup_cause}
        if not self.no_recording:
            payload["recording_url"] = f"{self.url}/recordings/{data.get('gateway_call_id', 'x')}.wav"
        return payload

    def _callback_later(self, data: dict) -> None:
        time.sleep(self.callback_delay)
        status, answer = self.post_result(data["callback_url"], self.result_payload(data))
        with self._done:
            self.callbacks.append((status, answer))
            self._done.notify_all()

    def post_result(self, url: str, payload: dict, *, secret: str | None = None) -> tuple[int, dict]:
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = signed_headers(secret or self.secret, self.app_id, body)
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw or b"{}")
            except ValueError:
                return exc.code, {"raw": raw[:200].decode("utf-8", "replace")}
