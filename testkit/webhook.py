"""Telegram's webhook delivery: updates POSTed with the secret header, retried until answered."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from testkit.telegram_wire import Json, Rejected

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
CONNECTION_FAILED = -1  # the status recorded for a refused or dropped connection


@dataclass(frozen=True)
class Attempt:
    """One POST of an update: its status (CONNECTION_FAILED when there was no answer)."""

    update_id: int
    status: int
    at: float = field(default_factory=time.monotonic)


def check_webhook(params: Json) -> tuple[str, str | None, int]:
    """setWebhook's URL, secret and connections, refused as Telegram refuses them."""
    url = str(params.get("url") or "")
    parts = urlsplit(url)
    if not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname == "127.0.0.1")):
        raise Rejected("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.get("secret_token")
    if secret is not None and not (1 <= len(secret) <= 256 and set(secret) <= SECRET_CHARS):
        raise Rejected("Bad Request: secret token contains unallowed characters")
    connections = int(params.get("max_connections") or 40)
    if not 1 <= connections <= 100:
        raise Rejected("Bad Request: bad webhook: max_connections must be between 1 and 100")
    return url, secret, connections


class Delivery:
    """Threads (one per allowed connection) POSTing queued updates; a failed one is retried."""

    def __init__(
        self,
        url: str,
        secret: str | None,
        connections: int,
        changed: Callable[[], None],
        retry_seconds: float = 0.2,
        timeout: float = 60.0,
    ) -> None:
        self.url, self.secret = url, secret
        self.connections = connections
        self.retry_seconds, self.timeout = retry_seconds, timeout
        self.attempts: list[Attempt] = []
        self.last_error: tuple[int, str] | None = None  # (unix time, message) as getWebhookInfo
        self._changed = changed
        self._queue: deque[tuple[float, Json]] = deque()  # (not before, update)
        self._posting: dict[int, Json] = {}  # update id: the update being posted
        self._cond = threading.Condition()
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, daemon=True) for _ in range(connections)
        ]
        for thread in self._threads:
            thread.start()

    def put(self, update: Json) -> None:
        """Deliver this update as soon as a connection is free."""
        with self._cond:
            self._queue.append((0.0, update))
            self._cond.notify()

    def pending(self) -> int:
        """Updates not yet answered with a 2xx (queued, waiting for a retry, or being posted)."""
        with self._cond:
            return len(self._queue) + len(self._posting)

    def close(self) -> list[Json]:
        """Stop delivering; the updates not answered yet (those being posted among them)."""
        with self._cond:
            self._stopping = True
            left = [update for _, update in self._queue] + list(self._posting.values())
            self._queue.clear()
            self._cond.notify_all()
        return sorted(left, key=lambda u: int(u["update_id"]))

    def _next(self) -> Json | None:
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                ready = next((item for item in self._queue if item[0] <= now), None)
                if ready is not None:
                    self._queue.remove(ready)
                    self._posting[int(ready[1]["update_id"])] = ready[1]
                    return ready[1]
                soonest = min((at for at, _ in self._queue), default=now + 1.0)
                self._cond.wait(max(0.01, soonest - now))
            return None

    def _work(self) -> None:
        parts = urlsplit(self.url)
        connection: http.client.HTTPConnection | None = None
        while (update := self._next()) is not None:
            if connection is None:
                kind: type[http.client.HTTPConnection] = http.client.HTTPConnection
                if parts.scheme == "https":
                    kind = http.client.HTTPSConnection
                connection = kind(parts.hostname or "", parts.port, timeout=self.timeout)
            status = self._post(connection, parts.path or "/", update)
            if status == CONNECTION_FAILED:
                connection.close()
                connection = None
            self._done(update, status)
        if connection is not None:
            connection.close()

    def _post(self, connection: http.client.HTTPConnection, path: str, update: Json) -> int:
        headers = {"Content-Type": "application/json"}
        if self.secret is not None:
            headers[SECRET_HEADER] = self.secret
        try:
            connection.request("POST", path, json.dumps(update).encode(), headers)
            response = connection.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException):
            return CONNECTION_FAILED

    def _done(self, update: Json, status: int) -> None:
        with self._cond:
            self._posting.pop(int(update["update_id"]), None)
            self.attempts.append(Attempt(int(update["update_id"]), status))
            if not 200 <= status < 300:
                why = f"Wrong response from the webhook: {status}"
                self.last_error = (int(time.time()), "Connection refused" if status < 0 else why)
                if not self._stopping:  # Telegram keeps trying, a little later
                    self._queue.append((time.monotonic() + self.retry_seconds, update))
            self._cond.notify_all()
        self._changed()
