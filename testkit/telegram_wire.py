"""Telegram's side of the wire: the HTML its parser accepts, the entities it finds, the HTTP."""

from __future__ import annotations

import json
import re
import struct
from email.parser import BytesParser
from email.policy import HTTP
from html import unescape
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

if TYPE_CHECKING:
    from testkit.telegram import FakeTelegram

Json = dict[str, Any]
TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler"}
TAGS |= {"a", "code", "pre", "blockquote", "tg-emoji"}
# Attributes with a value, or bare as in <blockquote expandable>.
TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)((?:\s+[\w-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'))?)*)\s*>")
ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
COMMAND = re.compile(r"^/\w+(@\w+)?")
MENTION = re.compile(r"@\w+")
# Parameters PTB sends as raw strings; everything else arrives JSON-encoded.
RAW = {"text", "callback_query_id", "action", "file_id", "url", "caption", "language_code"}


class Rejected(Exception):
    """What Telegram answers with error_code 400 (or another code)."""

    def __init__(self, description: str, code: int = 400, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.description, self.code, self.retry_after = description, code, retry_after


class Garbage(Rejected):
    """Answered with HTTP 200 and a body that is not JSON (a proxy's error page)."""


class Dropped(Rejected):
    """Not answered at all: the connection is closed (the network went away mid-call)."""


def utf16(text: str) -> int:
    """Telegram measures text and entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(html: str) -> str:
    """The text a user sees; Rejected for what Telegram's HTML parser refuses."""
    plain: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(html):
        ch = html[i]
        if ch == "<":
            tag = TAG.match(html, i)
            if not tag:
                raise Rejected(f"Bad Request: can't parse entities: unexpected '<' at offset {i}")
            closing, name = tag.group(1), tag.group(2).lower()
            if name not in TAGS:
                raise Rejected(
                    f'Bad Request: can\'t parse entities: Unsupported start tag "{name}"'
                )
            if closing:
                if not stack or stack[-1] != name:
                    raise Rejected(
                        f'Bad Request: can\'t parse entities: Unexpected end tag "{name}"'
                    )
                stack.pop()
            else:
                if name == "a" and "href=" not in tag.group(3):
                    raise Rejected("Bad Request: can't parse entities: a tag without href")
                stack.append(name)
            i = tag.end()
        elif ch == "&":
            entity = ENTITY.match(html, i)
            if not entity:
                raise Rejected(f"Bad Request: can't parse entities: bare '&' at offset {i}")
            plain.append(unescape(entity.group(0)))
            i = entity.end()
        elif ch == ">":
            raise Rejected(f"Bad Request: can't parse entities: bare '>' at offset {i}")
        else:
            plain.append(ch)
            i += 1
    if stack:
        raise Rejected(f"Bad Request: can't parse entities: Can't find end tag \"{stack[-1]}\"")
    return "".join(plain)


def entities(text: str) -> list[Json]:
    """The bot_command and mention entities Telegram attaches to a user's message."""
    found: list[Json] = []
    command = COMMAND.match(text)
    if command:
        found.append({"type": "bot_command", "offset": 0, "length": utf16(command.group(0))})
    for mention in MENTION.finditer(text):
        if command and mention.start() < command.end():
            continue
        offset = utf16(text[: mention.start()])
        found.append({"type": "mention", "offset": offset, "length": utf16(mention.group(0))})
    return found


def decode(params: dict[str, str]) -> Json:
    """PTB's form fields: strings raw, everything else JSON."""
    decoded: Json = {}
    for key, value in params.items():
        if key in RAW:
            decoded[key] = value
            continue
        try:
            decoded[key] = json.loads(value)
        except ValueError:
            decoded[key] = value
    return decoded


def handler(server: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    """The HTTP side of the server: Bot API calls by POST, file downloads by GET."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle's algorithm the body waits for the
        # bot's delayed ACK, 40 ms a call on Linux, which Telegram's servers do not add.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def _reply(self, status: int, body: bytes, kind: str = "application/json") -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the bot gave up on a long poll while stopping

        def _error(self, error: Rejected) -> None:
            body: Json = {"ok": False, "error_code": error.code, "description": error.description}
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            self._reply(error.code, json.dumps(body).encode())

        def do_POST(self) -> None:
            prefix = f"/bot{server.token}/"
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if len(body) < length:  # the bot gave up mid-request ("typing…" cancelled): no call
                self.close_connection = True
                return
            kind = self.headers.get("Content-Type", "")
            raw = body.decode() if not kind.startswith("multipart/") else ""
            if not self.path.startswith(prefix):
                self._error(Rejected("Not Found", 404))
                return
            if kind.startswith("multipart/form-data"):
                params = multipart(kind, body)
            elif kind.startswith("application/json"):
                params = json.loads(raw or "{}")
            else:
                params = decode(dict(parse_qsl(raw, keep_blank_values=True)))
            try:
                result = server.call(self.path[len(prefix) :], params)
            except Garbage:
                self._reply(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
                return
            except Dropped:
                self.close_connection = True
                return
            except Rejected as error:
                self._error(error)
                return
            self._reply(200, json.dumps({"ok": True, "result": result}).encode())

        def do_GET(self) -> None:
            prefix = f"/file/bot{server.token}/"
            files = {path: data for path, data in server.files.values()}
            requested = unquote(self.path)  # PTB percent-encodes the ':' of the token
            path = requested[len(prefix) :]
            if not requested.startswith(prefix) or path not in files:
                self._error(Rejected("Not Found", 404))
                return
            self._reply(200, files[path], "application/octet-stream")

    return Handler


def multipart(content_type: str, body: bytes) -> Json:
    """A multipart/form-data upload: files as bytes, other fields decoded as PTB sends them."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    files: Json = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None:
            files[str(name)] = data
        else:
            fields[str(name)] = data.decode()
    decoded = decode(fields)
    for key, value in list(decoded.items()):  # "attach://name" points at an uploaded part
        if isinstance(value, str) and value.startswith("attach://"):
            decoded[key] = files.get(value[len("attach://") :], value)
    return {**files, **decoded}


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG or JPEG upload; Rejected for anything else, as Telegram does."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        at = 2
        while at + 9 < len(data):
            marker, size = data[at + 1], struct.unpack(">H", data[at + 2 : at + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[at + 5 : at + 9])
                return int(width), int(height)
            at += 2 + size
    raise Rejected("Bad Request: IMAGE_PROCESS_FAILED")
