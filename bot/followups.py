"""The chat's questions for follow-ups and "More ▸", kept in the archive for every replica.

A replica that cannot read or write them (a read-only database, a server gone for a moment)
answers the message as it stands: losing a follow-up's context is better than no answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from bot.context import Context, run_archive
from index.errors import ArchiveError

log = logging.getLogger(__name__)
T = TypeVar("T")


async def _tolerated(
    context: Context, doing: str, call: Callable[..., T], *args: object
) -> T | None:
    """The archive call's result, or None with a warning when the archive cannot do it."""
    try:
        return await run_archive(context, call, *args)
    except ArchiveError as error:
        log.warning("Could not %s: %s", doing, error)
        return None


async def last_question(context: Context, chat_id: int) -> str | None:
    """The chat's last recent question, whichever replica answered it."""
    archive = context.bot_data.archive
    doing = f"read chat {chat_id}'s last question"
    return await _tolerated(context, doing, archive.chat_question, chat_id)


async def asked_question(context: Context, chat_id: int, message_id: int) -> str | None:
    """The question a message asked, as it was answered (a follow-up read in context)."""
    archive = context.bot_data.archive
    doing = f"read the question of message {message_id}"
    return await _tolerated(context, doing, archive.chat_question, chat_id, message_id)


async def remember(context: Context, chat_id: int, message_id: int, question: str | None) -> None:
    """Record (None: forget) the question a message asked."""
    archive = context.bot_data.archive
    doing = f"remember the question of message {message_id}"
    await _tolerated(context, doing, archive.remember_question, chat_id, message_id, question)
