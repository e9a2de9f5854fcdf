"""Faults on the bot's side: Telegram answering 429, 5xx, garbage or nothing, refusing HTML or
length, a blocked chat, getUpdates down for a while; and a full disk under a running bot.

Each test says what the user sees: the answer arrives once (or the failure is logged with its
chat), and nothing the archive had committed is lost.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SEED_QUESTION, SEED_TITLE
from disks import fill, small_disk
from test_bot_admin import ADMIN_ID, AdminTelegram, admin_settings
from test_faults_disk import seeded

from bot.app import build_application
from index.archive import Archive
from index.embed.sbert import Embedder
from index.settings import Settings
from testkit.running import RunningBot
from testkit.stories import story
from testkit.telegram import FakeTelegram, Json, Sent

users = itertools.count(7000)


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[FakeTelegram]:
    """One bot over the samples, polling a fake Bot API, for the module."""
    with FakeTelegram() as server:
        data = tmp_path_factory.mktemp("faults") / "data"
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=data,
            telegram_bot_token=server.token,
            telegram_api_url=server.api_url,
        )
        archive = Archive(settings, embedder=embedder)
        archive.seed()
        with RunningBot(build_application(settings, archive)):
            yield server
        archive.close()


def answers(fake: FakeTelegram, asked: Json, settle: float = 0.5) -> list[Sent]:
    """The bot's replies to `asked` citing the sample, once one came and a moment passed."""
    fake.replies(asked)
    time.sleep(settle)  # a second copy would come now
    return [s for s in fake.replies_now(asked) if SEED_TITLE in s.text]


def sends_to(fake: FakeTelegram, chat_id: int) -> int:
    """How many times the bot called sendMessage for a chat (failed calls included)."""
    return sum(1 for m, p in fake.calls if m == "sendMessage" and p.get("chat_id") == chat_id)


def test_429_then_500_is_answered_once(fake: FakeTelegram) -> None:
    user = next(users)
    fake.fail_next("sendMessage", user, 429, "Too Many Requests: retry after 1", retry_after=1)
    fake.fail_next("sendMessage", user, 500, "Internal Server Error")
    assert len(answers(fake, fake.send(SEED_QUESTION, user))) == 1
    assert sends_to(fake, user) == 3


def test_garbage_and_a_dropped_connection_are_retried(fake: FakeTelegram) -> None:
    user = next(users)
    fake.fail_next("sendMessage", user, answer="garbage")
    fake.fail_next("sendMessage", user, answer="drop")
    fake.fail_next("sendMessage", user, 502, "Bad Gateway")
    assert len(answers(fake, fake.send(SEED_QUESTION, user))) == 1
    assert sends_to(fake, user) == 4


def test_html_telegram_cannot_parse_goes_as_plain_text(fake: FakeTelegram) -> None:
    user = next(users)
    fake.fail_next("sendMessage", user, 400, "Bad Request: can't parse entities: Unsupported tag")
    [answer] = answers(fake, fake.send(SEED_QUESTION, user))
    assert answer.params.get("parse_mode") is None and "<b>" not in answer.html


def test_a_message_too_long_goes_in_parts(fake: FakeTelegram) -> None:
    user = next(users)
    fake.fail_next("sendMessage", user, 400, "Bad Request: message is too long")
    asked = fake.send(SEED_QUESTION, user)
    fake.replies(asked)
    time.sleep(0.5)
    parts = fake.replies_now(asked)
    assert len(parts) >= 2 and SEED_TITLE in "".join(p.text for p in parts)


def test_a_blocked_chat_is_logged_not_retried(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    user = next(users)
    fake.blocked.add(user)
    fake.send(SEED_QUESTION, user)
    fake.wait(lambda: sends_to(fake, user) == 1)
    time.sleep(1.0)
    assert sends_to(fake, user) == 1
    assert any(f"Chat {user}: not sent, the bot is blocked" in r.message for r in caplog.records)


def test_an_answer_that_cannot_be_delivered_is_logged_with_its_chat(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    user = next(users)
    fake.fail_next("sendMessage", user, 500, "Internal Server Error", times=5)
    fake.send(SEED_QUESTION, user)
    wanted = f"Chat {user}: a message could not be delivered after 5 tries"
    deadline = time.monotonic() + 30
    while not any(wanted in r.message for r in caplog.records) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert any(wanted in r.message for r in caplog.records)
    assert sends_to(fake, user) == 5 and not fake.in_chat(user)


def test_polling_resumes_after_get_updates_fails_for_a_while(fake: FakeTelegram) -> None:
    user = next(users)
    fake.fail_next("getUpdates", answer="garbage")
    fake.outage("getUpdates", 3.0)
    asked = fake.send(SEED_QUESTION, user)  # while Telegram is down
    assert len(answers(fake, asked, settle=1.0)) == 1
    later = fake.send(SEED_QUESTION, user)
    assert len(answers(fake, later)) == 1 and len(answers(fake, asked, settle=0)) == 1


def test_a_full_disk_under_a_running_bot(tmp_path: Path, embedder: Embedder) -> None:
    records = [json.dumps({"title": s.title, "text": s.text}) for s in map(story, range(40))]
    upload = "\n".join(records).encode()
    with small_disk(tmp_path / "disk") as disk, AdminTelegram() as fake:
        seeded(disk / "data", embedder)
        settings = admin_settings(fake, disk)  # its data dir: disk / "data"
        archive = Archive(settings, embedder=embedder)
        with RunningBot(build_application(settings, archive)):
            filler = fill(disk, leave=120_000)
            said = fake.replies(fake.send_document("news.jsonl", upload, ADMIN_ID))[-1].text
            assert "disk full: " in said and "of 40 articles stored" in said, said
            stored = archive.counts().articles - 1
            assert 0 <= stored < 40

            # Users are answered as before; the admin was told once, not per question.
            asker = next(users)
            assert len(answers(fake, fake.send(SEED_QUESTION, asker))) == 1
            fake.replies(fake.send_document("news.jsonl", upload, ADMIN_ID))
            warned = [s for s in fake.in_chat(ADMIN_ID) if s.text.startswith("⚠️")]
            assert len(warned) == 1 and "imports could not be written: disk full" in warned[0].text
            listed = fake.replies(fake.send("/sources", ADMIN_ID))
            assert any("⚠️ imports could not be written" in s.text for s in listed)

            # Space freed: sending the file again imports the rest, and the admin hears of it.
            filler.unlink()
            said = fake.replies(fake.send_document("news.jsonl", upload, ADMIN_ID))[-1].text
            assert f"{40 - stored} article(s) added" in said, said
            fake.wait(lambda: any(s.text.startswith("✅") for s in fake.in_chat(ADMIN_ID)))
            assert archive.counts().articles == 41
        archive.close()
