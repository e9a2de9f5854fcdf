"""The bot speaks the user's language: Telegram's language_code, /language per chat, kept."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import SEED_QUESTION, SEED_TITLE
from test_languages import e5

from bot.app import HANDLER_MODULES, build_application
from index.archive import Archive
from index.embed.factory import TextEmbedder
from index.embed.sbert import Embedder
from index.settings import Settings
from testkit.running import RunningBot
from testkit.telegram import FakeTelegram

users = itertools.count(7000)
__all__ = ["e5"]  # the session fixture, shared with test_languages
NOTHING = "Llama yodelling championship results in Patagonia"


@dataclass
class World:
    """The fake server, the archive and the bot polling it."""

    fake: FakeTelegram
    settings: Settings
    archive: Archive
    running: RunningBot

    def restart(self) -> None:
        """A new Application over the same archive, as after a deploy."""
        self.running.__exit__(None, None, None)
        self.running = RunningBot(build_application(self.settings, self.archive, HANDLER_MODULES))
        self.running.__enter__()

    def say(self, text: str, user: int, language_code: str | None = None) -> str:
        """A user writes in a private chat; the text of the bot's one reply."""
        sent = self.fake.send(text, user, language_code=language_code)
        (reply,) = self.fake.replies(sent)
        return reply.text


@contextmanager
def running_bot(data_dir: Path, embedder: TextEmbedder, **settings: object) -> Iterator[World]:
    """The seeded archive in `data_dir` and the bot with every handler module, polling."""
    with FakeTelegram() as fake:
        configured = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=data_dir,
            telegram_api_url=fake.api_url,
            telegram_file_url=fake.file_url,
            telegram_bot_token=fake.token,
            **settings,
        )
        archive = Archive(configured, embedder=embedder)
        archive.seed()
        running = RunningBot(build_application(configured, archive, HANDLER_MODULES))
        world = World(fake, configured, archive, running.__enter__())
        yield world
        world.running.__exit__(None, None, None)
        archive.close()
        assert fake.rejected == []


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[World]:
    """The seeded archive and the bot with every handler module."""
    data_dir = tmp_path_factory.mktemp("language") / "data"
    with running_bot(data_dir, embedder, questions_per_minute=30) as world:
        yield world


def test_the_bot_answers_in_the_language_of_the_users_telegram(world: World) -> None:
    ukrainian, russian, english, other = next(users), next(users), next(users), next(users)

    assert world.say("/start", ukrainian, "uk").startswith("Привіт, Ann!")
    assert world.say("/start", russian, "ru").startswith("Привет, Ann!")
    assert world.say("/start", english, "en-GB").startswith("Hello, Ann!")
    assert world.say("/start", other, "de").startswith("Hello, Ann!")  # not ours: English
    assert "В архіві немає нічого про" in world.say(NOTHING, ukrainian, "uk")
    assert "В архиве нет ничего о" in world.say(NOTHING, russian, "ru")
    # The archive's own sentences and the citations keep the article's language.
    answer = world.say(SEED_QUESTION, ukrainian, "uk")
    assert SEED_TITLE in answer and "intelligence" in answer.lower()


def test_language_command_switches_the_chat_and_is_kept_across_restarts(world: World) -> None:
    user = next(users)
    assert "/language uk" in world.say("/language", user, "en")
    assert world.say("/language ru", user, "en") == "Я буду говорить по-русски в этом чате."
    assert world.say("/start", user, "en").startswith("Привет")
    assert world.archive.chat_language(user) == ("ru", True)

    world.restart()

    assert "В архиве нет ничего о" in world.say(NOTHING, user, "uk")  # the choice wins
    assert world.say("/language en", user, "ru") == "I will speak English in this chat."
    assert world.say("/start", user, "uk").startswith("Hello")


def test_a_chat_remembers_the_first_language_seen_for_alerts_and_digests(world: World) -> None:
    user = next(users)
    world.say("/help", user, "uk")
    world.say("/help", user, "ru")  # a seen language never replaces the first one
    assert world.archive.chat_language(user) == ("uk", False)


@pytest.fixture(scope="module")
def multilingual(tmp_path_factory: pytest.TempPathFactory, e5: TextEmbedder) -> Iterator[World]:
    """The bot over an archive of the (English) seeds embedded with multilingual-e5-small."""
    data_dir = tmp_path_factory.mktemp("multilingual") / "data"
    with running_bot(data_dir, e5, embedding_model="multilingual-e5-small") as world:
        yield world


def test_a_ukrainian_user_asking_in_ukrainian_gets_the_seed_answer(multilingual: World) -> None:
    user = next(users)
    question = multilingual.fake.send("Що США запропонували Україні?", user, language_code="uk")
    (reply,) = multilingual.fake.replies(question)

    # The English article answers the Ukrainian question, cited in its own language. (The
    # composer picks sentences by shared words, so it does not yet pick the same three
    # sentences as for the English question: issue #22 keeps that open.)
    assert f"[1] {SEED_TITLE}" in reply.text and "intelligence" in reply.text
    nothing = multilingual.say("Хто виграв чемпіонат з йодлю серед лам?", user, "uk")
    assert nothing.startswith("В архіві немає нічого про")
