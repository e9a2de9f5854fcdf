"""Sentences chosen by meaning across languages, and the rules' Russian question words:
hand-made articles in an archive on the default model (multilingual-e5-small)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from index.archive import Archive
from index.embed.factory import TextEmbedder
from index.records import ArticleDraft
from index.search.meaning import script
from index.settings import Settings

NOW = date(2025, 6, 18)
LIBRARY = ArticleDraft(
    title="Port Alden turns an old ferry into a library",
    text="Port Alden opened a floating library on an old ferry on Saturday, the city council "
    "said. The ferry was built in 1962 and carried cars across the bay for forty years. "
    "Readers may borrow any of the 12,000 books aboard and return them at every branch in "
    "the city. The council hopes to moor a second ferry in the northern harbour next year.",
    published=date(2025, 6, 14),
)
BRIDGE = ArticleDraft(
    title="У Вінниці відкрили пішохідний міст через Південний Буг",
    text="У суботу на набережній Південного Бугу відбулося свято, на яке прийшли 5 тисяч "
    "городян. Міська рада відкрила для них новий пішохідний міст у центрі Вінниці. "
    "Новий міст коштував місту 85 мільйонів гривень. "
    "Щодня ним зможуть переходити до двадцяти тисяч людей.",
    published=date(2025, 6, 16),
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, embedder: TextEmbedder) -> Path:
    """An archive of the two articles, one English and one Ukrainian."""
    folder = tmp_path_factory.mktemp("meaning") / "data"
    with Archive(_settings(folder, "across"), embedder=embedder) as archive:
        archive.add_drafts([LIBRARY, BRIDGE])
    return folder


def _settings(folder: Path, meaning: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=folder,
        answer_meaning=meaning,
        answer_sentences=1,  # the one best sentence, so the test sees which one wins
    )


@pytest.fixture
def ask(data_dir: Path, embedder: TextEmbedder) -> Callable[..., str]:
    """Ask the archive with sentences read by meaning ('across') or by words only ('off')."""

    def asked(question: str, meaning: str = "across") -> str:
        with Archive(_settings(data_dir, meaning), embedder=embedder) as archive:
            answer = archive.ask(question, now=NOW)
        return " ".join(sentence.text for sentence in answer.sentences)

    return asked


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        # A Ukrainian question about an English article: no word in common.
        ("Скільки книжок можна позичити в плавучій бібліотеці Порт-Олдена?", "12,000 books"),
        # A Russian question about a Ukrainian article: one script, other words (мост, міст).
        ("Во сколько обошёлся новый мост в Виннице?", "85 мільйонів"),
        # The reverse: an English question about the Ukrainian article.
        ("How much did the bridge in Vinnytsia cost?", "85 мільйонів"),
    ],
)
def test_the_answering_sentence_is_found_by_meaning_across_languages(
    ask: Callable[..., str], question: str, answer: str
) -> None:
    assert answer in ask(question)
    # By words alone the lead sentence (a number, near the start) wins instead.
    assert answer not in ask(question, "off")


def test_an_english_question_over_an_english_article_needs_no_meaning(
    ask: Callable[..., str],
) -> None:
    question = "How many books can readers borrow from the floating library in Port Alden?"

    assert "12,000 books" in ask(question, "off")


def test_an_answer_in_other_words_is_found_when_meaning_is_always_read(
    ask: Callable[..., str],
) -> None:
    # "volumes ... take home" is "books ... borrow": English over English reads words only by
    # default (meaning measured no gain there), and NEWSBOT_ANSWER_MEANING=always reads both.
    question = "How many volumes can visitors take home from the ferry library?"

    assert "12,000 books" in ask(question, "always")
    assert "12,000 books" not in ask(question, "across")


def test_scripts_tell_when_words_cannot_match() -> None:
    assert script("Що США запропонували Україні?") == "cyrillic"
    assert script("What did the US offer Ukraine?") == "latin"
    assert script("🙂 2025") == ""
