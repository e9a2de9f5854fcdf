"""Sending: an HTML reply to a message, and "typing…" while an answer is worked out."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from telegram import Chat, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.sending import send

TYPING_EVERY_SECONDS = 4.0


async def reply(
    message: Message | None, text: str, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """Send HTML as a reply to `message` (still sent if that message is gone).

    Telegram's faults are retried or worked around (see bot.sending); a reply that still
    cannot be delivered is logged with its chat.
    """
    if message is None:
        return
    await send(
        message.get_bot(),
        message.chat.id,
        text,
        reply_markup=keyboard,
        reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
        message_thread_id=message.message_thread_id if message.is_topic_message else None,
    )


@contextlib.asynccontextmanager
async def typing(chat: Chat) -> AsyncIterator[None]:
    """Show "typing…" in the chat, renewed every few seconds, while the body runs."""

    async def keep_typing() -> None:
        while True:
            with contextlib.suppress(TelegramError):
                await chat.send_action(ChatAction.TYPING)
            await asyncio.sleep(TYPING_EVERY_SECONDS)

    task = asyncio.create_task(keep_typing())
    try:
        await asyncio.sleep(0)
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def reply_photo(message: Message | None, photo: bytes, caption: str) -> None:
    """Send a picture with an HTML caption as a reply to `message` (sent if that is gone)."""
    if message is None:
        return
    await message.get_bot().send_photo(
        message.chat.id,
        photo,
        caption=caption,
        reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
        message_thread_id=message.message_thread_id if message.is_topic_message else None,
    )
