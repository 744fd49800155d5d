"""A local fake SMS gateway speaking the documented contract (README "Channels: templates and SMS").

    gw = FakeSmsGateway(secret="s3cret").start()      # threaded HTTP server on a free port
    gw.url                                             # -> SMS_GATEWAY_URL
    gw.fail_next(2)                                    # the next 2 sends answer 503
    gw.reject_number("13800000000")                    # sends to it answer 400 INVALID_NUMBER
    gw.send_receipt(callback_base, message_id, "DELIVERED")   # POST a signed receipt to us
    gw.send_inbound(callback_base, phone, "TD")        # POST a signed reply to us
    gw.stop()

Requests with a missing or wrong signature answer 401 {"code": "BAD_SIGNATURE"}.
"""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from qingshou.messaging.gateways import signed_headers, verify


class FakeSmsGateway:
    def __init__(self, secret: str, app_id: str = "qingshou"):
        self.secret = secret
        self.app_id = app_id
        self.received: list[dict] = []         # accepted sends
        self.requests: list[dict] = []         # every request (accepted or not): {"status", "body"}
        self._fail = 0
        self._rejected: set[str] = set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- control ------------------------------------------------------------------------------
    def fail_next(self, n: int, status: int = 503) -> None:
        with self._lock:
            self._fail = n
            self._fail_status = status

    def reject_number(self, phone: str) -> None:
        self._rejected.add(phone)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeSmsGateway:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, payload = gateway._handle(self.path, self.headers, body)
                out = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- the contract -------------------------------------------------------------------------
    def _handle(self, path, headers, body):
        record = {"path": path, "body": body}
        try:
            if path != "/sms/send":
                return self._answer(record, 404, {"code": "NOT_FOUND"})
            if headers.get("X-App-Id") != self.app_id or not verify(self.secret, headers, body, max_skew=300):
                return self._answer(record, 401, {"code": "BAD_SIGNATURE", "message": "signature mismatch"})
            with self._lock:
                if self._fail > 0:
                    self._fail -= 1
                    return self._answer(record, self._fail_status, {"code": "BUSY", "message": "try later"})
            data = json.loads(body)
            if data.get("phone") in self._rejected:
                return self._answer(record, 400, {"code": "INVALID_NUMBER", "message": "number not in service"})
            if not data.get("out_id") or not data.get("phone"):
                return self._answer(record, 400, {"code": "BAD_REQUEST"})
            # Idempotent on out_id: the same message id for a repeated request.
            for earlier in self.received:
                if earlier["out_id"] == data["out_id"]:
                    return self._answer(record, 200, {"code": "OK", "message_id": earlier["message_id"]})
            data["message_id"] = "gw-" + uuid.uuid4().hex[:12]
            self.received.append(data)
            return self._answer(record, 200, {"code": "OK", "message_id": data["message_id"]})
        except Exception as exc:  # a fake must never hang the client
            return self._answer(record, 500, {"code": "ERROR", "message": str(exc)})

    def _answer(self, record, status, payload):
        record["status"] = status
        self.requests.append(record)
        return status, payload

    # --- callbacks to us ----------------------------------------------------------------------
    def _post(self, url: str, payload: dict, *, secret: str | None = None) -> tuple[int, dict]:
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = signed_headers(secret or self.secret, self.app_id, body)
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def send_receipt(self, base_url: str, message_id: str, status: str = "DELIVERED", *, error_code: str = "",
                     secret: str | None = None):
        sent = next((m for m in self.received if m["message_id"] == message_id), {})
        return self._post(base_url.rstrip("/") + "/hooks/sms/receipt",
                          {"message_id": message_id, "out_id": sent.get("out_id", ""), "status": status,
                           "error_code": error_code}, secret=secret)

    def send_inbound(self, base_url: str, phone: str, text: str):
        return self._post(base_url.rstrip("/") + "/hooks/sms/inbound",
                          {"phone": phone, "text": text, "message_id": "in-" + uuid.uuid4().hex[:8]})
