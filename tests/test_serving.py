"""Operator endpoints beside a polling bot, webhook settings, and the fake's webhook rules."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest
from pydantic import ValidationError

from bot.app import build_application
from bot.metrics import fallback_reason
from bot.serving import Server
from index.archive import Archive
from index.settings import Settings
from testkit.telegram import TOKEN, FakeTelegram


def free_listen() -> str:
    """host:port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def test_healthz_says_503_and_why_once_the_archive_stops_answering(archive: Archive) -> None:
    listen = free_listen()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=archive.data_dir,
        telegram_bot_token=TOKEN,
        metrics_listen=listen,
    )
    application = build_application(settings, archive)

    async def probe() -> list[tuple[int, str]]:
        server = Server(application, listen, None)
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://{listen}") as client:
                answers = [await client.get("/healthz"), await client.get("/metrics")]
                archive.store.close()  # the database goes away under the bot
                answers.append(await client.get("/healthz"))
                answers.append(await client.get("/telegram"))  # polling: no webhook route
        finally:
            await server.stop()
            application.bot_data.executor.shutdown()
            application.bot_data.fetcher.close()
        return [(a.status_code, a.text) for a in answers]

    healthy, metrics, broken, webhook = asyncio.run(probe())

    assert healthy[0] == 200 and json.loads(healthy[1])["ok"] is True
    assert metrics[0] == 200 and "# TYPE newsbot_questions_total counter" in metrics[1]
    assert broken[0] == 503
    assert json.loads(broken[1])["reason"].startswith("archive: ProgrammingError")
    assert webhook[0] == 404


@pytest.mark.parametrize(
    "env",
    [
        {"NEWSBOT_WEBHOOK_URL": "http://example.com/telegram"},
        {"NEWSBOT_WEBHOOK_URL": "https://bot.example.com/telegram"},  # no listen, no secret
        {"NEWSBOT_WEBHOOK_LISTEN": "0.0.0.0"},
        {"NEWSBOT_METRICS_LISTEN": "localhost:http"},
        {
            "NEWSBOT_WEBHOOK_URL": "https://bot.example.com/telegram",
            "NEWSBOT_WEBHOOK_LISTEN": "0.0.0.0:8080",
            "NEWSBOT_WEBHOOK_SECRET": "has spaces",
        },
    ],
)
def test_bad_webhook_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, **env)  # type: ignore[arg-type]


def test_complete_webhook_settings_hide_the_secret() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        NEWSBOT_WEBHOOK_URL="https://bot.example.com/telegram",
        NEWSBOT_WEBHOOK_LISTEN="0.0.0.0:8080",
        NEWSBOT_WEBHOOK_SECRET="s3cret_-",
    )

    assert "s3cret" not in repr(settings)
    assert settings.webhook_secret is not None


def test_model_fallback_reasons_fall_into_a_few_labels() -> None:
    reasons = [
        "every model slot is busy",
        "the model did not answer in time",
        "no written sentence is supported",
        "HTTP 500 from the model server",
    ]

    assert [fallback_reason(r) for r in reasons] == ["busy", "timeout", "unsupported", "failed"]


def test_the_fake_refuses_getupdates_while_a_webhook_is_set() -> None:
    with FakeTelegram() as fake:
        base = f"{fake.api_url}{fake.token}"
        set_plain = httpx.post(f"{base}/setWebhook", data={"url": "http://example.com/hook"})
        httpx.post(f"{base}/setWebhook", data={"url": "http://127.0.0.1:9/hook"})
        conflict = httpx.post(f"{base}/getUpdates", data={"timeout": "0"})
        fake.send("hello", 1)
        deleted = httpx.post(f"{base}/deleteWebhook")
        updates = httpx.post(f"{base}/getUpdates", data={"timeout": "0"}).json()["result"]

    assert set_plain.status_code == 400
    assert conflict.status_code == 409
    assert deleted.json()["result"] is True
    assert [u["message"]["text"] for u in updates] == ["hello"]
