"""A fake Telegram Bot API server on 127.0.0.1 that is as strict as Telegram where it matters."""

from __future__ import annotations

import itertools
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from testkit.telegram_wire import (
    Dropped,
    Garbage,
    Json,
    Rejected,
    entities,
    handler,
    image_size,
    parse_html,
    utf16,
)
from testkit.webhook import Delivery, check_webhook

TOKEN = "123456789:AAFakeTokenThatMustNeverBeLogged_x1"
USERNAME = "newsbot_test_bot"
CANT_PARSE = "Bad Request: can't parse entities"


@dataclass
class Sent:
    """A message the bot sent (or edited), with the raw HTML and parameters it used."""

    message: Json
    html: str
    params: Json
    at: float = field(default_factory=time.monotonic)  # when the server got it
    upload: bytes | None = None  # a photo's file as the bot uploaded it

    @property
    def text(self) -> str:
        """What the user sees (a photo's caption)."""
        return str(self.message.get("text", self.message.get("caption", "")))

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


class Server(ThreadingHTTPServer):
    """The Bot API's socket: a load test opens a hundred connections at once, and the
    default backlog of 5 resets some of them on a busy machine (PTB then sees a ReadError)."""

    request_queue_size = 256
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client dropping its kept-alive connection (the bot stopping) is no error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


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
    blocked: set[int] = field(default_factory=set)  # chats that blocked the bot: 403 to sends
    group_admins: dict[int, set[int]] = field(default_factory=dict)  # group id: its admins
    inline_answers: dict[str, Json] = field(default_factory=dict)  # by inline query id
    outages: dict[str, tuple[float, int]] = field(default_factory=dict)  # method: (until, code)

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self._updates: list[Json] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._messages: dict[tuple[int, int], Json] = {}
        # the bot's messages by the (chat id, message id) they reply to: replies_now is a lookup
        self._replies: dict[tuple[int, int], list[Sent]] = {}
        self._stopping = False
        self.webhook: Delivery | None = None  # set by the bot's setWebhook: updates are POSTed
        self.webhook_retry_seconds = 0.2  # how soon a failed delivery is tried again
        self._webhook_info: Json = {}
        self._inline_queries: set[str] = set()  # asked and not yet answered
        self._http = Server(("127.0.0.1", 0), handler(self))
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
        if self.webhook is not None:
            self.webhook.close()
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
        language_code: str | None = None,
    ) -> Json:
        """A user writes `text` in a private chat (chat_id None) or a group (negative chat_id).

        `language_code` is the language of the user's Telegram app, as Telegram sends it.
        """
        user: Json = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
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

    def inline(self, query: str, user_id: int, first_name: str = "Ann") -> str:
        """A user types `@bot query` in any chat; the inline query's id."""
        user = {"id": user_id, "is_bot": False, "first_name": first_name}
        query_id = f"iq{time.monotonic_ns()}"
        update = {"inline_query": {"id": query_id, "from": user, "query": query, "offset": ""}}
        with self._cond:
            self._inline_queries.add(query_id)
            self._push(update)
        return query_id

    def inline_answer(self, query_id: str, timeout: float = 60.0) -> Json:
        """The bot's answer to an inline query (its parameters), once it has come."""
        self.wait(lambda: query_id in self.inline_answers, timeout)
        return self.inline_answers[query_id]

    def fail_next(
        self,
        method: str,
        chat_id: int | None = None,
        code: int = 400,
        description: str = "Bad Request: chat not found",
        retry_after: int | None = None,
        *,
        times: int = 1,
        answer: str = "error",
    ) -> None:
        """Answer the next `times` calls of `method` (for chat_id) with an error instead.

        `answer` "error" is Telegram's JSON error; "garbage" an HTTP 200 whose body is not
        JSON; "drop" no answer at all (the connection closed). None of them does the method.
        """
        kinds = {"error": Rejected, "garbage": Garbage, "drop": Dropped}
        with self._cond:
            for _ in range(times):
                error = kinds[answer](description, code, retry_after)
                self.failures.append(Failure(method, chat_id, error))

    def outage(self, method: str, seconds: float, code: int = 502) -> None:
        """Fail every call of `method` for the next `seconds` (Telegram or the network down)."""
        with self._cond:
            self.outages[method] = (time.monotonic() + seconds, code)

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
            return list(self._replies.get((to["chat"]["id"], to["message_id"]), []))

    def in_chat(self, chat_id: int) -> list[Sent]:
        """Every message the bot sent to a chat."""
        with self._cond:
            return [s for s in self.sent if s.message["chat"]["id"] == chat_id]

    # the bot's side

    def _push(self, update: Json) -> None:
        update["update_id"] = next(self._update_ids)
        if self.webhook is not None:
            self.webhook.put(update)
        else:
            self._updates.append(update)
        self._cond.notify_all()

    def _changed(self) -> None:
        """A webhook delivery ended: wake whoever waits on the server."""
        with self._cond:
            self._cond.notify_all()

    def call(self, method: str, params: Json) -> Any:
        """Do one Bot API method; Rejected for errors."""
        with self._cond:
            self.calls.append((method, params))
            self._cond.notify_all()
            until, code = self.outages.get(method, (0.0, 0))
            if time.monotonic() < until:
                raise Rejected("Bad Gateway", code)
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
        if self.webhook is not None:
            raise Rejected(
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
                409,
            )
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
        if self.webhook is not None:
            left = self.webhook.close()
            self.webhook, self._webhook_info = None, {}
            if not params.get("drop_pending_updates"):
                self._updates = left + self._updates
        return True

    def _setWebhook(self, params: Json) -> bool:
        url, secret, connections = check_webhook(params)
        left = self.webhook.close() if self.webhook is not None else []
        self.webhook = Delivery(
            url, secret, connections, self._changed, retry_seconds=self.webhook_retry_seconds
        )
        self._webhook_info = {"max_connections": connections}
        if params.get("allowed_updates") is not None:
            self._webhook_info["allowed_updates"] = params["allowed_updates"]
        for update in left + self._updates:
            self.webhook.put(update)
        self._updates = []
        return True

    def _getWebhookInfo(self, params: Json) -> Json:
        info: Json = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        if self.webhook is None:
            info["pending_update_count"] = len(self._updates)
            return info
        info.update(self._webhook_info, url=self.webhook.url)
        info["pending_update_count"] = self.webhook.pending()
        if self.webhook.last_error is not None:
            info["last_error_date"], info["last_error_message"] = self.webhook.last_error
        return info

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
        if chat_id in self.blocked:
            raise Rejected("Forbidden: bot was blocked by the user", 403)
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
        self._record(Sent(message, str(params["text"]), params))
        return message

    def _editMessageText(self, params: Json) -> Json:
        plain = self._checked_text(params)
        key = (params["chat_id"], params["message_id"])
        if key not in self._messages:
            raise Rejected("Bad Request: message to edit not found")
        message = self._messages[key] = {**self._messages[key], "text": plain}
        message["reply_markup"] = params.get("reply_markup")
        self._record(Sent(message, str(params["text"]), params))
        return message

    def _record(self, sent: Sent) -> None:
        self.sent.append(sent)
        replied = sent.message.get("reply_to_message")
        if replied:
            key = (sent.message["chat"]["id"], replied["message_id"])
            self._replies.setdefault(key, []).append(sent)

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
        if params.get("language_code"):  # a menu for users of that language
            key += f"/{params['language_code']}"
        self.commands[key] = params["commands"]
        return True

    def _getChatMember(self, params: Json) -> Json:
        user_id = int(params["user_id"])
        user = {"id": user_id, "is_bot": False, "first_name": "Ann"}
        if user_id in self.group_admins.get(int(params["chat_id"]), set()):
            return {"status": "creator", "user": user, "is_anonymous": False}
        return {"status": "member", "user": user}

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

    def _sendPhoto(self, params: Json) -> Json:
        photo = params.get("photo")
        if not isinstance(photo, bytes):
            raise Rejected("Bad Request: wrong remote file identifier specified")
        if len(photo) > 10 * 1024 * 1024:
            raise Rejected("Bad Request: PHOTO_TOO_BIG")
        width, height = image_size(photo)
        if width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise Rejected("Bad Request: PHOTO_INVALID_DIMENSIONS")
        caption = str(params.get("caption", ""))
        plain = parse_html(caption) if params.get("parse_mode") == "HTML" else caption
        if utf16(plain) > 1024:
            raise Rejected("Bad Request: message caption is too long")
        chat_id = params["chat_id"]
        if chat_id in self.blocked:
            raise Rejected("Forbidden: bot was blocked by the user", 403)
        file_id = self.add_file("photo.png", photo)
        size = {"file_unique_id": f"u{file_id}", "width": width, "height": height}
        message: Json = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": self._getMe({}),
            "photo": [{"file_id": file_id, "file_size": len(photo), **size}],
        }
        if plain:
            message["caption"] = plain
        replied = (params.get("reply_parameters") or {}).get("message_id")
        if replied and (chat_id, replied) in self._messages:
            original = dict(self._messages[(chat_id, replied)])
            original.pop("reply_to_message", None)
            message["reply_to_message"] = original
        self._messages[(chat_id, message["message_id"])] = message
        self._record(Sent(message, caption, params, upload=photo))
        return message

    def _answerInlineQuery(self, params: Json) -> bool:
        query_id = str(params.get("inline_query_id", ""))
        if query_id not in self._inline_queries:
            raise Rejected(
                "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        results = params.get("results")
        if not isinstance(results, list) or len(results) > 50:
            raise Rejected("Bad Request: RESULTS_TOO_MUCH")
        ids = [inline_result(result) for result in results]
        if len(set(ids)) != len(ids):
            raise Rejected("Bad Request: RESULT_ID_DUPLICATE")
        if not isinstance(params.get("cache_time", 300), int) or params.get("cache_time", 0) < 0:
            raise Rejected("Bad Request: CACHE_TIME_INVALID")
        button = params.get("button")
        if button is not None:
            start = str(button.get("start_parameter", ""))
            if not button.get("text") or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", start):
                raise Rejected("Bad Request: START_PARAM_INVALID")
        self._inline_queries.discard(query_id)
        self.inline_answers[query_id] = params
        return True


RESULT_TYPES = {"article", "photo", "gif", "mpeg4_gif", "video", "audio", "voice", "document"}
RESULT_TYPES |= {"location", "venue", "contact", "game", "sticker"}


def inline_result(result: Json) -> str:
    """A result's id, once it passes Telegram's checks of an InlineQueryResult; Rejected if not."""
    if result.get("type") not in RESULT_TYPES:
        raise Rejected("Bad Request: RESULT_TYPE_INVALID")
    result_id = str(result.get("id", ""))
    if not 1 <= len(result_id.encode()) <= 64:
        raise Rejected("Bad Request: RESULT_ID_INVALID")
    if result["type"] != "article":
        return result_id
    if not str(result.get("title", "")).strip():
        raise Rejected("Bad Request: RESULT_TITLE_EMPTY")
    url = result.get("url")
    if url is not None and not re.match(r"https?://", str(url)):
        raise Rejected("Bad Request: RESULT_URL_INVALID")
    content = result.get("input_message_content") or {}
    text = str(content.get("message_text", ""))
    plain = parse_html(text) if content.get("parse_mode") == "HTML" else text
    if not plain.strip():
        raise Rejected("Bad Request: MESSAGE_EMPTY")
    if utf16(plain) > 4096:
        raise Rejected("Bad Request: MESSAGE_TOO_LONG")
    return result_id
