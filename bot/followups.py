"""The chat's questions for follow-ups and "More ▸", kept in the archive for every replica.

A replica that cannot read or write them (a read-only database, a server gone for a moment)
answers the message as it stands: losing a follow-up's context is better than no answer.
"""

from __future__ import annotations

import logging

from bot.context import Context, run_archive
from index.errors import ArchiveError

log = logging.getLogger(__name__)


async def last_question(context: Context, chat_id: int) -> str | None:
    """The chat's last recent question, whichever replica answered it."""
    try:
        return await run_archive(context, context.bot_data.archive.chat_question, chat_id)
    except ArchiveError as error:
        log.warning("Could not read chat %s's last question: %s", chat_id, error)
        return None


async def asked_question(context: Context, chat_id: int, message_id: int) -> str | None:
    """The question a message asked, as it was answered (a follow-up read in context)."""
    archive = context.bot_data.archive
    try:
        return await run_archive(context, archive.chat_question, chat_id, message_id)
    except ArchiveError as error:
        log.warning("Could not read the question of message %s: %s", message_id, error)
        return None


async def remember(context: Context, chat_id: int, message_id: int, question: str | None) -> None:
    """Record (None: forget) the question a message asked."""
    archive = context.bot_data.archive
    try:
        await run_archive(context, archive.remember_question, chat_id, message_id, question)
    except ArchiveError as error:
        log.warning("Could not remember the question of message %s: %s", message_id, error)
