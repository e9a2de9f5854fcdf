"""The bot speaks the user's language: Telegram's language_code, /language per chat, kept."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import SEED_QUESTION, SEED_TITLE
from web_server import SOLAR, TRAINS, Story, WebServer

from bot.app import HANDLER_MODULES, build_application
from index.archive import Archive
from index.embed.factory import TextEmbedder
from index.settings import Settings
from testkit.running import RunningBot
from testkit.telegram import FakeTelegram

users = itertools.count(7000)
ADMIN = 6999
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
def world(tmp_path_factory: pytest.TempPathFactory, embedder: TextEmbedder) -> Iterator[World]:
    """The seeded archive and the bot with every handler module, on the default model."""
    data_dir = tmp_path_factory.mktemp("language") / "data"
    with running_bot(
        data_dir,
        embedder,
        questions_per_minute=30,
        admin_ids=frozenset({ADMIN}),
        allow_private_urls=True,
    ) as world:
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


def test_a_ukrainian_user_asking_in_ukrainian_gets_the_seed_answer(world: World) -> None:
    user = next(users)
    question = world.fake.send("Що США запропонували Україні?", user, language_code="uk")
    (reply,) = world.fake.replies(question)

    # The English article answers the Ukrainian question, cited in its own language. (The
    # composer picks sentences by shared words, so it does not yet pick the same three
    # sentences as for the English question: issue #22 keeps that open.)
    assert f"[1] {SEED_TITLE}" in reply.text and "intelligence" in reply.text
    nothing = world.say("Хто виграв чемпіонат з йодлю серед лам?", user, "uk")
    assert nothing.startswith("В архіві немає нічого про")


LVIV = Story(
    "lviv-bridge",
    "Львівська міська рада затвердила будівництво нового мосту",
    (
        "Львівська міська рада у середу затвердила будівництво нового пішохідного мосту через "
        "залізничні колії на Підзамчі. Міст завдовжки 240 метрів коштуватиме 310 мільйонів "
        "гривень, а роботи мають завершитися до осені 2026 року.",
    ),
)


@contextmanager
def added_from(world: World, story: Story) -> Iterator[str]:
    """An admin adds a feed of the local web carrying `story`; the reply. Removed after."""
    with WebServer() as web:
        web.publish(story)
        yield world.say("/addsource " + web.url("/live.xml"), ADMIN, "en")
        sources = world.running.application.bot_data.sources
        world.say(f"/removesource {sources.list_sources()[-1].id}", ADMIN, "en")


def test_an_english_question_finds_a_story_of_a_ukrainian_feed(world: World) -> None:
    user = next(users)
    with added_from(world, LVIV) as added:
        answer = world.say("How much will the new pedestrian bridge in Lviv cost?", user, "en")

        assert "2 article(s) added" in added  # the feed's first story is an English one
        assert f"[1] {LVIV.title}" in answer and "310" in answer


def alerted(world: World, chat_id: int) -> list[str]:
    """The alert messages a chat got."""
    return [s.text for s in world.fake.in_chat(chat_id) if s.text.startswith("🔔")]


def test_a_topic_subscribed_in_russian_alerts_on_an_english_story(world: World) -> None:
    user = next(users)
    subscribed = world.say("/subscribe ночные поезда в Европе", user, "ru")
    with added_from(world, TRAINS) as added:  # beside the feed's first story, on solar power
        deadline = time.monotonic() + 60
        while not alerted(world, user):
            assert time.monotonic() < deadline, "no alert came"
            time.sleep(0.1)
        time.sleep(1)  # a second message would have come by now
        sent = alerted(world, user)
        assert subscribed.startswith("Подписка оформлена") and "2 article(s) added" in added
        assert len(sent) == 1 and TRAINS.title in sent[0] and SOLAR.title not in sent[0]


@pytest.mark.parametrize(
    ("question", "found"),
    [
        ("chto SSHA predlozhili Ukraine", True),  # transliterated Russian
        ("What США запропонували Україні?", True),  # mixed scripts and languages
        ("Wat heeft de VS Oekraïne aangeboden?", True),  # Dutch
        ("Kto wygrał mistrzostwa świata w jodłowaniu lam?", False),  # Polish, nothing on it
    ],
)
def test_odd_questions_get_an_answer_or_nothing_in_the_users_language(
    world: World, question: str, found: bool
) -> None:
    reply = world.say(question, next(users), "uk")

    assert (f"[1] {SEED_TITLE}" in reply) == found
    assert reply.startswith("В архіві немає нічого про") != found


def test_emoji_questions_get_an_answer_or_nothing_in_the_users_language(world: World) -> None:
    user = next(users)

    assert f"[1] {SEED_TITLE}" in world.say("🇺🇸🤝🇺🇦❓", user, "ru")
    assert world.say("🙂🚀🔥", user, "ru").startswith("В архиве нет ничего о")
    assert world.say("?!", user, "ru").startswith("Задайте вопрос словами")
