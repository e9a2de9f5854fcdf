"""Written answers in Telegram: the reply grows by checked sentences, then gets its sources."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from conftest import SEED_QUESTION, SEED_TITLE
from fake_openai import FakeOpenAIServer
from test_bot import bot_settings, users

from bot.app import build_application
from index.archive import Archive
from index.embed.factory import TextEmbedder
from testkit.running import RunningBot
from testkit.telegram import FakeTelegram

WRITTEN = (
    "The USA signaled its readiness to support a European coalition for the defense of "
    "Ukraine [1]. The coalition will be led by Canada [9]. The USA is ready to provide "
    "intelligence means to a Western defense force in post-war Ukraine [1]. European leaders "
    "met Donald Trump at the White House on August 18 to discuss security guarantees for "
    "Ukraine [2]."
)


@dataclass
class World:
    """Telegram, the model and the bot."""

    fake: FakeTelegram
    model: FakeOpenAIServer


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, embedder: TextEmbedder) -> Iterator[World]:
    """A bot with written answers from the fake model."""
    with FakeTelegram() as fake, FakeOpenAIServer() as model:
        settings = bot_settings(
            fake,
            tmp_path_factory.mktemp("written") / "data",
            llm_base_url=model.base_url,
            llm_model="fake",
            llm_timeout_seconds=10.0,
            questions_per_minute=20,
        )
        archive = Archive(settings, embedder=embedder)
        archive.seed()
        with RunningBot(build_application(settings, archive)):
            yield World(fake, model)
        archive.close()


def test_reply_grows_by_checked_sentences_then_gets_sources(world: World) -> None:
    fake, model = world.fake, world.model
    model.script.reply, model.script.failure, model.script.piece_delay = WRITTEN, "", 0.08
    question = fake.send(SEED_QUESTION, next(users))
    start = time.monotonic()

    fake.wait(lambda: any(s.buttons for s in fake.replies_now(question)))
    elapsed = time.monotonic() - start
    steps = fake.replies_now(question)
    for step in steps:
        print(f"--- {'final' if step.buttons else 'step'}:\n{step.text}")

    assert len(steps) >= 3, "the reply should grow in several edits"
    assert len({s.message["message_id"] for s in steps}) == 1
    assert steps[0].text.startswith("The USA signaled its readiness") and "[2]" not in steps[0].text
    assert all("Canada" not in s.text and "[9]" not in s.text for s in steps)
    assert len(steps) - 1 <= elapsed + 1  # at most about one edit a second
    final = steps[-1]
    assert "guarantees for Ukraine. [2]" in final.text and SEED_TITLE in final.text
    assert [label for label, _ in final.buttons] == ["📄 1", "📄 2"]
    assert fake.rejected == []


def test_model_failure_sends_the_extractive_answer(world: World) -> None:
    fake, model = world.fake, world.model
    model.script.failure = "500"
    question = fake.send(SEED_QUESTION, next(users))

    (reply,) = fake.replies(question)

    assert SEED_TITLE in reply.text and "intelligence" in reply.text.lower()
    assert reply.buttons and fake.rejected == []


def test_telegrams_faults_under_a_written_answer_are_retried_as_for_any_answer(
    world: World,
) -> None:
    fake, model = world.fake, world.model
    model.script.reply, model.script.failure, model.script.piece_delay = WRITTEN, "", 0.08
    user = next(users)
    fake.fail_next("sendMessage", user, 502, "Bad Gateway")
    fake.fail_next("editMessageText", user, 500, "Internal Server Error")
    question = fake.send(SEED_QUESTION, user)

    fake.wait(lambda: any(s.buttons for s in fake.replies_now(question)))
    final = fake.replies_now(question)[-1]
    tries = [m for m, p in fake.calls if m == "sendMessage" and p.get("chat_id") == user]

    assert "guarantees for Ukraine. [2]" in final.text  # the written answer, not the fallback
    assert len(tries) == 2  # the refused first send, then the one that arrived
