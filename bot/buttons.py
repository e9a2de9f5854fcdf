"""Inline buttons: each kind's callback data, built and parsed side by side, and the expiry notice.

The data carries everything a button needs ('kind:number'), so a button outlives a restart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import CallbackQuery

from index.i18n import N_, _

EXPIRED = N_("This button has expired: please ask again.")
MAX_DIGITS = 18  # fits SQLite's int64 ids and Telegram's 64-byte callback data


@dataclass(frozen=True)
class ButtonKind:
    """One kind of button: data 'prefix:number', with a CallbackQueryHandler of its own."""

    prefix: str

    @property
    def pattern(self) -> re.Pattern[str]:
        """The data of this kind, for CallbackQueryHandler(pattern=...)."""
        return re.compile(rf"^{re.escape(self.prefix)}:(\d{{1,{MAX_DIGITS}}})$")

    def data(self, number: int) -> str:
        """The callback data of a button of this kind."""
        return f"{self.prefix}:{number}"

    def parse(self, data: str | None) -> int | None:
        """The number in data of this kind; None for anything else."""
        match = self.pattern.match(data or "")
        return int(match.group(1)) if match else None


MORE = ButtonKind("more")  # 'More ▸': the offset where the next results start
PASSAGE = ButtonKind("passage")  # '📄 n': the cited passage's chunk id
REFRESH_SOURCE = ButtonKind("src:refresh")  # '🔄 #id'
ASK_REMOVE_SOURCE = ButtonKind("src:ask")  # '🗑 #id': asks before removing
REMOVE_SOURCE = ButtonKind("src:remove")  # 'Yes, remove #id'
REMOVE_TOPIC = ButtonKind("alert:del")  # '🗑 #id' under /subscriptions, '🔕' under an alert


async def expired(query: CallbackQuery) -> None:
    """The answer to a button this bot no longer knows, or whose message is gone."""
    await query.answer(_(EXPIRED), show_alert=True)
