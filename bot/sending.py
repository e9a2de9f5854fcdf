"""Sending that survives Telegram's faults: bounded retries, plain-text and split fallbacks.

A 429 is waited out (PTB's rate limiter first, then here); 5xx answers, timeouts, dropped
connections and unreadable answers are retried with a doubling wait, a few times. None of
those delivered the message, so a retry sends it once. HTML Telegram cannot parse goes again
as plain text, a message too long goes in parts; a chat that blocked the bot (403) is not
retried. What still cannot be delivered is logged with its chat, never dropped in silence;
any other refusal (400) is raised, for the update's error handler.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.render import split_html, units

log = logging.getLogger(__name__)
T = TypeVar("T")

SEND_TRIES = 5  # one send and up to four retries
FIRST_WAIT = 0.5  # seconds before the first retry, doubled each time
MAX_WAIT = 8.0
MIN_PART = 200  # UTF-16 units: the shortest part a message too long is cut into
TAG = re.compile(r"</?(?:b|strong|i|em|u|ins|s|strike|del|a|code|pre|blockquote|tg-[a-z]+)\b[^>]*>")


def plain_text(text: str) -> str:
    """What an HTML message reads as, for sending without parse mode."""
    return html.unescape(TAG.sub("", text))


def retryable(error: TelegramError) -> bool:
    """Whether the message surely did not arrive and sending it again may work."""
    if isinstance(error, BadRequest | Forbidden):
        return False
    if isinstance(error, RetryAfter | NetworkError):  # 5xx, timeouts, connection errors
        return True
    return error.message == "Invalid server response"  # an answer that is not JSON


async def retried(chat_id: int, call: Callable[[], Awaitable[T]]) -> T:
    """Make a Bot API call, again after the faults that surely did not deliver it."""
    wait = FIRST_WAIT
    for attempt in range(1, SEND_TRIES + 1):
        try:
            return await call()
        except TelegramError as error:
            if attempt == SEND_TRIES or not retryable(error):
                raise
            pause = wait
            if isinstance(error, RetryAfter):
                after = error.retry_after  # a timedelta: the app opts in to PTB_TIMEDELTA
                pause = after.total_seconds() if isinstance(after, timedelta) else float(after)
            log.warning(
                "Chat %s: sending failed (%s); trying again in %.1f s", chat_id, error, pause
            )
            await asyncio.sleep(pause)
            wait = min(MAX_WAIT, wait * 2)
    raise AssertionError("unreachable")


async def deliver(bot: Bot, chat_id: int, text: str, **params: Any) -> Message:
    """Send an HTML message with retries and the plain-text and split fallbacks; what still
    fails is raised (Forbidden: the chat blocked the bot), for callers that act on it."""
    try:
        return await retried(chat_id, lambda: bot.send_message(chat_id, text, **params))
    except BadRequest as error:
        said = error.message.lower()
        if "can't parse entities" in said:
            log.warning(
                "Chat %s: Telegram refused the HTML (%s); sent as plain text", chat_id, error
            )
            return await deliver(bot, chat_id, plain_text(text), **{**params, "parse_mode": None})
        parts = split_html(text, max(MIN_PART, units(text) // 2))  # halves, then again
        if "message is too long" in said and len(parts) > 1:
            return await _send_parts(bot, chat_id, parts, params)
        raise  # another refusal is a bug of ours: the update's error handler apologises


async def send(bot: Bot, chat_id: int, text: str, **params: Any) -> Message | None:
    """Send an HTML message however Telegram misbehaves; None when it could not be delivered."""
    try:
        return await deliver(bot, chat_id, text, **params)
    except BadRequest:
        raise
    except Forbidden as error:
        log.warning("Chat %s: not sent, the bot is blocked or removed there: %s", chat_id, error)
    except TelegramError as error:
        log.error(
            "Chat %s: a message could not be delivered after %d tries: %s",
            chat_id,
            SEND_TRIES,
            error,
            exc_info=error,
        )
    return None


async def _send_parts(bot: Bot, chat_id: int, parts: list[str], params: dict[str, Any]) -> Message:
    """The parts in order; buttons go under the last one."""
    first = {key: value for key, value in params.items() if key != "reply_markup"}
    sent = None
    for number, part in enumerate(parts, start=1):
        sent = await deliver(bot, chat_id, part, **(params if number == len(parts) else first))
    assert sent is not None
    return sent
