"""Wiring: settings and archive in, a polling python-telegram-bot Application out."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Any, Protocol

from pydantic import ValidationError
from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults

from bot import admin, handlers
from bot.context import BotData, Command
from bot.limits import QuestionLimit
from index.archive import Archive
from index.errors import ArchiveError
from index.settings import Settings, settings_problem
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
TOKEN_LOGGERS = ("telegram.Bot", "telegram.ext.ExtBot", "openai._base_client")
QUIET_LOGGERS = ("httpx", "httpcore", "sentence_transformers", "transformers", "faiss")


class HandlerModule(Protocol):
    """A module of handlers: it registers them and names the commands they answer."""

    COMMANDS: tuple[Command, ...]
    ADMIN_COMMANDS: tuple[Command, ...]

    def register(self, application: Application) -> None:  # type: ignore[type-arg]
        """Add the module's handlers to the application."""


# The one place handler modules join the bot, in order (first match wins); a new module (say
# bot/admin.py) goes into this tuple. handlers.register_fallbacks runs after all of them.
HANDLER_MODULES: tuple[HandlerModule, ...] = (handlers, admin)


class RedactToken(logging.Filter):
    """Replaces the bot token in a log record (message and traceback) with <token>."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<token>"), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = record.exc_text.replace(self.token, "<token>")
        return True


def protect_token(token: str, *handlers: logging.Handler) -> None:
    """Redact the token in PTB's bot loggers (they log the API URL) and in the given handlers."""
    targets: list[logging.Filterer] = [logging.getLogger(n) for n in TOKEN_LOGGERS]
    for target in [*targets, *handlers]:
        if not any(isinstance(f, RedactToken) and f.token == token for f in target.filters):
            target.addFilter(RedactToken(token))


def quiet_http_logs() -> None:
    """httpx logs every request URL, and the URL holds the token: keep it at WARNING."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


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
        .rate_limiter(AIORateLimiter(max_retries=3))
        .concurrent_updates(True)
        .context_types(ContextTypes(bot_data=BotData))
        .post_init(set_commands)
        .post_shutdown(close_writer)
        .build()
    )
    data: BotData = application.bot_data
    data.settings, data.archive = settings, archive
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


async def close_writer(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Close the model client's connections, if there is one."""
    data: BotData = application.bot_data
    if data.writer is not None:
        await data.writer.close()


def open_archive(settings: Settings) -> Archive:
    """Open the archive; an empty one gets the bundled seeds first."""
    archive = Archive(settings)
    report = archive.seed()
    if report:
        log.info("Empty archive: imported the sample articles: %s", report.summary())
    archive.sync()
    return archive


def configure_logging(level: str) -> None:
    """Log to stderr at `level`, with the HTTP client's request log silenced."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    quiet_http_logs()


def main() -> int:
    """Run the bot with long polling until SIGINT or SIGTERM; the exit status."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        settings = Settings()
    except ValidationError as error:
        print(settings_problem(error), file=sys.stderr)
        return 1
    configure_logging(settings.log_level)
    if settings.telegram_bot_token is None:
        print(NO_TOKEN, file=sys.stderr)
        return 1
    protect_token(settings.telegram_bot_token.get_secret_value(), *logging.getLogger().handlers)
    if settings.llm_api_key is not None:
        protect_token(settings.llm_api_key.get_secret_value(), *logging.getLogger().handlers)
    try:
        archive = open_archive(settings)
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
            allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY], close_loop=False
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
