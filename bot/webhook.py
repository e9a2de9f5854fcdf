"""Running as one of several replicas: updates by webhook, the webhook set once, not fought over."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from telegram import Bot, WebhookInfo
from telegram.ext import Application

from bot.serving import Server, Webhook
from index.settings import Settings

log = logging.getLogger(__name__)

# Telegram's default is 40 connections at once; each one holds an update until it is answered.
MAX_CONNECTIONS = 40


def webhook_stale(info: WebhookInfo, url: str, allowed: Sequence[str]) -> bool:
    """Whether Telegram's webhook must be set again: another URL or update types, or refused posts.

    A 403 in Telegram's last error means the secret it sends is not ours (it was changed).
    """
    if info.url != url or set(info.allowed_updates or ()) != set(allowed):
        return True
    return "403" in (info.last_error_message or "")


async def ensure_webhook(bot: Bot, settings: Settings, allowed: Sequence[str]) -> bool:
    """Set the webhook unless Telegram already has it (replicas starting together agree)."""
    assert settings.webhook_secret is not None
    info = await bot.get_webhook_info()
    if not webhook_stale(info, settings.webhook_url, allowed):
        log.info("Webhook already set; %d update(s) pending", info.pending_update_count)
        return False
    await bot.set_webhook(
        settings.webhook_url,
        secret_token=settings.webhook_secret.get_secret_value(),
        allowed_updates=list(allowed),
        max_connections=MAX_CONNECTIONS,
    )
    log.info("Webhook set to %s", settings.webhook_url)
    return True


async def serve_webhook(
    application: Application[Any, Any, Any, Any, Any, Any],
    settings: Settings,
    allowed: Sequence[str],
) -> None:
    """Answer updates posted to the webhook until SIGINT or SIGTERM, as run_polling would."""
    assert settings.webhook_secret is not None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    path = urlsplit(settings.webhook_url).path or "/"
    webhook = Webhook(path, settings.webhook_secret.get_secret_value())
    server = Server(application, settings.webhook_listen, webhook)
    try:
        async with application:  # initialize (getMe) and, on the way out, shutdown
            if application.post_init:
                await application.post_init(application)
            await application.start()
            try:
                await server.start()
                await ensure_webhook(application.bot, settings, allowed)
                await stop.wait()
            finally:
                await server.stop()
                await application.stop()
    finally:
        if application.post_shutdown:
            await application.post_shutdown(application)


def serve_operators_while_polling(
    application: Application[Any, Any, Any, Any, Any, Any], listen: str
) -> None:
    """Start /healthz and /metrics with the polling bot (after post_init), stop them before it."""
    server = Server(application, listen, None)
    started, stopped = application.post_init, application.post_stop

    async def start(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        if started:
            await started(app)
        await server.start()

    async def stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await server.stop()
        if stopped:
            await stopped(app)

    application.post_init, application.post_stop = start, stop
