"""A tiny scripted HTTP server for testing retries and parsing without the real service."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    body: Any = field(default_factory=dict)
    headers: Dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: Optional[bytes] = None  # sent as-is (not JSON) when set


class Stub:
    """Answers requests with the scripted replies in order, then with ``default``."""

    def __init__(self, *replies: Reply, default: Optional[Reply] = None) -> None:
        self.replies: List[Reply] = list(replies)
        self.default = default or Reply(500, {"error": {"code": "unscripted", "message": "no reply"}})
        self.requests: List[Tuple[str, str, float]] = []
        self.bodies: List[bytes] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with stub._lock:
                    stub.requests.append((self.command, self.path, time.monotonic()))
                    stub.bodies.append(body)
                    reply = stub.replies.pop(0) if stub.replies else stub.default
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    ctype = "text/plain" if reply.raw is not None else "application/json"
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    @property
    def attempts(self) -> int:
        """Requests received."""
        return len(self.requests)

    def close(self) -> None:
        """Stops the server."""
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "Stub":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def error(status: int, code: str, message: str = "scripted", **headers: str) -> Reply:
    """A reply with the server's error shape."""
    return Reply(status, {"error": {"code": code, "message": message}}, dict(headers))
