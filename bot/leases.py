"""Work that must happen once however many bots share the archive: leases and the shared limit.

Every process renews the `scheduler` lease every RENEW_SECONDS; the one that holds it runs the
scheduled feed refresh and digests. When it dies, its lease lapses and another process takes
over at its next renewal, within LEASE_SECONDS + RENEW_SECONDS (under a minute).
"""

from __future__ import annotations

import logging
import math

from telegram.ext import Application

from bot.context import Context, run_archive
from bot.limits import WINDOW_SECONDS

log = logging.getLogger(__name__)

SCHEDULER = "scheduler"
LEASE_SECONDS = 40.0
RENEW_SECONDS = 15.0


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Renew the scheduler lease from the start, and give it up at shutdown."""
    if application.job_queue is not None:
        application.job_queue.run_repeating(renew, interval=RENEW_SECONDS, first=0)


async def renew(context: Context) -> None:
    """Take or keep the scheduler lease (logged when it changes hands)."""
    await run_archive(context, context.bot_data.archive.take_lease, SCHEDULER, LEASE_SECONDS)


def leads(context: Context, job: str) -> bool:
    """Whether this process holds the scheduler lease, so runs `job` now."""
    if context.bot_data.archive.holds_lease(SCHEDULER):
        return True
    log.debug("%s: another process holds the scheduler lease", job)
    return False


async def question_wait(context: Context, user_id: int) -> int:
    """0 and count the question, or whole seconds to wait: shared through the database when
    several bots share it (NEWSBOT_DATABASE_URL), else this process's own count."""
    data = context.bot_data
    if not data.settings.database_url:
        return data.limit.wait_seconds(user_id)
    per_minute = data.settings.questions_per_minute
    wait = await run_archive(
        context, data.archive.shared_question_limit, user_id, per_minute, WINDOW_SECONDS
    )
    return math.ceil(wait)
