"""What every handler reaches through its context: settings, archive, limit, commands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram.ext import CallbackContext, ExtBot

from bot.limits import QuestionLimit
from index.archive import Archive
from index.settings import Settings
from index.written.client import ModelClient


@dataclass(frozen=True)
class Command:
    """A slash command as shown by /help and Telegram's command menu."""

    name: str
    description: str


class BotData:
    """The application-wide state; PTB creates it empty and build_application fills it."""

    settings: Settings
    archive: Archive
    limit: QuestionLimit
    writer: ModelClient | None = None  # the model for written answers, when LLM_BASE_URL is set
    commands: tuple[Command, ...] = ()
    admin_commands: tuple[Command, ...] = ()


Context = CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]


def is_admin(settings: Settings, user_id: int | None) -> bool:
    """Admins are listed by numeric Telegram user id (ADMIN_IDS), never by username."""
    return user_id is not None and user_id in settings.admin_ids
