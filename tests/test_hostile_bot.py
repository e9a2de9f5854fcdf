"""Hostile messages to the real bot, through the fake Bot API server; table-driven.

Each case ends in a clear reply, Telegram accepts everything the bot sends, and the archive
is unchanged and consistent. (The CLI and fetcher cases are in test_hostile.py.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from conftest import SEED_QUESTION, SEED_TITLE
from test_bot_admin import AdminTelegram

from bot.app import build_application
from index.archive import Archive
from index.check import check
from index.embed.sbert import Embedder
from index.settings import Settings
from testkit.running import RunningBot

ADMIN_ID = 777
CITED = SEED_TITLE[:30]


@dataclass
class BotWorld:
    """The fake Telegram and the running bot over a seeded archive; no private URLs."""

    fake: AdminTelegram
    archive: Archive

    def say(self, text: str, user_id: int = 9001) -> str:
        """A user writes in a private chat; the text of the bot's last reply."""
        return self.fake.replies(self.fake.send(text, user_id))[-1].text


@pytest.fixture(scope="module")
def bot_world(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[BotWorld]:
    """One bot for the module's cases."""
    with AdminTelegram() as fake:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path_factory.mktemp("hostile-bot") / "data",
            telegram_bot_token=fake.token,
            telegram_api_url=fake.api_url,
            telegram_file_url=fake.file_url,
            admin_ids=frozenset({ADMIN_ID}),
            questions_per_minute=10_000,
        )
        archive = Archive(settings, embedder=embedder)
        archive.seed()
        with RunningBot(build_application(settings, archive)):
            yield BotWorld(fake, archive)
        archive.close()


def _upload(name: str, data: bytes, user: int) -> Callable[[BotWorld], str]:
    def send(world: BotWorld) -> str:
        message = world.fake.send_document(name, data, user)
        return world.fake.replies(message)[-1].text

    return send


def _forge(data: str, user: int = 9002) -> Callable[[BotWorld], str]:
    """A user presses a button with made-up callback data under one of the bot's messages."""

    def press(world: BotWorld) -> str:
        message = world.fake.send("/start", user)
        sent = world.fake.replies(message)[-1]
        before = len(world.fake.callback_answers)
        world.fake.press(sent, data, user)
        world.fake.wait(lambda: len(world.fake.callback_answers) > before)
        return str(world.fake.callback_answers[before].get("text", ""))

    return press


def _say(text: str, user: int = 9001) -> Callable[[BotWorld], str]:
    return lambda world: world.say(text, user)


BOT_CASES: list[tuple[str, Callable[[BotWorld], str], str]] = [
    ("HTML injection", _say("<b>x</b><a href='javascript:alert(1)'>y</a> " + SEED_QUESTION), CITED),
    ("entity injection", _say("&lt;i&gt; &amp;amp; &#0; &#x110000; " + SEED_QUESTION), CITED),
    ("5,000 arguments", _say("/ask " + " ".join(SEED_QUESTION.split() * 1000)), CITED),
    ("control characters only", _say("\x01\x02\x03 \u200b\u202e"), "Ask a question in words"),
    ("an empty /ask", _say("/ask"), "Ask like this"),
    ("4,000 emoji", _say("🦆" * 4000), "The archive has nothing on"),
    ("a non-admin /addsource", _say("/addsource http://example.org/feed"), "only the bot's"),
    ("a non-admin /removesource", _say("/removesource 1"), "only the bot's admins"),
    ("/removesource x 5,000", _say("/removesource " + "x " * 5000, ADMIN_ID), "removesource"),
    ("/addsource javascript:", _say("/addsource javascript:alert(1)", ADMIN_ID), "Only http"),
    ("/addsource loopback", _say("/addsource http://127.0.0.1:9/", ADMIN_ID), "non-public"),
    ("/addsource [::1]", _say("/addsource http://[::1]:9/feed", ADMIN_ID), "non-public"),
    ("upload ../../etc/passwd", _upload("../../etc/passwd", b"root:x:0:0\n", ADMIN_ID), "passwd"),
    ("upload binary .txt", _upload("notes.txt", bytes(range(256)) * 4, ADMIN_ID), "binary"),
    ("upload broken JSONL", _upload("a.jsonl", b'{"x\n{"title": 1}\n', ADMIN_ID), "Could not"),
    ("upload by a non-admin", _upload("news.txt", b"Title\n\nSome text.", 9003), "only the bot's"),
    ("forged remove button", _forge("src:remove:1"), "only the bot's admins"),
    ("forged passage button", _forge("passage:999999999999999999"), "no longer"),
    ("forged 20-digit button", _forge("passage:99999999999999999999"), "expired"),
    ("forged negative button", _forge("more:-5"), "expired"),
    ("forged junk button", _forge("\x00' OR 1=1 --"), "expired"),
]


@pytest.mark.parametrize(("name", "act", "said"), BOT_CASES, ids=[c[0] for c in BOT_CASES])
def test_hostile_messages(
    name: str, act: Callable[[BotWorld], str], said: str, bot_world: BotWorld
) -> None:
    before = bot_world.archive.counts()

    reply = act(bot_world)

    assert said in reply, reply
    assert bot_world.fake.rejected == []  # Telegram accepted every message the bot sent
    assert bot_world.archive.counts() == before
    assert check(bot_world.archive).ok
