"""The language the bot speaks: the chat's /language choice, else the user's Telegram language.

A handler in the first group picks it for every update (aiogram's i18n middleware, as a PTB
TypeHandler); everything after it in that update's task speaks it, the archive's executor
included (run_archive carries the context over). Alerts and digests answer no message, so
they speak the chat's chosen language, else the first one seen there.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CommandHandler, TypeHandler, filters

from bot.context import Command, Context, run_archive
from bot.replies import reply
from index.i18n import LANGUAGES, N_, _, language_for, set_language

log = logging.getLogger(__name__)

COMMANDS: tuple[Command, ...] = (
    Command("language", N_("Choose my language here: /language en, uk or ru")),
)
ADMIN_COMMANDS: tuple[Command, ...] = ()
PICK_GROUP = -100  # before every other handler group
NAMES = {"en": "English", "uk": "Українська", "ru": "Русский"}
# chat_data key: the chat's stored (language, chosen), once read from the archive
STORED = "language"


def register(application: Application) -> None:  # type: ignore[type-arg]
    """The per-update language pick and /language."""
    application.add_handler(TypeHandler(Update, pick), group=PICK_GROUP)
    new = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("language", choose, filters=new))


async def stored(context: Context, chat_id: int) -> tuple[str, bool] | None:
    """The chat's language as the archive keeps it, read once per chat and then remembered."""
    memory = context.chat_data if context.chat_data is not None else {}
    if STORED not in memory:
        memory[STORED] = await run_archive(context, context.bot_data.archive.chat_language, chat_id)
    found: tuple[str, bool] | None = memory[STORED]
    return found


async def pick(update: Update, context: Context) -> None:
    """Speak the chat's chosen language, else the sender's; note a new chat's first language."""
    chat, user = update.effective_chat, update.effective_user
    spoken = language_for(user.language_code if user else None)
    if chat is None:
        set_language(spoken)
        return
    known = await stored(context, chat.id)
    if known is not None and known[1]:
        set_language(known[0])
        return
    set_language(spoken)
    if known is None:  # first seen: alerts and digests to this chat will speak it
        await remember(context, chat.id, spoken, chosen=False)


async def remember(context: Context, chat_id: int, language: str, *, chosen: bool) -> None:
    """Store the chat's language in the archive and in the chat's memory."""
    archive = context.bot_data.archive
    await run_archive(context, archive.set_chat_language, chat_id, language, chosen=chosen)
    if context.chat_data is not None:
        context.chat_data[STORED] = (language, chosen)


async def choose(update: Update, context: Context) -> None:
    """/language uk|ru|en sets this chat's language; without an argument, says the choices."""
    message = update.effective_message
    if message is None:
        return
    asked = (context.args or [""])[0].lower()
    if asked not in LANGUAGES:
        choices = ", ".join(f"<code>/language {code}</code> {NAMES[code]}" for code in LANGUAGES)
        await reply(message, _("Choose my language in this chat: {choices}", choices=choices))
        return
    await remember(context, message.chat.id, asked, chosen=True)
    set_language(asked)  # this reply, and the rest of this update, speak it already
    await reply(message, _("I will speak English in this chat."))


async def chat_language(context: Context, chat_id: int) -> str:
    """The language for a message to a chat that asked nothing (an alert, a digest).

    Read from the archive each time: a job's context carries no chat, and an import's
    alerts go to other chats than the admin's (a primary-key lookup, microseconds).
    """
    known = await run_archive(context, context.bot_data.archive.chat_language, chat_id)
    return known[0] if known else language_for(None)
