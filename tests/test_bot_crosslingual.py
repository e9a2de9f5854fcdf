"""Through the fake Bot API: a Ukrainian or Russian question gets the English question's
sentences of the English seed article, chosen by meaning (issue #22, point 6)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from conftest import SEED_QUESTION, SEED_TITLE
from test_bot_language import World, running_bot

from index.embed.factory import TextEmbedder

users = itertools.count(8000)


def _answer(reply: str) -> str:
    """The reply's answer paragraph, before its list of sources."""
    return reply.split("\n\n[1] ")[0]


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory, embedder: TextEmbedder) -> Iterator[World]:
    """The bot over the (English) seeds on the default model (multilingual-e5-small)."""
    data_dir = tmp_path_factory.mktemp("crosslingual") / "data"
    with running_bot(data_dir, embedder) as world:
        yield world


@pytest.mark.parametrize(
    ("question", "language"),
    [("Що США запропонували Україні?", "uk"), ("Что США предложили Украине?", "ru")],
)
def test_a_question_in_ukrainian_or_russian_gets_the_english_answer_sentences(
    seeds: World, question: str, language: str
) -> None:
    english = _answer(seeds.say(SEED_QUESTION, next(users), "en"))
    replied = seeds.say(question, next(users), language)
    reply = _answer(replied)

    assert f"[1] {SEED_TITLE}" in replied
    # The English answer's sentences (readiness, intelligence and battlefield, the air
    # defence shield), cited alike, not the words-only choice ("Ukraine demands security
    # guarantees …").
    assert "intelligence" in english and "air defense shield" in english
    assert reply == english


def test_an_unrelated_ukrainian_question_still_finds_nothing(seeds: World) -> None:
    # The lower floor across languages does not let an unrelated question through.
    reply = seeds.say("Скільки ніг у павука?", next(users), "uk")

    assert reply.startswith("В архіві немає нічого про")
