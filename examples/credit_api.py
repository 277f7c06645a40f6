"""A small real backend for a TDS data service: an SME credit-score API on loopback (stdlib only).

    python examples/credit_api.py --port 8801 [--secret-env CREDIT_API_SECRET] [--chaos]

With ``--secret-env NAME`` every call must carry a valid gateway signature (HMAC-SHA256 with the
secret in that environment variable, see ``services.proxy.verify_backend_call``): a call that did not
come through the gateway answers 401. ``--chaos`` adds the misbehaving endpoints the tests use
(``/hang``, ``/reset``, ``/garbage``, ``/fail``, ``/big/{n}``, ``/stream/{n}``, ``/echo``) and
``/_hits``, the number of calls that reached this process (not signed, not declared to consumers).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from services.proxy import verify_backend_call  # noqa: E402

SCORES = {"91310000MA1FL0001X": 742, "91440300MA5EXAMPLE": 655, "91330200MA2DEMO01": 810}
_hits = 0
_hits_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the gateway reuses its connections
    disable_nagle_algorithm = True  # head and body are two writes: without this each answer waits ~40 ms
    secret: bytes | None = None
    chaos = False

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _answer(self, status: int, doc: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(doc, sort_keys=True).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _handle(self) -> None:
        global _hits
        body = self._body()
        if self.chaos and self.path == "/_hits":
            return self._answer(200, {"hits": _hits})
        with _hits_lock:
            _hits += 1
        if self.secret is not None:
            problem = verify_backend_call(self.secret, self.command, self.path, dict(self.headers.items()), body)
            if problem is not None:
                return self._answer(401, {"error": f"not from the gateway: {problem}"})
        path = self.path.split("?", 1)[0]
        if path.startswith("/scores/") and self.command == "GET":
            company = path[len("/scores/"):]
            score = SCORES.get(company)
            if score is None:
                return self._answer(404, {"error": f"unknown company {company}"})
            return self._answer(200, {"company": company, "score": score, "scale": "300-850",
                                      "consumer": self.headers.get("X-TDS-Consumer", ""), "pad": "." * 900},
                                {"Set-Cookie": "backend=secret", "Server": "credit-api/1"})
        if path == "/scores" and self.command == "POST":
            try:
                wanted = json.loads(body or b"{}").get("companies", [])
            except ValueError:
                return self._answer(400, {"error": "body is not JSON"})
            return self._answer(200, {"scores": {c: SCORES.get(c) for c in wanted}})
        if self.chaos:
            return self._chaos(path, body)
        return self._answer(404, {"error": "no such endpoint"})

    def _chaos(self, path: str, body: bytes) -> None:
        if path == "/echo":
            return self._answer(200, {"headers": {k.lower(): v for k, v in self.headers.items()},
                                      "path": self.path, "body_sha256": hashlib.sha256(body).hexdigest()})
        if path == "/hang":
            time.sleep(30)
            return self._answer(200, {"late": True})
        if path == "/reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(self.connection.detach())  # linger 0: the close sends a TCP reset
            self.close_connection = True
            return None
        if path == "/garbage":
            self.wfile.write(b"\x00\x01 this is not HTTP\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True
            return None
        if path == "/fail":
            return self._answer(500, {"error": "backend exploded"})
        if path.startswith("/big/") or path.startswith("/stream/"):
            n = int(path.rsplit("/", 1)[1])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if path.startswith("/big/"):
                self.send_header("Content-Length", str(n))
            else:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            sent = 0
            try:
                while sent < n:
                    part = chunk[:min(len(chunk), n - sent)]
                    if path.startswith("/big/"):
                        self.wfile.write(part)
                    else:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                        time.sleep(0.01)  # a slow stream: the policy monitor has time to act
                    sent += len(part)
                if path.startswith("/stream/"):
                    self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            return None
        return self._answer(404, {"error": "no such endpoint"})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8801)
    parser.add_argument("--secret-env", default="")
    parser.add_argument("--chaos", action="store_true")
    args = parser.parse_args()
    if args.secret_env:
        value = os.environ.get(args.secret_env)
        if not value:
            sys.exit(f"credit_api: the environment variable {args.secret_env} is not set")
        Handler.secret = value.encode()  # the key is the text's UTF-8 bytes, as the gateway uses it
    Handler.chaos = args.chaos
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"credit_api: listening on http://127.0.0.1:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
