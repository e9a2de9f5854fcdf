"""A fake Telegram Bot API server on 127.0.0.1 that is as strict as Telegram where it matters."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

from telegram.ext import Application

Json = dict[str, Any]
TOKEN = "123456789:AAFakeTokenThatMustNeverBeLogged_x1"
USERNAME = "newsbot_test_bot"
# Parameters PTB sends as raw strings; everything else arrives JSON-encoded.
RAW = {"text", "callback_query_id", "action", "file_id", "url", "caption", "language_code"}
TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler"}
TAGS |= {"a", "code", "pre", "blockquote", "tg-emoji"}
# Attributes with a value, or bare as in <blockquote expandable>.
TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)((?:\s+[\w-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'))?)*)\s*>")
ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
COMMAND = re.compile(r"^/\w+(@\w+)?")
MENTION = re.compile(r"@\w+")
CANT_PARSE = "Bad Request: can't parse entities"


class Rejected(Exception):
    """What Telegram answers with error_code 400 (or another code)."""

    def __init__(self, description: str, code: int = 400, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.description, self.code, self.retry_after = description, code, retry_after


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


@dataclass
class Sent:
    """A message the bot sent (or edited), with the raw HTML and parameters it used."""

    message: Json
    html: str
    params: Json

    @property
    def text(self) -> str:
        """What the user sees."""
        return str(self.message["text"])

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) of every inline button."""
        markup = self.message.get("reply_markup") or {"inline_keyboard": []}
        return [
            (b["text"], b.get("callback_data", ""))
            for row in markup["inline_keyboard"]
            for b in row
        ]


@dataclass
class Failure:
    """An error to answer once, instead of doing the method."""

    method: str
    chat_id: int | None
    error: Rejected


@dataclass
class FakeTelegram:
    """The server; tests speak as users through send() and press(), and read what the bot did."""

    token: str = TOKEN
    username: str = USERNAME
    bot_id: int = 123456789
    calls: list[tuple[str, Json]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    actions: list[tuple[int, str]] = field(default_factory=list)
    callback_answers: list[Json] = field(default_factory=list)
    commands: dict[str, list[Json]] = field(default_factory=dict)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    holds: dict[tuple[str, int], threading.Event] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self._updates: list[Json] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._messages: dict[tuple[int, int], Json] = {}
        self._stopping = False
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)

    # running

    def __enter__(self) -> FakeTelegram:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._http.shutdown()
        self._http.server_close()

    @property
    def api_url(self) -> str:
        """TELEGRAM_API_URL for this server."""
        return f"http://127.0.0.1:{self._http.server_address[1]}/bot"

    @property
    def file_url(self) -> str:
        """TELEGRAM_FILE_URL for this server."""
        return f"http://127.0.0.1:{self._http.server_address[1]}/file/bot"

    # the users' side

    def send(
        self,
        text: str,
        user_id: int,
        chat_id: int | None = None,
        reply_to: Json | None = None,
        first_name: str = "Ann",
    ) -> Json:
        """A user writes `text` in a private chat (chat_id None) or a group (negative chat_id)."""
        user = {"id": user_id, "is_bot": False, "first_name": first_name}
        if chat_id is None or chat_id == user_id:
            chat: Json = {"id": user_id, "type": "private", "first_name": first_name}
        else:
            chat = {"id": chat_id, "type": "supergroup", "title": "News readers"}
        message: Json = {"chat": chat, "from": user, "text": text, "date": int(time.time())}
        if entities(text):
            message["entities"] = entities(text)
        if reply_to is not None:
            message["reply_to_message"] = {
                k: v for k, v in reply_to.items() if k != "reply_to_message"
            }
        with self._cond:
            message["message_id"] = next(self._message_ids)
            self._messages[(chat["id"], message["message_id"])] = message
            self._push({"message": message})
        return message

    def press(self, sent: Sent, data: str, user_id: int) -> str:
        """A user presses the inline button with callback data `data` under a bot message."""
        user = {"id": user_id, "is_bot": False, "first_name": "Ann"}
        query_id = f"q{time.monotonic_ns()}"
        query = {"id": query_id, "from": user, "message": sent.message, "data": data}
        query["chat_instance"] = str(sent.message["chat"]["id"])
        with self._cond:
            self._push({"callback_query": query})
        return query_id

    def fail_next(
        self,
        method: str,
        chat_id: int | None = None,
        code: int = 400,
        description: str = "Bad Request: chat not found",
        retry_after: int | None = None,
    ) -> None:
        """Answer the next call of `method` (for chat_id) with an error instead."""
        with self._cond:
            self.failures.append(Failure(method, chat_id, Rejected(description, code, retry_after)))

    def hold(self, method: str, chat_id: int) -> threading.Event:
        """Keep the next call of `method` for chat_id waiting until the returned event is set."""
        event = threading.Event()
        with self._cond:
            self.holds[(method, chat_id)] = event
        return event

    def together(self) -> threading.Condition:
        """Hold this while sending several messages, so the bot gets them in one getUpdates."""
        return self._cond

    def add_file(self, name: str, data: bytes) -> str:
        """A file the bot can getFile and download; returns its file_id."""
        file_id = f"file{len(self.files) + 1}"
        self.files[file_id] = (f"documents/{name}", data)
        return file_id

    # what the bot did

    def wait(self, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
        """Block until predicate() holds (checked after each bot call); AssertionError if not."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; the bot sent: {[s.text for s in self.sent]}")
                self._cond.wait(left)

    def replies(self, to: Json, count: int = 1, timeout: float = 60.0) -> list[Sent]:
        """The bot's messages replying to `to`, once there are at least `count`."""
        self.wait(lambda: len(self.replies_now(to)) >= count, timeout)
        return self.replies_now(to)

    def replies_now(self, to: Json) -> list[Sent]:
        """The bot's replies to `to` so far."""
        with self._cond:
            return [
                s
                for s in self.sent
                if s.message["chat"]["id"] == to["chat"]["id"]
                and (s.message.get("reply_to_message") or {}).get("message_id") == to["message_id"]
            ]

    def in_chat(self, chat_id: int) -> list[Sent]:
        """Every message the bot sent to a chat."""
        with self._cond:
            return [s for s in self.sent if s.message["chat"]["id"] == chat_id]

    # the bot's side

    def _push(self, update: Json) -> None:
        update["update_id"] = next(self._update_ids)
        self._updates.append(update)
        self._cond.notify_all()

    def call(self, method: str, params: Json) -> Any:
        """Do one Bot API method; Rejected for errors."""
        with self._cond:
            self.calls.append((method, params))
            self._cond.notify_all()
            for failure in self.failures:
                if failure.method == method and failure.chat_id in (None, params.get("chat_id")):
                    self.failures.remove(failure)
                    raise failure.error
            held = self.holds.pop((method, params.get("chat_id", 0)), None)
        if held is not None:
            held.wait(60)
        if method == "getUpdates":
            return self._get_updates(params)
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            raise Rejected("Not Found: method not found", 404)
        with self._cond:
            try:
                result = handler(params)
            except Rejected as error:
                self.rejected.append((method, error.description))
                raise
            self._cond.notify_all()
            return result

    def _get_updates(self, params: Json) -> list[Json]:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        with self._cond:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and not self._stopping:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self._updates[: int(params.get("limit") or 100)]

    def _getMe(self, params: Json) -> Json:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Newsbot",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _deleteWebhook(self, params: Json) -> bool:
        return True

    def _checked_text(self, params: Json) -> str:
        text = str(params.get("text", ""))
        plain = parse_html(text) if params.get("parse_mode") == "HTML" else text
        if not plain.strip():
            raise Rejected("Bad Request: message text is empty")
        if utf16(plain) > 4096:
            raise Rejected("Bad Request: message is too long")
        markup = params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise Rejected("Bad Request: BUTTON_DATA_INVALID")
        return plain

    def _sendMessage(self, params: Json) -> Json:
        plain = self._checked_text(params)
        chat_id = params["chat_id"]
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        message: Json = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self._getMe({}),
            "text": plain,
        }
        replied = (params.get("reply_parameters") or {}).get("message_id")
        if replied and (chat_id, replied) in self._messages:
            original = dict(self._messages[(chat_id, replied)])
            original.pop("reply_to_message", None)
            message["reply_to_message"] = original
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self._messages[(chat_id, message["message_id"])] = message
        self.sent.append(Sent(message, str(params["text"]), params))
        return message

    def _editMessageText(self, params: Json) -> Json:
        plain = self._checked_text(params)
        key = (params["chat_id"], params["message_id"])
        if key not in self._messages:
            raise Rejected("Bad Request: message to edit not found")
        message = self._messages[key] = {**self._messages[key], "text": plain}
        message["reply_markup"] = params.get("reply_markup")
        self.sent.append(Sent(message, str(params["text"]), params))
        return message

    def _answerCallbackQuery(self, params: Json) -> bool:
        if len(str(params.get("text", ""))) > 200:
            raise Rejected("Bad Request: MESSAGE_TOO_LONG")
        self.callback_answers.append(params)
        return True

    def _sendChatAction(self, params: Json) -> bool:
        self.actions.append((params["chat_id"], params["action"]))
        return True

    def _setMyCommands(self, params: Json) -> bool:
        for command in params["commands"]:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command["command"]):
                raise Rejected("Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command["description"]) <= 256:
                raise Rejected("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        scope = params.get("scope") or {"type": "default"}
        key = scope["type"] + (f":{scope['chat_id']}" if "chat_id" in scope else "")
        self.commands[key] = params["commands"]
        return True

    def _getFile(self, params: Json) -> Json:
        if params.get("file_id") not in self.files:
            raise Rejected("Bad Request: invalid file_id")
        path, data = self.files[params["file_id"]]
        return {
            "file_id": params["file_id"],
            "file_unique_id": f"u{params['file_id']}",
            "file_size": len(data),
            "file_path": path,
        }


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


def _handler(server: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

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
            raw = self.rfile.read(length).decode()
            if not self.path.startswith(prefix):
                self._error(Rejected("Not Found", 404))
                return
            if self.headers.get("Content-Type", "").startswith("application/json"):
                params = json.loads(raw or "{}")
            else:
                params = decode(dict(parse_qsl(raw, keep_blank_values=True)))
            try:
                result = server.call(self.path[len(prefix) :], params)
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


class RunningBot:
    """Runs a real Application (initialize, post_init, polling, start) in a thread of its own."""

    def __init__(self, application: Application) -> None:  # type: ignore[type-arg]
        self.application = application
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RunningBot:
        self._thread.start()
        self._ready.wait(60)
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
        assert not self._thread.is_alive(), "the bot did not stop"

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:
            self._error = error
            self._ready.set()

    async def _main(self) -> None:
        app = self.application
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        async with app:
            if app.post_init:
                await app.post_init(app)
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=5)
            await app.start()
            self._ready.set()
            await self._stop.wait()
            await app.updater.stop()
            await app.stop()
