"""A replica's HTTP server (aiohttp): Telegram's webhook; /healthz and /metrics for operators."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot import metrics
from bot.context import BotData
from index.settings import listen_address

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_TIMEOUT_SECONDS = 5.0
# Update ids this replica took, so a redelivery of one still being answered here (Telegram gave
# up waiting) is not answered twice; a redelivery to another replica is answered there.
SEEN_KEPT = 10_000


@dataclass
class Webhook:
    """Where Telegram posts updates and the secret every post must carry."""

    path: str
    secret: str
    seen: OrderedDict[int, None] = field(default_factory=OrderedDict)
    accepting: bool = True  # False once stopping: Telegram then redelivers to another replica

    def first_time(self, update_id: int) -> bool:
        """Whether this update id is new here; remembers it."""
        if update_id in self.seen:
            return False
        self.seen[update_id] = None
        while len(self.seen) > SEEN_KEPT:
            self.seen.popitem(last=False)
        return True


class Server:
    """The aiohttp app on host:port, sharing the bot's event loop; start() then stop()."""

    def __init__(self, application: Application, listen: str, webhook: Webhook | None) -> None:  # type: ignore[type-arg]
        self.application = application
        self.listen = listen
        self.webhook = webhook
        # Health and metrics read the archive on their own thread: a queue of questions on the
        # archive pool must not make a live replica look dead.
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="operator")
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)
        if webhook is not None:
            app.router.add_post(webhook.path, self.update)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)

    async def start(self) -> None:
        """Listen; OSError when the address is taken."""
        host, port = listen_address(self.listen)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        served = "the webhook, /healthz and /metrics" if self.webhook else "/healthz and /metrics"
        log.info("Serving %s on %s", served, self.listen)

    async def stop(self) -> None:
        """Refuse new updates, let those being answered finish, close."""
        if self.webhook is not None:
            self.webhook.accepting = False
        await self._runner.cleanup()
        self._reader.shutdown(wait=False, cancel_futures=True)

    async def update(self, request: web.Request) -> web.Response:
        """One update from Telegram, answered before the 200 so a dead replica's are redelivered."""
        assert self.webhook is not None
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.webhook.secret.encode()):
            metrics.WEBHOOK_REFUSED.inc()
            log.warning("Webhook: refused a request without the right secret token")
            return web.Response(status=403)
        if not self.webhook.accepting:
            return web.Response(status=503)
        try:
            payload = await request.json()
            update = Update.de_json(payload, self.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError):  # not an update
            return web.Response(status=400)
        if self.webhook.first_time(update.update_id):
            processor = self.application.update_processor
            await processor.process_update(update, self.application.process_update(update))
        return web.Response(status=200)

    async def healthz(self, request: web.Request) -> web.Response:
        """200 when the archive answers a trivial query in time; 503 with the reason otherwise."""
        data: BotData = self.application.bot_data
        try:
            counts = await self._read(data.archive.counts)
        except TimeoutError:
            return _json(503, ok=False, reason=f"archive: no answer in {HEALTH_TIMEOUT_SECONDS} s")
        except Exception as error:  # any failure of the database is the answer here
            log.warning("Health check failed: %s", error)
            return _json(503, ok=False, reason=f"archive: {type(error).__name__}: {error}")
        return _json(200, ok=True, articles=counts.articles, passages=counts.chunks)

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus' text format; the archive gauges are read first (a failed read skips them)."""
        data: BotData = self.application.bot_data
        try:
            counts = await self._read(data.archive.counts)
            metrics.observe_archive(counts, await self._read(data.archive.cache_lag))
        except Exception as error:  # the counters still matter when the archive does not answer
            metrics.ERRORS.labels(kind=type(error).__name__).inc()
            log.warning("Metrics: could not read the archive: %s", error)
        body, content_type = metrics.exposition()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    async def _read(self, call: Any) -> Any:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
            return await loop.run_in_executor(self._reader, call)


def _json(status: int, **body: object) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")
