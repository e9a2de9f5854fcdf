"""Stories over time: /timeline, /trend (a chart) and inline answers (@bot question)."""

from __future__ import annotations

import html
import logging
import re

from telegram import InlineQueryResultsButton, Message, Update
from telegram.ext import Application, CommandHandler, InlineQueryHandler, filters

from bot import story_render
from bot.context import Command, Context, run_archive
from bot.render import split_html
from bot.replies import reply, reply_photo, typing
from index.errors import ArchiveError
from index.i18n import N_, _
from index.stories.trend import DEFAULT_PERIOD

log = logging.getLogger(__name__)

COMMANDS: tuple[Command, ...] = (
    Command("timeline", N_("How a story unfolded, one dated line per event")),
    Command("trend", N_("A chart of a topic's coverage: /trend topic 30d|90d|1y|all")),
)
ADMIN_COMMANDS: tuple[Command, ...] = ()
INLINE_CACHE_SECONDS = 60  # Telegram keeps an inline answer per question this long
# A last word like "30d", "7x" or "all" is meant as the period, valid or not.
PERIOD_WORD = re.compile(r"^(\d+[a-z]+|all)$", re.IGNORECASE)


def register(application: Application) -> None:  # type: ignore[type-arg]
    """/timeline, /trend and inline queries."""
    new = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("timeline", timeline, filters=new))
    application.add_handler(CommandHandler("trend", trend, filters=new))
    application.add_handler(InlineQueryHandler(inline))


async def allowed(message: Message, context: Context) -> bool:
    """Whether the user may ask now (the per-user question limit); if not, say when."""
    data = context.bot_data
    user_id = message.from_user.id if message.from_user else message.chat.id
    wait = data.limit.wait_seconds(user_id)
    if wait:
        await reply(message, limit_text(wait))
    return not wait


def limit_text(wait: int) -> str:
    """The polite refusal when a user asks faster than the limit."""
    return _("That is my limit of questions for a minute. Please ask again in {n} s.", n=wait)


async def timeline(update: Update, context: Context) -> None:
    """/timeline TOPIC."""
    message = update.effective_message
    if message is None:
        return
    topic = " ".join(context.args or [])
    if not topic.strip():
        await reply(message, _("Name a story: <code>/timeline government shutdown</code>"))
        return
    if await allowed(message, context):
        await send_timeline(message, topic, context)


async def send_timeline(message: Message, topic: str, context: Context) -> bool:
    """The topic's timeline as a reply (the limit already counted); whether one was made."""
    async with typing(message.chat):
        try:
            found = await run_archive(context, context.bot_data.archive.timeline, topic)
        except ArchiveError as error:
            await reply(message, html.escape(str(error)))
            return False
    for part in split_html(story_render.timeline_html(found)):
        await reply(message, part)
    return True


async def trend(update: Update, context: Context) -> None:
    """/trend TOPIC [30d|90d|1y|all]: a chart of the topic's articles over time."""
    message = update.effective_message
    if message is None:
        return
    words = list(context.args or [])
    period = words.pop() if words and PERIOD_WORD.match(words[-1]) else DEFAULT_PERIOD
    if not words:
        await reply(message, _("Name a topic: <code>/trend government shutdown 90d</code>"))
        return
    if not await allowed(message, context):
        return
    archive = context.bot_data.archive
    async with typing(message.chat):
        try:
            found = await run_archive(context, archive.trend, " ".join(words), period)
        except ArchiveError as error:
            usage = _("Try: <code>/trend government shutdown 90d</code>")
            await reply(message, f"{html.escape(str(error))}\n{usage}")
            return
        if found.total < 2:
            await reply(message, story_render.trend_text(found))
            return
        png = await run_archive(context, archive.chart, found)  # drawn off the event loop
    await reply_photo(message, png, story_render.trend_caption(found))


async def inline(update: Update, context: Context) -> None:
    """@bot QUESTION in any chat: the answer first, then its top sources, cached a minute."""
    query = update.inline_query
    if query is None:
        return
    data = context.bot_data
    question = " ".join(query.query.split())
    if not any(ch.isalnum() for ch in question) or len(question) > data.settings.max_question_chars:
        await query.answer([], cache_time=INLINE_CACHE_SECONDS, button=hint())
        return
    wait = data.limit.wait_seconds(query.from_user.id)
    if wait:
        later = InlineQueryResultsButton(limit_text(wait), start_parameter="limit")
        await query.answer([], cache_time=0, is_personal=True, button=later)
        return
    try:
        found = await run_archive(
            context, data.archive.ask, question, k=story_render.INLINE_SOURCES
        )
    except ArchiveError as error:
        log.info("Inline question refused: %s", error)
        await query.answer([], cache_time=INLINE_CACHE_SECONDS, button=hint())
        return
    results = story_render.inline_results(found)
    nothing = (
        None
        if results
        else InlineQueryResultsButton(
            _("Nothing on that in the archive: try other words"), start_parameter="nothing"
        )
    )
    await query.answer(results, cache_time=INLINE_CACHE_SECONDS, button=nothing)


def hint() -> InlineQueryResultsButton:
    """The button Telegram shows above no results: type a question (it opens the bot's chat)."""
    return InlineQueryResultsButton(_("Type a question after my name"), start_parameter="inline")


def inline_help(username: str) -> str:
    """/help's line on inline mode."""
    return _(
        "In any chat, type <code>@{username} your question</code> to pick the answer or a "
        "source and send it there (inline mode: an admin turns it on with /setinline at "
        "@BotFather).",
        username=html.escape(username),
    )
