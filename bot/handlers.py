"""Everyone's commands and questions: /start, /help, /ask, chats, groups, buttons, errors."""

from __future__ import annotations

import html
import logging
import re

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import buttons, followups, metrics, render, stories, written
from bot.context import Command, Context, is_admin, run_archive
from bot.leases import question_wait
from bot.replies import reply, typing
from index.errors import ArchiveError
from index.i18n import N_, _
from index.search.followup import rewrite_followup
from index.stories.asks import timeline_topic

log = logging.getLogger(__name__)

COMMANDS: tuple[Command, ...] = (
    Command("ask", N_("Ask the news archive a question")),
    Command("help", N_("What I can do")),
    Command("start", N_("Say hello")),
)
ADMIN_COMMANDS: tuple[Command, ...] = ()
APOLOGY = N_("Sorry, something went wrong there. Please try again in a moment.")
EXAMPLE = N_("What did the US offer Ukraine?")
LEADING_COMMAND = re.compile(r"^/\w+(@\w+)?\s*")


def register(application: Application) -> None:  # type: ignore[type-arg]
    """/start, /help, /ask and the answer buttons."""
    new = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("start", start, filters=new))
    application.add_handler(CommandHandler("help", help_command, filters=new))
    application.add_handler(CommandHandler("ask", ask, filters=new))
    application.add_handler(CallbackQueryHandler(more, pattern=buttons.MORE.pattern))
    application.add_handler(CallbackQueryHandler(passage, pattern=buttons.PASSAGE.pattern))


def register_fallbacks(application: Application) -> None:  # type: ignore[type-arg]
    """Handlers that take whatever no other module took; registered last."""
    new = filters.UpdateType.MESSAGE
    text = filters.TEXT & ~filters.COMMAND & new
    application.add_handler(MessageHandler(filters.COMMAND & new, unknown_command))
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & text, private_text))
    application.add_handler(MessageHandler(filters.ChatType.GROUPS & text, group_text))
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & new, not_text))
    application.add_handler(CallbackQueryHandler(expired_button))
    application.add_error_handler(on_error)


# commands


async def start(update: Update, context: Context) -> None:
    """Greet and explain."""
    user = update.effective_user
    name = html.escape(user.first_name) if user else _("there")
    await reply(
        update.effective_message,
        _(
            "Hello, {name}! I answer questions about a news archive with the archive's own "
            "sentences and numbered sources.\n\n"
            "Just write your question here, for example: <i>{example}</i>\n"
            "In groups use /ask, mention me, or reply to my message. /help lists the commands.",
            name=name,
            example=_(EXAMPLE),
        ),
    )


async def help_command(update: Update, context: Context) -> None:
    """List the commands; admins also see theirs."""
    data = context.bot_data
    lines = [_("<b>Commands</b>"), *(command_line(c) for c in data.commands)]
    user_id = update.effective_user.id if update.effective_user else None
    if data.admin_commands and is_admin(data.settings, user_id):
        lines += ["", _("<b>Admin commands</b>")]
        lines += [command_line(c) for c in data.admin_commands]
    lines += [
        "",
        _(
            "In a private chat any message is a question. Under an answer, 📄 opens a "
            "source's whole passage and “More ▸” shows the next results."
        ),
        stories.inline_help(context.bot.username),
    ]
    await reply(update.effective_message, "\n".join(lines))


def command_line(command: Command) -> str:
    """'/name — description' for /help."""
    return f"/{command.name} — {html.escape(_(command.description))}"


async def ask(update: Update, context: Context) -> None:
    """/ask QUESTION, in any chat."""
    message = update.effective_message
    if message is None:
        return
    question = question_text(" ".join(context.args or []), context.bot.username)
    if not question:
        await reply(message, _("Ask like this: <code>/ask {example}</code>", example=_(EXAMPLE)))
        return
    await answer_new(message, question, context)


async def unknown_command(update: Update, context: Context) -> None:
    """A hint for commands nobody handles; in groups only for commands addressed to us."""
    message = update.effective_message
    if message is None or not message.text:
        return
    command = message.text.split()[0]
    target = command.partition("@")[2]
    if message.chat.type != ChatType.PRIVATE and target.lower() != context.bot.username.lower():
        return
    await reply(message, _("I don't know {command}. Try /help.", command=html.escape(command)))


async def private_text(update: Update, context: Context) -> None:
    """In a private chat any text is a question."""
    if update.effective_message:
        await answer_new(update.effective_message, update.effective_message.text or "", context)


async def group_text(update: Update, context: Context) -> None:
    """In groups: messages that mention the bot or reply to it; the rest is not for us."""
    message = update.effective_message
    if message is None or not addressed_to_bot(message, context.bot.id, context.bot.username):
        return
    await answer_new(message, question_text(message.text or "", context.bot.username), context)


async def not_text(update: Update, context: Context) -> None:
    """Stickers, photos and the like in a private chat."""
    await reply(update.effective_message, _("Send me your question as text, please."))


# questions and answers


def question_text(text: str, username: str) -> str:
    """The question without a leading /command and without mentions of the bot."""
    text = LEADING_COMMAND.sub("", text, count=1)
    return re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE).strip()


def addressed_to_bot(message: Message, bot_id: int, username: str) -> bool:
    """A reply to one of the bot's messages, or a message mentioning @username."""
    replied = message.reply_to_message
    if replied and replied.from_user and replied.from_user.id == bot_id:
        return True
    mentions = message.parse_entities([MessageEntity.MENTION]).values()
    return any(mention.lower() == f"@{username.lower()}" for mention in mentions)


async def answer_new(message: Message, question: str, context: Context) -> None:
    """A new question: a follow-up ("and France?") is read with the chat's last question."""
    chat_id = message.chat.id
    standalone = rewrite_followup(await followups.last_question(context, chat_id), question)
    rewritten = standalone != " ".join(question.split())
    taken = render.text(render.shorten(standalone))
    note = _("<i>Taking it as: {question}</i>", question=taken) if rewritten else ""
    # Remembered before the reply goes out: the user's next message may follow up on it at
    # once, on this replica or another; "More ▸" under the answer goes on with it too.
    await followups.remember(context, chat_id, message.message_id, standalone)
    if not await answer(message, standalone, context, note=note):
        await followups.remember(context, chat_id, message.message_id, None)


async def answer(
    message: Message,
    question: str,
    context: Context,
    offset: int = 0,
    user_id: int | None = None,
    note: str = "",
) -> bool:
    """Answer a question (or its results from `offset` on) as a reply; whether it was asked."""
    data = context.bot_data
    if user_id is None:
        user_id = message.from_user.id if message.from_user else message.chat.id
    wait = await question_wait(context, user_id)
    if wait:
        metrics.QUESTIONS.labels(outcome="limited").inc()
        await reply(message, limit_text(wait, data.settings.questions_per_minute))
        return False
    asked = timeline_topic(question) if not offset else None
    if asked:  # "how did … unfold?" gets a timeline
        return await stories.send_timeline(message, asked, context)
    k = data.settings.top_k
    async with typing(message.chat):
        try:
            with metrics.ANSWER_SECONDS.labels(kind="more" if offset else "new").time():
                result = await run_archive(context, data.archive.ask, question, k=k, offset=offset)
        except ArchiveError as error:
            metrics.QUESTIONS.labels(outcome="failed").inc()
            metrics.ERRORS.labels(kind=type(error).__name__).inc()
            await reply(message, html.escape(str(error)))
            return False
    metrics.QUESTIONS.labels(outcome="answered" if result.found else "nothing_found").inc()
    if data.writer is not None and result.found and not offset:
        async with typing(message.chat):
            await written.send_written(message, result, context, note, k)
        return True
    body = render.answer_html(result, offset)
    parts = render.split_html(f"{note}\n\n{body}" if note else body)
    for number, part in enumerate(parts, start=1):
        keyboard = render.answer_keyboard(result, offset, k) if number == len(parts) else None
        await reply(message, part, keyboard)
    return True


def limit_text(wait: int, per_minute: int) -> str:
    """The polite refusal when a user asks faster than the limit."""
    return _(
        "You have asked {per_minute} questions in the last minute, which is my limit. "
        "Please ask again in {wait} seconds.",
        per_minute=per_minute,
        wait=wait,
    )


# buttons


async def passage(update: Update, context: Context) -> None:
    """'📄 n' opens a citation's whole passage."""
    query = update.callback_query
    if query is None:
        return
    number = buttons.PASSAGE.parse(query.data)
    message = query.message if isinstance(query.message, Message) else None
    if number is None or message is None:
        await buttons.expired(query)
        return
    found = await run_archive(context, context.bot_data.archive.passage, number)
    if found is None:
        await query.answer(_("That passage is no longer in the archive."), show_alert=True)
        return
    await query.answer()
    await reply(message, render.passage_html(found))


async def more(update: Update, context: Context) -> None:
    """'More ▸' shows the next results of the question the answer replied to."""
    query = update.callback_query
    if query is None:
        return
    offset = buttons.MORE.parse(query.data)
    message = query.message if isinstance(query.message, Message) else None
    asked = message.reply_to_message if message else None
    if offset is None or asked is None or not asked.text:
        await buttons.expired(query)
        return
    await query.answer()
    question = question_text(asked.text, context.bot.username)
    question = await followups.asked_question(context, asked.chat.id, asked.message_id) or question
    await answer(asked, question, context, offset, query.from_user.id)


async def expired_button(update: Update, context: Context) -> None:
    """Buttons this version of the bot does not know (from an older one, say)."""
    if update.callback_query:
        await buttons.expired(update.callback_query)


# errors


async def on_error(update: object, context: Context) -> None:
    """Log the traceback; tell the user, briefly, that something went wrong."""
    update_id = update.update_id if isinstance(update, Update) else None
    metrics.ERRORS.labels(kind=type(context.error).__name__).inc()
    log.error("Update %s failed", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_message is None:
        return
    try:
        await reply(update.effective_message, _(APOLOGY))
    except TelegramError as error:
        log.warning("Could not send the apology: %s", error)
