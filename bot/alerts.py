"""Topic alerts and digests: /subscribe, /subscriptions, /unsubscribe, /digest, and the sending."""

from __future__ import annotations

import html
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot import metrics, render, sending
from bot.buttons import REMOVE_TOPIC
from bot.context import Command, Context, run_archive
from bot.handlers import question_text, reply
from bot.language import chat_language
from bot.leases import leads
from index.alerts.alerts import MAX_TOPIC_CHARS, Alerts, BadTopic
from index.alerts.matching import MAX_SHOWN, Alert, Delivery
from index.errors import ArchiveError
from index.i18n import N_, _, _n, use_language

log = logging.getLogger(__name__)

COMMANDS: tuple[Command, ...] = (
    Command("subscribe", N_("Alert this chat to new stories on a topic: /subscribe TOPIC")),
    Command("subscriptions", N_("This chat's topics, with 🗑 buttons")),
    Command("unsubscribe", N_("Stop a topic: /unsubscribe ID or /unsubscribe all")),
    Command("digest", N_("A daily digest at a time: /digest HH:MM or /digest off")),
)
ADMIN_COMMANDS: tuple[Command, ...] = ()
SUBSCRIBE_USAGE = N_(
    "Send it like this: <code>/subscribe electric ferries</code> (a topic of 1 to "
    "{most} characters)."
)
UNSUBSCRIBE_USAGE = N_(
    "Send it like this: <code>/unsubscribe 3</code> or <code>/unsubscribe all</code>."
)
DIGEST_USAGE = N_(
    "Send it like this: <code>/digest 07:30</code> (24-hour clock) or <code>/digest off</code>."
)
GROUP_ADMINS_ONLY = N_("Only this group's administrators can change its topics and digest.")
BUTTON_TOPIC_CHARS = 24
BUTTONS_UP_TO = 20  # topics with a button under one message


def register(application: Application) -> None:  # type: ignore[type-arg]
    """The alert commands, their buttons and the digest check."""
    data = application.bot_data
    data.alerts = Alerts(data.archive)
    new = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("subscribe", subscribe, filters=new))
    application.add_handler(CommandHandler("subscriptions", subscriptions, filters=new))
    application.add_handler(CommandHandler("unsubscribe", unsubscribe, filters=new))
    application.add_handler(CommandHandler("digest", digest, filters=new))
    application.add_handler(CallbackQueryHandler(button, pattern=REMOVE_TOPIC.pattern))
    if application.job_queue is None:
        log.warning("No job queue (install python-telegram-bot[job-queue]): no daily digests")
        return
    every = data.settings.digest_check_seconds
    application.job_queue.run_repeating(send_digests, interval=every, first=every)


def _alerts(context: Context) -> Alerts:
    """The application's Alerts; set when this module registers its handlers."""
    assert context.bot_data.alerts is not None
    return context.bot_data.alerts


# pure rendering


def alert_html(alert: Alert, topics: bool = True) -> str:
    """A story: linked title, source and date, the sentence that matched, and its topics."""
    lines = [render.link(alert.article.title, alert.article.url)]
    where = render.byline(alert.article.source, alert.article.published)
    if where:
        lines.append(where)
    if alert.sentence:
        lines.append(f"<i>{render.text(alert.sentence)}</i>")
    if topics and alert.topics:
        names = ", ".join(f"#{number} {topic}" for number, topic in alert.topics)
        lines.append(_("Topic: {names}", names=render.text(names)))
    return "\n".join(lines)


def delivery_html(delivery: Delivery) -> str:
    """One refresh's stories for a chat, best first, at most MAX_SHOWN of them."""
    count = len(delivery.alerts)
    head = _n("🔔 A new story on your topics:", "🔔 {n} new stories on your topics:", count)
    parts = [head, *(alert_html(a) for a in delivery.alerts[:MAX_SHOWN])]
    if count > MAX_SHOWN:
        parts.append(_("… and {n} more.", n=count - MAX_SHOWN))
    return "\n\n".join(parts)


def mute_keyboard(alerts: tuple[Alert, ...]) -> InlineKeyboardMarkup:
    """A 🔕 button per topic in the message."""
    topics = dict(topic for alert in alerts for topic in alert.topics)
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"🔕 {render.shorten(name, BUTTON_TOPIC_CHARS)}",
                    callback_data=REMOVE_TOPIC.data(number),
                )
            ]
            for number, name in list(topics.items())[:BUTTONS_UP_TO]
        ]
    )


def digest_html(alerts: list[Alert], day: str, on_topics: bool) -> str:
    """The daily digest."""
    if on_topics:
        head = _("📰 Today's top stories on your topics ({day}):", day=day)
    else:
        head = _("📰 Today's top stories in the archive ({day}):", day=day)
    return "\n\n".join([head, *(alert_html(a, False) for a in alerts)])


# sending


async def deliver_alerts(context: Context) -> None:
    """Match the passages added since the last pass and send each chat one message."""
    alerts = context.bot_data.alerts
    if alerts is None:
        return
    try:
        deliveries = await run_archive(context, alerts.pending)
    except ArchiveError as error:
        log.warning("Alerts: could not match the new passages: %s", error)
        return
    for delivery in deliveries:
        with use_language(await chat_language(context, delivery.chat_id)):
            parts = render.split_html(delivery_html(delivery))
        keyboard = mute_keyboard(delivery.alerts)
        for number, part in enumerate(parts, start=1):
            if not await send(
                context, delivery.chat_id, part, keyboard if number == len(parts) else None
            ):
                break
            metrics.ALERT_SENDS.labels(kind="alert").inc()
    if deliveries:
        log.info("Alerts: %d chat(s) told about new stories", len(deliveries))


async def send(
    context: Context, chat_id: int, text: str, keyboard: InlineKeyboardMarkup | None
) -> bool:
    """Send through the bot's rate limiter, with the retries and fallbacks answers get; a chat
    that blocked the bot is paused, not retried."""
    try:
        await sending.deliver(context.bot, chat_id, text, reply_markup=keyboard)
    except Forbidden as error:
        log.info("Chat %s blocked the bot (%s): its alerts are paused", chat_id, error)
        await run_archive(context, _alerts(context).pause, chat_id)
        return False
    except TelegramError as error:
        log.warning("Alerts: could not send to chat %s: %s", chat_id, error)
        return False
    return True


async def send_digests(context: Context) -> None:
    """The job queue's check: every chat whose digest time has come gets today's stories."""
    if not leads(context, "Digests"):
        return
    alerts = context.bot_data.alerts
    if alerts is None:
        return
    now = datetime.now(ZoneInfo(context.bot_data.settings.timezone))
    for due in await run_archive(context, alerts.due_digests, now):
        found = await run_archive(context, alerts.digest, due.chat_id, now.date())
        if not found:
            continue  # nothing new today: nothing is sent
        on_topics = any(alert.topics for alert in found)
        with use_language(await chat_language(context, due.chat_id)):
            text = digest_html(found, now.date().isoformat(), on_topics)
        for part in render.split_html(text):
            if not await send(context, due.chat_id, part, None):
                break
            metrics.ALERT_SENDS.labels(kind="digest").inc()


# commands


async def may_change(chat: Chat, user_id: int | None, context: Context) -> bool:
    """In private chats the user may; in groups only the group's administrators."""
    if chat.type == ChatType.PRIVATE:
        return True
    if user_id is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user_id)
    except TelegramError as error:
        log.warning("Could not look up a member of chat %s: %s", chat.id, error)
        return False
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


async def _changer(update: Update, context: Context) -> tuple[Message, int] | None:
    """The message and its sender, if the sender may change this chat's topics."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return None
    if not await may_change(message.chat, user.id, context):
        await reply(message, _(GROUP_ADMINS_ONLY))
        return None
    return message, user.id


async def subscribe(update: Update, context: Context) -> None:
    """/subscribe TOPIC."""
    allowed = await _changer(update, context)
    if allowed is None:
        return
    message, user_id = allowed
    topic = question_text(message.text or "", context.bot.username)
    if not topic:
        await reply(message, _(SUBSCRIBE_USAGE, most=MAX_TOPIC_CHARS))
        return
    try:
        done = await run_archive(
            context, _alerts(context).subscribe, message.chat.id, user_id, topic
        )
    except BadTopic as error:
        usage = _(SUBSCRIBE_USAGE, most=MAX_TOPIC_CHARS)
        await reply(message, f"{html.escape(str(error))} {usage}")
        return
    except ArchiveError as error:
        await reply(message, html.escape(str(error)))
        return
    text = _(
        "Subscribed: <b>#{id}</b> {topic}. When new stories on it arrive, "
        "this chat gets one message per refresh; /unsubscribe {id} stops it.",
        id=done.id,
        topic=render.text(done.topic),
    )
    if not done.known:
        text += "\n" + _(
            "Nothing in the archive matches it yet; you will hear when something does."
        )
    await reply(message, text)


async def subscriptions(update: Update, context: Context) -> None:
    """/subscriptions: the chat's topics, each with a 🗑 button; anyone may list them."""
    message = update.effective_message
    if message is None:
        return
    found = await run_archive(context, _alerts(context).topics, message.chat.id)
    if not found:
        await reply(message, _("No topics in this chat yet. Add one with /subscribe TOPIC."))
        return
    lines = [_("<b>Topics</b>")]
    for subscription in found:
        paused = _(" (paused: the bot was blocked)") if subscription.paused else ""
        lines.append(f"#{subscription.id} {render.text(subscription.topic)}{paused}")
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"🗑 #{s.id} {render.shorten(s.topic, BUTTON_TOPIC_CHARS)}",
                    callback_data=REMOVE_TOPIC.data(s.id),
                )
            ]
            for s in found[:BUTTONS_UP_TO]
        ]
    )
    await reply(message, "\n".join(lines), keyboard)


async def unsubscribe(update: Update, context: Context) -> None:
    """/unsubscribe ID or /unsubscribe all."""
    allowed = await _changer(update, context)
    if allowed is None:
        return
    message = allowed[0]
    value = question_text(message.text or "", context.bot.username).lstrip("#").lower()
    if value != "all" and not (value.isdigit() and len(value) < 10):
        await reply(message, _(UNSUBSCRIBE_USAGE))
        return
    number = None if value == "all" else int(value)
    removed = await run_archive(context, _alerts(context).unsubscribe, message.chat.id, number)
    if number is None:
        await reply(
            message,
            _n(
                "Removed the {n} topic of this chat.",
                "Removed all {n} topics of this chat.",
                removed,
            ),
        )
    elif removed:
        await reply(message, _("Removed topic #{id}; no more alerts for it.", id=number))
    else:
        await reply(
            message,
            _("There is no topic #{id} in this chat. /subscriptions lists them.", id=number),
        )


async def digest(update: Update, context: Context) -> None:
    """/digest HH:MM or /digest off."""
    allowed = await _changer(update, context)
    if allowed is None:
        return
    message = allowed[0]
    value = question_text(message.text or "", context.bot.username)
    zone = context.bot_data.settings.timezone
    try:
        time = await run_archive(
            context,
            _alerts(context).set_digest,
            message.chat.id,
            value,
            datetime.now(ZoneInfo(zone)),
        )
    except ArchiveError:
        await reply(message, _(DIGEST_USAGE))
        return
    if time is None:
        await reply(message, _("Daily digest off."))
        return
    await reply(
        message,
        _(
            "Daily digest at {time} ({zone}): the day's top stories on this chat's "
            "topics, or overall if it has none. Nothing comes on a day with nothing new.",
            time=time,
            zone=html.escape(zone),
        ),
    )


async def button(update: Update, context: Context) -> None:
    """🗑 under /subscriptions and 🔕 under an alert remove that topic."""
    query = update.callback_query
    if query is None:
        return
    message = query.message if isinstance(query.message, Message) else None
    number = REMOVE_TOPIC.parse(query.data)
    if message is None or number is None:
        await query.answer(_("This button has expired: use /subscriptions."), show_alert=True)
        return
    if not await may_change(message.chat, query.from_user.id, context):
        await query.answer(_(GROUP_ADMINS_ONLY), show_alert=True)
        return
    removed = await run_archive(context, _alerts(context).unsubscribe, message.chat.id, number)
    done = _("Topic #{id} removed.", id=number) if removed else _("That topic is already gone.")
    await query.answer(done)
    if removed:
        await reply(message, _("Removed topic #{id}; no more alerts for it.", id=number))
