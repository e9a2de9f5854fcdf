"""Admins' commands: /addsource, /sources, /removesource, /refresh, document uploads, schedule."""

from __future__ import annotations

import logging
from datetime import timedelta
from html import escape
from pathlib import PurePath

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import render
from bot.alerts import deliver_alerts
from bot.buttons import ASK_REMOVE_SOURCE, REFRESH_SOURCE, REMOVE_SOURCE, ButtonKind, expired
from bot.context import Command, Context, is_admin, run_archive
from bot.health import faults_html
from bot.leases import leads
from bot.replies import reply, typing
from index.errors import ArchiveError
from index.i18n import N_, _, _n
from index.ingest.extract import SUFFIXES
from index.ingest.urls import is_web_url
from index.records import ImportReport, Source
from index.sources.sources import MAX_UPLOAD_BYTES, SourceResult, safe_name

log = logging.getLogger(__name__)

COMMANDS: tuple[Command, ...] = ()
ADMIN_COMMANDS: tuple[Command, ...] = (
    Command("addsource", N_("Add an RSS/Atom feed, article page or document URL")),
    Command("sources", N_("List sources with their articles, last fetch and last error")),
    Command("removesource", N_("Remove a source and its articles: /removesource ID")),
    Command("refresh", N_("Fetch new items now: /refresh or /refresh ID")),
)
ADMINS_ONLY = N_("Sorry, only the bot's admins can do that.")
BUTTONS_UP_TO = 20  # sources listed with buttons; longer lists use the commands
SHOWN_FAILURES = 5
FILE_TYPES = ", ".join(sorted(SUFFIXES))


def register(application: Application) -> None:  # type: ignore[type-arg]
    """The admin commands, uploads, buttons and the scheduled feed refresh."""
    new = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("addsource", add_source, filters=new))
    application.add_handler(CommandHandler("sources", list_sources, filters=new))
    application.add_handler(CommandHandler("removesource", remove_source, filters=new))
    application.add_handler(CommandHandler("refresh", refresh, filters=new))
    uploads = filters.Document.ALL & filters.ChatType.PRIVATE & new
    application.add_handler(MessageHandler(uploads, document))
    for callback, kind in (
        (refresh_button, REFRESH_SOURCE),
        (ask_remove_button, ASK_REMOVE_SOURCE),
        (remove_button, REMOVE_SOURCE),
    ):
        application.add_handler(CallbackQueryHandler(callback, pattern=kind.pattern))
    if application.job_queue is None:
        log.warning("No job queue (install python-telegram-bot[job-queue]): no scheduled refresh")
        return
    every = timedelta(minutes=application.bot_data.settings.refresh_minutes)
    application.job_queue.run_repeating(scheduled_refresh, interval=every, first=every)


# pure rendering


def source_html(source: Source) -> str:
    """'#id kind · N articles · fetched …', the linked title, and the last error if any."""
    fetched = f"{source.last_fetch_at:%Y-%m-%d %H:%M:%S %Z}" if source.last_fetch_at else _("never")
    articles = _n("{n} article", "{n} articles", source.articles)
    head = _(
        "<b>#{id}</b> {kind} · {articles} · fetched {fetched}",
        id=source.id,
        kind=source.kind,
        articles=articles,
        fetched=fetched,
    )
    title = render.text(source.title or source.url)
    web = is_web_url(source.url)
    uploaded = _("{title} (uploaded file)", title=title)
    lines = [head, f"{title}\n{render.text(source.url)}" if web else uploaded]
    if source.last_error:
        lines.append(_("⚠️ last error: {error}", error=render.text(source.last_error)))
    return "\n".join(lines)


def report_html(report: ImportReport) -> str:
    """What an import did, with the first few failures and their reasons."""
    lines = [render.text(report.summary())]
    for failure in report.failures[:SHOWN_FAILURES]:
        where = render.text(render.shorten(failure.where, 80))
        lines.append(f"• {where}: {render.text(failure.why)}")
    if len(report.failures) > SHOWN_FAILURES:
        more = len(report.failures) - SHOWN_FAILURES
        lines.append(_n("… and {n} more failure.", "… and {n} more failures.", more))
    return "\n".join(lines)


def result_html(result: SourceResult) -> str:
    """One source's refresh."""
    head = f"<b>#{result.source.id}</b> {render.text(result.source.title or result.source.url)}"
    if result.error:
        return _("{head}: failed: {error}", head=head, error=render.text(result.error))
    if result.not_modified:
        return _("{head}: unchanged since the last fetch.", head=head)
    return f"{head}: {report_html(result.report)}"


def sources_keyboard(sources: list[Source]) -> InlineKeyboardMarkup | None:
    """🔄 and 🗑 buttons per source, for short lists."""
    if not sources or len(sources) > BUTTONS_UP_TO:
        return None
    rows = []
    for source in sources:
        remove = ASK_REMOVE_SOURCE.data(source.id)
        row = [InlineKeyboardButton(f"🗑 #{source.id}", callback_data=remove)]
        if is_web_url(source.url):
            refresh = REFRESH_SOURCE.data(source.id)
            row.insert(0, InlineKeyboardButton(f"🔄 #{source.id}", callback_data=refresh))
        rows.append(row)
    return InlineKeyboardMarkup(rows)


def source_id(args: list[str] | None) -> int | None:
    """The numeric id in a command's arguments ('/refresh 3', '/refresh #3'), if there is one."""
    value = args[0].lstrip("#") if args and len(args) == 1 else ""
    return int(value) if value.isdigit() and len(value) < 10 else None


async def allowed(update: Update, context: Context) -> bool:
    """Whether the sender is an admin; anyone else gets a short refusal."""
    user = update.effective_user
    if is_admin(context.bot_data.settings, user.id if user else None):
        return True
    log.info("Refused an admin action: user %s is not in ADMIN_IDS", user.id if user else "?")
    if update.callback_query:
        await update.callback_query.answer(_(ADMINS_ONLY), show_alert=True)
    else:
        await reply(update.effective_message, _(ADMINS_ONLY))
    return False


async def add_source(update: Update, context: Context) -> None:
    """/addsource URL: fetch it, import what is new, say what happened."""
    message = update.effective_message
    if message is None or not await allowed(update, context):
        return
    url = " ".join(context.args or [])
    if not url:
        await reply(
            message,
            _(
                "Send it like this: <code>/addsource https://example.org/feed.xml</code>\n"
                "An RSS or Atom feed, an article page, or a PDF or text file on the web."
            ),
        )
        return
    async with typing(message.chat):
        try:
            result = await run_archive(context, context.bot_data.sources.add, url)
        except ArchiveError as error:
            await reply(message, _("Could not add that source: {error}", error=escape(str(error))))
            return
    source = result.source
    log.info("Source #%d added: %s: %s", source.id, source.url, result.report.summary())
    await reply(
        message,
        _(
            "Added source <b>#{id}</b> ({kind}): {link}\n{report}",
            id=source.id,
            kind=source.kind,
            link=render.link(source.title or source.url, source.url),
            report=report_html(result.report),
        ),
    )
    await deliver_alerts(context)


async def list_sources(update: Update, context: Context) -> None:
    """/sources: every source with its articles, last fetch and last error."""
    message = update.effective_message
    if message is None or not await allowed(update, context):
        return
    found = await run_archive(context, context.bot_data.sources.list_sources)
    if problems := faults_html(context.bot_data.archive):  # a full disk, say
        await reply(message, problems)
    if not found:
        await reply(message, _("No sources yet. Add one with /addsource URL, or send me a file."))
        return
    parts = render.split_html("\n\n".join(source_html(s) for s in found))
    for number, part in enumerate(parts, start=1):
        await reply(message, part, sources_keyboard(found) if number == len(parts) else None)


async def remove_source(update: Update, context: Context) -> None:
    """/removesource ID: the source and its articles leave SQLite and the index."""
    message = update.effective_message
    if message is None or not await allowed(update, context):
        return
    number = source_id(context.args)
    if number is None:
        await reply(message, _("Send it like this: <code>/removesource 3</code> (see /sources)."))
        return
    await remove_and_report(message, number, context)


async def remove_and_report(message: Message, number: int, context: Context) -> None:
    """Remove a source and say what went, in reply to `message`."""
    try:
        source = await run_archive(context, context.bot_data.sources.remove, number)
    except ArchiveError as error:
        await reply(message, _("{error} /sources lists them.", error=escape(str(error))))
        return
    log.info("Source #%d removed: %s", source.id, source.url)
    await reply(
        message,
        _n(
            "Removed source <b>#{id}</b> ({title}) and its {n} article; it is no longer cited.",
            "Removed source <b>#{id}</b> ({title}) and its {n} articles; they are no longer cited.",
            source.articles,
            id=source.id,
            title=render.text(source.title or source.url),
        ),
    )


async def refresh(update: Update, context: Context) -> None:
    """/refresh [ID]: fetch new items now, from one source or from every feed."""
    message = update.effective_message
    if message is None or not await allowed(update, context):
        return
    number = source_id(context.args)
    await refresh_and_report(message, number, context)


async def refresh_and_report(message: Message, number: int | None, context: Context) -> None:
    """Refresh one source (or every feed, for None) and say what came in."""
    async with typing(message.chat):
        try:
            if number is None:
                results = await run_archive(context, context.bot_data.sources.refresh_all)
            else:
                results = [await run_archive(context, context.bot_data.sources.refresh, number)]
        except ArchiveError as error:
            await reply(message, escape(str(error)))
            return
    if not results:
        await reply(message, _("No feeds to refresh. Add one with /addsource URL."))
        return
    for part in render.split_html("\n\n".join(result_html(r) for r in results)):
        await reply(message, part)
    await deliver_alerts(context)


async def document(update: Update, context: Context) -> None:
    """A file sent by an admin in a private chat is imported as a source of its own."""
    message = update.effective_message
    if message is None or message.document is None or not await allowed(update, context):
        return
    document = message.document
    name = safe_name(document.file_name or "upload")  # untrusted: shown, never a path
    if PurePath(name).suffix.lower() not in SUFFIXES:
        await reply(
            message,
            _(
                "I can import {types} files; {name} is not one.",
                types=FILE_TYPES,
                name=escape(name),
            ),
        )
        return
    if (document.file_size or 0) > MAX_UPLOAD_BYTES:
        limit = MAX_UPLOAD_BYTES // 1_000_000
        await reply(
            message,
            _(
                "{name} is larger than {limit} MB, the most I can fetch.",
                name=escape(name),
                limit=limit,
            ),
        )
        return
    async with typing(message.chat):
        try:
            file = await document.get_file()
            data = bytes(await file.download_as_bytearray())
            result = await run_archive(context, context.bot_data.sources.add_file, name, data)
        except TelegramError as error:
            await reply(
                message,
                _(
                    "Could not download {name} from Telegram: {error}",
                    name=escape(name),
                    error=error,
                ),
            )
            return
        except ArchiveError as error:
            failed = _(
                "Could not import {name}: {error}", name=escape(name), error=escape(str(error))
            )
            await reply(message, failed)
            return
    await reply(
        message,
        _(
            "Imported {name} as source <b>#{id}</b>: {report}",
            name=escape(name),
            id=result.source.id,
            report=report_html(result.report),
        ),
    )
    await deliver_alerts(context)


async def refresh_button(update: Update, context: Context) -> None:
    """🔄 refreshes one source."""
    if (pressed := await source_button(update, context, REFRESH_SOURCE)) is not None:
        await refresh_and_report(*pressed, context)


async def ask_remove_button(update: Update, context: Context) -> None:
    """🗑 asks first: 'Yes, remove' removes."""
    if (pressed := await source_button(update, context, ASK_REMOVE_SOURCE)) is not None:
        message, number = pressed
        confirm = InlineKeyboardButton(
            _("Yes, remove #{id}", id=number), callback_data=REMOVE_SOURCE.data(number)
        )
        keyboard = InlineKeyboardMarkup([[confirm]])
        await reply(message, _("Remove source #{id} and all its articles?", id=number), keyboard)


async def remove_button(update: Update, context: Context) -> None:
    """'Yes, remove #id' removes the source."""
    if (pressed := await source_button(update, context, REMOVE_SOURCE)) is not None:
        await remove_and_report(*pressed, context)


async def source_button(
    update: Update, context: Context, kind: ButtonKind
) -> tuple[Message, int] | None:
    """An admin's press of a source button: its message and source id, the press answered."""
    query = update.callback_query
    if query is None or not await allowed(update, context):
        return None
    number = kind.parse(query.data)
    message = query.message if isinstance(query.message, Message) else None
    if number is None or message is None:
        await expired(query)
        return None
    await query.answer()
    return message, number


async def scheduled_refresh(context: Context) -> None:
    """The job queue's periodic refresh of every feed; errors are kept per source."""
    if not leads(context, "Scheduled refresh"):
        return
    results = await run_archive(context, context.bot_data.sources.refresh_all)
    for result in results:
        if result.error:
            log.warning("Scheduled refresh: %s", result.summary())
    added = sum(r.report.added for r in results)
    log.info("Scheduled refresh: %d feed(s), %d new article(s)", len(results), added)
    # Also picks up articles another process imported since the last pass.
    await deliver_alerts(context)
