"""Storage faults for admins: told once as each begins and once when all are over.

After every update (and every minute, when the archive retries what it could not write) the
archive's faults are compared with those already told, so a full disk is reported once, not
once per question, and its end is reported too. /sources lists the faults of the moment.
"""

from __future__ import annotations

import html
import logging
from datetime import timedelta

from telegram import Update
from telegram.ext import Application, TypeHandler

from bot.context import Command, Context, run_archive
from bot.sending import send
from index.archive import Archive
from index.health import Fault
from index.i18n import _

log = logging.getLogger(__name__)

COMMANDS: tuple[Command, ...] = ()
ADMIN_COMMANDS: tuple[Command, ...] = ()
RETRY_EVERY = timedelta(minutes=1)  # how often writes that failed are tried again
AFTER_HANDLERS = 1  # the handler group that runs after every update's own handler


def register(application: Application) -> None:  # type: ignore[type-arg]
    """Check for new or ended faults after each update, and retry failed writes regularly."""
    application.add_handler(TypeHandler(Update, after_update), group=AFTER_HANDLERS)
    if application.job_queue is not None:
        application.job_queue.run_repeating(retry_writes, interval=RETRY_EVERY, first=RETRY_EVERY)


def fault_html(fault: Fault) -> str:
    """'⚠️ the keyword index could not be written: disk full: …'."""
    what, error = html.escape(_(fault.where)), html.escape(str(fault.error))
    return "⚠️ " + _("{what} could not be written: {error}", what=what, error=error)


def faults_html(archive: Archive) -> str:
    """One line per part of the archive that cannot be written now; empty when all is well."""
    return "\n".join(fault_html(fault) for fault in archive.health.faults())


async def after_update(update: Update, context: Context) -> None:
    """Tell the admins about faults that began or ended while the update was handled."""
    await tell_admins(context)


async def retry_writes(context: Context) -> None:
    """Write again what could not be written (the indexes after a full disk), then tell."""
    archive = context.bot_data.archive
    if archive.health.faults() and not archive.read_only:
        await run_archive(context, archive.sync)
    await tell_admins(context)


async def tell_admins(context: Context) -> None:
    """Message every admin about new faults, and once when there are none left."""
    data = context.bot_data
    faults = data.archive.health.faults()
    now = frozenset((fault.where, fault.kind) for fault in faults)
    told, data.faults_told = data.faults_told, now
    new = [fault for fault in faults if (fault.where, fault.kind) not in told]
    if new:
        still = _("Questions are still answered from what is stored. I will say when it is over.")
        text = "\n".join([*(fault_html(fault) for fault in new), still])
    elif told and not now:
        parts = ", ".join(html.escape(_(where)) for where in sorted({w for w, _k in told}))
        text = "✅ " + _("The archive writes again ({what}); nothing is pending.", what=parts)
    else:
        return
    log.warning("Telling the admins: %s", text)
    for admin_id in sorted(data.settings.admin_ids):
        await send(context.bot, admin_id, text)
