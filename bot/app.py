"""Wiring: settings and archive in, a polling python-telegram-bot Application out."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from pydantic import ValidationError
from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults

from bot import admin, alerts, handlers, stories
from bot.context import BotData, Command
from bot.limits import QuestionLimit
from bot.logs import configure_logging, protect_token, quiet_http_logs
from index import Archive, Settings
from index.errors import ArchiveError
from index.settings import settings_problem
from index.sources.fetch import Fetcher
from index.sources.sources import Sources
from index.written.client import ModelClient

log = logging.getLogger(__name__)

NO_TOKEN = (
    "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather in Telegram (/newbot), "
    "put its token in .env as TELEGRAM_BOT_TOKEN=..., and run `make bot` again; "
    'meanwhile `make ask Q="your question"` answers in the terminal.'
)
BAD_TOKEN = (
    "Telegram rejected TELEGRAM_BOT_TOKEN: copy the token again from @BotFather (/mybots) "
    "into .env."
)
# Archive calls from handlers run on this many threads: questions are CPU-bound (embedding,
# FAISS), so more would only queue inside torch; a slow admin refresh holds one of them.
ARCHIVE_THREADS = 4
# Updates handled at once, besides those waiting for a written answer. PTB's default (256 at
# once, 256 pooled connections) makes every request slower: httpcore walks its whole pool, idle
# connection by idle connection, whenever a request starts or ends (encode/httpcore#1035), and
# the load test answered twice as fast with 16. Each update has at most two requests in
# flight ("typing…" and its reply), so the pool has room for both and none waits for a connection.
CONCURRENT_UPDATES = 16


class HandlerModule(Protocol):
    """A module of handlers: it registers them and names the commands they answer."""

    COMMANDS: tuple[Command, ...]
    ADMIN_COMMANDS: tuple[Command, ...]

    def register(self, application: Application) -> None:  # type: ignore[type-arg]
        """Add the module's handlers to the application."""


# The one place handler modules join the bot, in order (first match wins); a new module (say
# bot/admin.py) goes into this tuple. handlers.register_fallbacks runs after all of them.
HANDLER_MODULES: tuple[HandlerModule, ...] = (handlers, admin, alerts, stories)


def build_application(
    settings: Settings, archive: Archive, modules: tuple[HandlerModule, ...] = HANDLER_MODULES
) -> Application:  # type: ignore[type-arg]
    """The Application: HTML replies without link previews, flood limits, concurrent updates."""
    if settings.telegram_bot_token is None:
        raise ValueError(NO_TOKEN)
    quiet_http_logs()
    protect_token(settings.telegram_bot_token.get_secret_value())
    if settings.llm_api_key is not None:
        protect_token(settings.llm_api_key.get_secret_value())
    updates = CONCURRENT_UPDATES + (settings.llm_max_concurrency if settings.llm_base_url else 0)
    # PTB 22 warns on every 429 (RetryAfter.retry_after) unless time periods are opted in to
    # timedelta, which becomes the default in PTB 23.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(AIORateLimiter(overall_max_rate=settings.send_per_second, max_retries=3))
        .concurrent_updates(updates)
        .connection_pool_size(2 * updates)
        .context_types(ContextTypes(bot_data=BotData))
        .post_init(set_commands)
        .post_shutdown(release)
        .build()
    )
    data: BotData = application.bot_data
    data.settings, data.archive = settings, archive
    data.executor = ThreadPoolExecutor(ARCHIVE_THREADS, thread_name_prefix="archive")
    data.fetcher = Fetcher(settings)
    data.sources = Sources(archive, data.fetcher)
    data.limit = QuestionLimit(settings.questions_per_minute)
    data.writer = ModelClient(settings) if settings.llm_base_url else None
    data.commands = tuple(c for module in modules for c in module.COMMANDS)
    data.admin_commands = tuple(c for module in modules for c in module.ADMIN_COMMANDS)
    for module in modules:
        module.register(application)
    handlers.register_fallbacks(application)
    return application


async def set_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Everyone's commands in Telegram's menu; admins' chats also list theirs."""
    data: BotData = application.bot_data
    everyone = [BotCommand(c.name, c.description) for c in data.commands]
    await application.bot.set_my_commands(everyone)
    log.info("Answering as @%s", application.bot.username)
    if not data.admin_commands:
        return
    admins = everyone + [BotCommand(c.name, c.description) for c in data.admin_commands]
    for admin_id in sorted(data.settings.admin_ids):
        try:
            await application.bot.set_my_commands(admins, scope=BotCommandScopeChat(admin_id))
        except TelegramError as error:
            # Telegram knows an admin's chat only once they have written to the bot.
            log.warning("Admin %s: could not set the command menu: %s", admin_id, error)


async def release(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """At shutdown: let running archive calls finish, drop queued ones, close what is open."""
    data: BotData = application.bot_data
    data.executor.shutdown(wait=True, cancel_futures=True)
    data.fetcher.close()
    if data.alerts is not None:
        data.alerts.close()
    if data.writer is not None:
        await data.writer.close()


def main() -> int:
    """Run the bot with long polling until SIGINT or SIGTERM; the exit status."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        settings = Settings()
    except ValidationError as error:
        print(settings_problem(error), file=sys.stderr)
        return 1
    if settings.telegram_bot_token is None:
        print(NO_TOKEN, file=sys.stderr)
        return 1
    secrets = [settings.telegram_bot_token.get_secret_value()]
    if settings.llm_api_key is not None:
        secrets.append(settings.llm_api_key.get_secret_value())
    configure_logging(settings.log_level, *secrets)
    try:
        archive = Archive.open(settings)
    except ArchiveError as error:
        print(error, file=sys.stderr)
        return 1
    try:
        return run(build_application(settings, archive))
    finally:
        archive.close()


def run(application: Application) -> int:  # type: ignore[type-arg]
    """Poll until a stop signal; 0 when stopped, 1 when Telegram refuses the token."""
    try:
        application.run_polling(
            allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY],
            close_loop=False,
        )
    except InvalidToken:
        print(BAD_TOKEN, file=sys.stderr)
        # PTB leaves the HTTP client of the refused getMe open; close it while the loop lives.
        asyncio.get_event_loop().run_until_complete(application.bot.request.shutdown())
        return 1
    finally:
        asyncio.get_event_loop().close()
    log.info("Stopped.")
    return 0
