"""A round-robin HTTP proxy on 127.0.0.1: the load balancer in front of bot replicas in tests."""

from __future__ import annotations

import http.client
import itertools
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Headers a proxy does not pass on (hop-by-hop), besides those it sets itself.
HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length", "date", "server"}


class RoundRobin:
    """Each request goes to the next backend; a backend that does not answer gives a 502."""

    def __init__(self, backends: list[tuple[str, int]], timeout: float = 60.0) -> None:
        self.backends = backends
        self.timeout = timeout
        self.forwarded: Counter[tuple[str, int]] = Counter()  # requests answered, by backend
        self.failed: Counter[tuple[str, int]] = Counter()  # 502s, by backend
        self._turn = itertools.cycle(range(len(backends)))
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        self._http.request_queue_size = 256  # type: ignore[misc]
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> RoundRobin:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._http.server_address[1])

    def next_backend(self) -> tuple[str, int]:
        """Whose turn it is."""
        with self._lock:
            return self.backends[next(self._turn)]

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request to the next backend: its status, headers and body (502 if it failed)."""
        backend = self.next_backend()
        connection = http.client.HTTPConnection(*backend, timeout=self.timeout)
        try:
            connection.request(method, path, body or None, headers)
            response = connection.getresponse()
            answer = (response.status, response.getheaders(), response.read())
        except (OSError, http.client.HTTPException):
            with self._lock:
                self.failed[backend] += 1
            return 502, [], b"bad gateway"
        finally:
            connection.close()
        with self._lock:
            self.forwarded[backend] += 1
        return answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def _pass(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                status, answer_headers, answer = proxy.forward(
                    self.command, self.path, headers, body
                )
                try:
                    self.send_response(status)
                    for key, value in answer_headers:
                        if key.lower() not in HOP:
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except ConnectionError:
                    pass  # the client gave up

            do_GET = do_POST = _pass

        return Handler
