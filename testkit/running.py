"""Runs a real python-telegram-bot Application in a thread, as `run_polling` would."""

from __future__ import annotations

import asyncio
import threading

from telegram.ext import Application


class RunningBot:
    """A real Application in a thread: initialize, post_init, polling; at exit, post_shutdown."""

    def __init__(self, application: Application) -> None:  # type: ignore[type-arg]
        self.application = application
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RunningBot:
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("The bot did not start within 60 s.")
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
        assert not self._thread.is_alive(), "the bot did not stop"

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:
            self._error = error
            self._ready.set()

    async def _main(self) -> None:
        app = self.application
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        async with app:
            if app.post_init:
                await app.post_init(app)
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=5)
            await app.start()
            self._ready.set()
            await self._stop.wait()
            await app.updater.stop()
            await app.stop()
        if app.post_shutdown:  # as run_polling does, after shutdown
            await app.post_shutdown(app)
