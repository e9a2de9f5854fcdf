"""What every handler reaches through its context: settings, archive, sources, limit, commands."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from telegram.ext import CallbackContext, ExtBot

from bot.limits import QuestionLimit
from index.alerts.alerts import Alerts
from index.archive import Archive
from index.settings import Settings
from index.sources.fetch import Fetcher
from index.sources.sources import Sources
from index.written.client import ModelClient

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Command:
    """A slash command as shown by /help and Telegram's command menu."""

    name: str
    description: str


class BotData:
    """The application-wide state; PTB creates it empty and build_application fills it."""

    settings: Settings
    archive: Archive
    fetcher: Fetcher
    sources: Sources
    executor: ThreadPoolExecutor  # every call into the archive runs here (see run_archive)
    limit: QuestionLimit
    writer: ModelClient | None = None  # the model for written answers, when LLM_BASE_URL is set
    commands: tuple[Command, ...] = ()
    admin_commands: tuple[Command, ...] = ()
    alerts: Alerts | None = None  # set by bot/alerts.py when it is registered
    faults_told: frozenset[tuple[str, str]] = frozenset()  # (where, kind) admins know of


Context = CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]


async def run_archive(
    context: Context, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run a (synchronous) archive call on the application's bounded executor, off the loop."""
    loop = asyncio.get_running_loop()
    work = functools.partial(call, *args, **kwargs)
    # The update's context (its language, say) goes along: messages built there speak it too.
    return await loop.run_in_executor(context.bot_data.executor, copy_context().run, work)


def is_admin(settings: Settings, user_id: int | None) -> bool:
    """Admins are listed by numeric Telegram user id (ADMIN_IDS), never by username."""
    return user_id is not None and user_id in settings.admin_ids
