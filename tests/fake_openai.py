"""A fake OpenAI-compatible server on 127.0.0.1: /v1/chat/completions, whole or streamed (SSE)."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Script:
    """What the server does next: write `reply` (in pieces when streamed), or fail in a way."""

    reply: str = ""
    failure: str = ""  # "", "500", "hang", "garbage", "empty"
    piece_delay: float = 0.0  # seconds between streamed pieces
    requests: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


def pieces(text: str) -> list[str]:
    """The reply cut the way models stream it: a word or two at a time."""
    return re.findall(r"\S+\s*|\s+", text)


class Handler(BaseHTTPRequestHandler):
    """Answers chat completions as the script says."""

    server: FakeOpenAIServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        script = self.server.script
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        script.requests.append(body)
        script.keys.append(self.headers.get("Authorization", ""))
        if not self.path.endswith("/chat/completions"):
            self.send_error(404)
        elif script.failure == "hang":
            self.server.released.wait(30)
        elif script.failure == "500":
            self.reply(500, b'{"error": {"message": "the model fell over"}}')
        elif body.get("stream"):
            self.stream(body)
        elif script.failure == "garbage":
            self.reply(200, b'{"choices": [{"message": ')
        else:
            self.reply(200, json.dumps(whole(body, script.reply)).encode())

    def reply(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def stream(self, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        script = self.server.script
        if script.failure == "garbage":
            self.wfile.write(b'data: {"choices": [{"delta": {"content": "The US [1]\n\n')
        if script.failure in ("empty", "garbage"):
            self.wfile.write(b"data: [DONE]\n\n")
            return
        for piece in pieces(script.reply):
            self.wfile.write(f"data: {json.dumps(chunk(body, piece))}\n\n".encode())
            self.wfile.flush()
            time.sleep(script.piece_delay)
        self.wfile.write(b"data: [DONE]\n\n")


def whole(body: dict[str, Any], text: str) -> dict[str, Any]:
    """A non-streamed chat completion."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
    }


def chunk(body: dict[str, Any], piece: str) -> dict[str, Any]:
    """One streamed chunk."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
    }


class FakeOpenAIServer(ThreadingHTTPServer):
    """The server, run in a thread; `script` says what the next requests get."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.script = Script()
        self.released = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """What LLM_BASE_URL is set to."""
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.shutdown()
        self.server_close()
