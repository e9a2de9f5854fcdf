"""Wiring: settings and archive in, a python-telegram-bot Application out (polling or webhook)."""

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

from bot import admin, alerts, handlers, health, language, leases, stories
from bot.context import BotData, Command
from bot.limits import QuestionLimit
from bot.logs import configure_logging, protect_token, quiet_http_logs
from bot.webhook import serve_operators_while_polling, serve_webhook
from index import Archive, Settings
from index.errors import ArchiveError
from index.i18n import DEFAULT, LANGUAGES, N_, _, use_language
from index.settings import settings_problem
from index.sources.fetch import Fetcher
from index.sources.sources import Sources
from index.written.client import ModelClient

log = logging.getLogger(__name__)

NO_TOKEN = N_(
    "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather in Telegram (/newbot), "
    "put its token in .env as TELEGRAM_BOT_TOKEN=..., and run `make bot` again; "
    'meanwhile `make ask Q="your question"` answers in the terminal.'
)
BAD_TOKEN = N_(
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
# The kinds of update the bot asks Telegram for, polling or by webhook.
ALLOWED_UPDATES = (Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY)


class HandlerModule(Protocol):
    """A module of handlers: it registers them and names the commands they answer."""

    COMMANDS: tuple[Command, ...]
    ADMIN_COMMANDS: tuple[Command, ...]

    def register(self, application: Application) -> None:  # type: ignore[type-arg]
        """Add the module's handlers to the application."""


# The one place handler modules join the bot, in order (first match wins); a new module (say
# bot/admin.py) goes into this tuple. handlers.register_fallbacks runs after all of them.
HANDLER_MODULES: tuple[HandlerModule, ...] = (handlers, admin, alerts, stories, language, health)


def build_application(
    settings: Settings, archive: Archive, modules: tuple[HandlerModule, ...] = HANDLER_MODULES
) -> Application:  # type: ignore[type-arg]
    """The Application: HTML replies without link previews, flood limits, concurrent updates."""
    if settings.telegram_bot_token is None:
        raise ValueError(_(NO_TOKEN))
    quiet_http_logs()
    protect_token(settings.telegram_bot_token.get_secret_value())
    if settings.llm_api_key is not None:
        protect_token(settings.llm_api_key.get_secret_value())
    if settings.webhook_secret is not None:
        protect_token(settings.webhook_secret.get_secret_value())
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
    leases.register(application)
    handlers.register_fallbacks(application)
    return application


async def set_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Everyone's commands in Telegram's menu, in each language; admins' chats also list theirs.

    English is the default menu; users whose Telegram speaks Ukrainian or Russian see theirs.
    """
    data: BotData = application.bot_data
    for spoken in LANGUAGES:
        code = None if spoken == DEFAULT else spoken
        with use_language(spoken):
            everyone = [BotCommand(c.name, _(c.description)) for c in data.commands]
            admins = everyone + [BotCommand(c.name, _(c.description)) for c in data.admin_commands]
        await application.bot.set_my_commands(everyone, language_code=code)
        if not data.admin_commands:
            continue
        for admin_id in sorted(data.settings.admin_ids):
            scope = BotCommandScopeChat(admin_id)
            try:
                await application.bot.set_my_commands(admins, scope=scope, language_code=code)
            except TelegramError as error:
                # Telegram knows an admin's chat only once they have written to the bot.
                log.warning("Admin %s: could not set the command menu: %s", admin_id, error)
    log.info("Answering as @%s", application.bot.username)


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
        print(_(NO_TOKEN), file=sys.stderr)
        return 1
    secrets = [settings.telegram_bot_token.get_secret_value()]
    if settings.llm_api_key is not None:
        secrets.append(settings.llm_api_key.get_secret_value())
    if settings.webhook_secret is not None:
        secrets.append(settings.webhook_secret.get_secret_value())
    configure_logging(settings.log_level, *secrets)
    try:
        archive = Archive.open(settings)
    except ArchiveError as error:
        print(error, file=sys.stderr)
        return 1
    try:
        application = build_application(settings, archive)
        if settings.webhook_url:
            return run_webhook(application, settings)
        if settings.metrics_listen:
            serve_operators_while_polling(application, settings.metrics_listen)
        return run(application)
    finally:
        archive.close()


def run(application: Application) -> int:  # type: ignore[type-arg]
    """Poll until a stop signal; 0 when stopped, 1 when Telegram refuses the token."""
    try:
        application.run_polling(allowed_updates=list(ALLOWED_UPDATES), close_loop=False)
    except InvalidToken:
        print(_(BAD_TOKEN), file=sys.stderr)
        # PTB leaves the HTTP client of the refused getMe open; close it while the loop lives.
        asyncio.get_event_loop().run_until_complete(application.bot.request.shutdown())
        return 1
    finally:
        asyncio.get_event_loop().close()
    log.info("Stopped.")
    return 0


def run_webhook(application: Application, settings: Settings) -> int:  # type: ignore[type-arg]
    """Answer updates by webhook until a stop signal; 0 when stopped, 1 when refused."""
    try:
        asyncio.run(serve_webhook(application, settings, ALLOWED_UPDATES))
    except InvalidToken:
        print(_(BAD_TOKEN), file=sys.stderr)
        return 1
    except OSError as error:  # the listen address is taken or not ours
        listen = settings.webhook_listen
        print(
            _("Cannot serve the webhook on {listen}: {error}", listen=listen, error=error),
            file=sys.stderr,
        )
        return 1
    except TelegramError as error:  # setWebhook refused: the URL, say
        url = settings.webhook_url
        print(
            _("Telegram refused the webhook {url}: {error}", url=url, error=error), file=sys.stderr
        )
        return 1
    log.info("Stopped.")
    return 0
