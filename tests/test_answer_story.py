"""One story per answer, the latest occurrence, answers in other words: hand-made articles."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from index.archive import Archive
from index.embed.factory import TextEmbedder
from index.records import Answer, Article, ArticleDraft, Chunk, Hit
from index.search.answer import compose_answer
from index.search.sentences import Weights
from index.settings import Settings

ARTICLES = [
    ArticleDraft(
        title="Glenmoor Marathon 2025 results",
        text="The 2025 Glenmoor Marathon was won by Ada Brennick in two hours and nine minutes. "
        "About 9,000 runners crossed the finish line in the harbour district. "
        "Rain slowed the second half of the course through the old town.",
        published=date(2025, 4, 13),
    ),
    ArticleDraft(
        title="Glenmoor Marathon 2026 results",
        text="The 2026 Glenmoor Marathon was won by Tomas Ekwueme in two hours and seven minutes. "
        "About 10,000 runners crossed the finish line in the harbour district. "
        "Sunshine and a cool wind made for fast times on the new course.",
        published=date(2026, 4, 12),
    ),
    ArticleDraft(
        title="Burger chain brings back its Monopoly game",
        text="The burger chain Crownburger is bringing back its Monopoly game after ten years. "
        "Customers peel game pieces from drinks and fries to win prizes and free meals. "
        "The promotion starts on Tuesday in every one of its restaurants.",
        published=date(2025, 10, 1),
    ),
    ArticleDraft(
        title="Fast-food wages in Calvera",
        text="Fast-food chains in Calvera raised their prices after the state's wage rise. "
        "Workers at burger and chicken chains now earn at least 20 dollars an hour. "
        "Some restaurants cut staff hours, an industry survey found.",
        published=date(2025, 9, 30),
    ),
    ArticleDraft(
        title="Council and the hospital",
        text="The Dunmere city council met on Monday to vote on the hospital budget. "
        "Councillors granted Dunmere General 4 million dollars for a new children's wing. "
        "Building work is due to start in the spring.",
        published=date(2025, 11, 3),
    ),
]


@pytest.fixture(scope="module")
def stories(tmp_path_factory: pytest.TempPathFactory, embedder: TextEmbedder) -> Iterator[Archive]:
    """An archive of the hand-made articles."""
    path: Path = tmp_path_factory.mktemp("stories")
    archive = Archive(Settings(_env_file=None, data_dir=path), embedder=embedder)  # type: ignore[call-arg]
    archive.add_drafts(ARTICLES)
    yield archive
    archive.close()


def _said(answer: Answer) -> str:
    return " ".join(sentence.text for sentence in answer.sentences)


def test_the_latest_occurrence_before_the_asking_date_answers(stories: Archive) -> None:
    latest = stories.ask("Who won the Glenmoor Marathon?", now=date(2026, 4, 14))
    a_year_before = stories.ask("Who won the Glenmoor Marathon?", now=date(2025, 4, 15))

    assert "Tomas Ekwueme" in _said(latest) and "Ada Brennick" not in _said(latest)
    # A year earlier the 2026 race had not been run: its article is left out altogether.
    assert "Ada Brennick" in _said(a_year_before)
    assert all(c.published != date(2026, 4, 12) for c in a_year_before.citations)


def test_a_question_naming_a_time_gets_that_occurrence(stories: Archive) -> None:
    answer = stories.ask("Who won the Glenmoor Marathon in 2025?", now=date(2026, 4, 14))

    assert "Ada Brennick" in _said(answer) and "Tomas Ekwueme" not in _said(answer)


def test_a_related_story_stays_in_the_sources_not_in_the_answer(stories: Archive) -> None:
    question, now = "Which fast-food chain is bringing back Monopoly?", date(2025, 10, 2)
    # Both fast-food stories as the sources, whether or not the model's relevance floor keeps
    # the wages one (e5 puts it below the floor, MiniLM above).
    hits = stories.rank(question, now=now, floor=False).hits[:2]
    answer = stories.retriever.compose(question, list(hits), now)

    first = {c.n: c.title for c in answer.citations}
    assert "Crownburger" in answer.sentences[0].text
    assert {first[s.n] for s in answer.sentences} == {ARTICLES[2].title}
    assert ARTICLES[3].title in first.values()
    assert "wage" not in _said(answer)


def test_an_answer_stated_in_other_words_than_the_question(stories: Archive) -> None:
    answer = stories.ask("How much money did the council give the hospital?", now=date(2025, 11, 4))

    assert answer.sentences[0].text.startswith("Councillors granted Dunmere General 4 million")


def test_a_pronoun_after_a_dateline_opens_the_story() -> None:
    text = (
        "Updated May 19, 2026, 8:28 p.m.\n"
        "It was a long time coming, but Harlow Rovers are league champions at last. "
        "The club last won the title 22 years ago, in a season of record crowds."
    )

    answer = compose_answer("Which team won the league?", [_hit(1, 1.0, text)], 3)

    assert answer.sentences[0].text.startswith("It was a long time coming, but Harlow Rovers")
    assert not any("Updated" in sentence.text for sentence in answer.sentences)


def _hit(article_id: int, score: float, text: str, ordinal: int = 0) -> Hit:
    article = Article(article_id, f"Story {article_id}", None, None, date(2025, 5, 1))
    return Hit(Chunk(article_id, article_id, ordinal, text), article, score)


def test_another_story_joins_only_with_the_kind_of_thing_asked() -> None:
    lantern = _hit(
        1,
        1.0,
        "The Vell lantern festival drew large crowds of visitors to the river on Saturday night. "
        "The Vell lantern festival closed with fireworks over the old stone bridge.",
    )
    # Weaker passages deep in other stories: the lantern story answers first.
    counted = _hit(2, 0.0, "Organisers counted 12,000 visitors at the Vell lantern festival.", 3)
    weather = _hit(3, 0.0, "Clear skies brought festival visitors out across the Vell valley.", 3)
    question = "How many visitors came to the Vell lantern festival?"

    with_count = compose_answer(question, [lantern, counted], 3, now=date(2025, 5, 2))
    without = compose_answer(question, [lantern, weather], 3, now=date(2025, 5, 2))

    assert with_count.sentences[-1].text == (
        "Another report: Organisers counted 12,000 visitors at the Vell lantern festival."
    )
    assert with_count.sentences[-1].n != with_count.sentences[0].n
    assert not any("Another report" in s.text for s in without.sentences)
    assert {s.n for s in without.sentences} == {1}


def test_the_older_occurrence_loses_even_when_retrieval_ranks_it_first() -> None:
    older = Hit(
        Chunk(1, 1, 0, ARTICLES[0].text),
        Article(1, ARTICLES[0].title, None, None, ARTICLES[0].published),
        1.0,
    )
    latest = Hit(
        Chunk(2, 2, 0, ARTICLES[1].text),
        Article(2, ARTICLES[1].title, None, None, ARTICLES[1].published),
        0.9,
    )
    now = date(2026, 4, 14)

    answer = compose_answer("Who won the Glenmoor Marathon?", [older, latest], 3, now=now)
    named = compose_answer("Who won the Glenmoor Marathon in 2025?", [older, latest], 3, now=now)

    assert "Tomas Ekwueme" in _said(answer) and "Ada Brennick" not in _said(answer)
    assert "Ada Brennick" in _said(named)


def test_a_story_nearly_as_good_joins_as_another_report() -> None:
    # Two equally strong stories, each naming a different port: too close to call.
    first = _hit(1, 1.0, "The ferry company Norvik Lines moved its base to the port of Askel.")
    said = "Norvik Lines will run its ferries from the port of Brenna on the east coast in June."
    rival, weak = _hit(2, 1.0, said), _hit(2, 0.2, said)
    question = "Which port will Norvik Lines ferries sail from?"

    close = compose_answer(question, [first, rival], 3, now=date(2025, 5, 2))
    apart = compose_answer(question, [first, weak], 3, now=date(2025, 5, 2))

    assert any(s.text.startswith("Another report: ") for s in close.sentences)
    assert {s.n for s in close.sentences} == {1, 2}
    assert {s.n for s in apart.sentences} == {1}


def test_a_sentence_as_strong_but_off_the_question_is_no_other_report() -> None:
    question = "Which two teams played in this year's Harbour Cup final?"
    final = "The Askel Gulls and the Brenna Foxes played in the Harbour Cup final on Saturday."
    # As strong a passage, names and news, but it shares only "teams" with the question.
    charity = "Teams from Dunmere, the Rovers and the Wanderers, met in a charity match on Sunday."
    hits = [_hit(1, 1.0, final), _hit(2, 1.0, charity)]

    answer = compose_answer(question, hits, 3, now=date(2025, 5, 2))
    unanchored = compose_answer(question, hits, 3, tuning=Weights(anchor=0.0), now=date(2025, 5, 2))

    assert [s.text for s in answer.sentences] == [final]
    assert unanchored.sentences[-1].text == f"Another report: {charity}"


def test_the_lead_in_of_a_question_does_not_choose_the_answer() -> None:
    question = (
        "You could beat the heat in a cool movie theater. "
        "Which film was the first summer blockbuster?"
    )
    passage = _hit(
        1,
        1.0,
        "The Orpheum movie theater opened its cool hall to beat the summer heat on Friday. "
        "Jaws, released by Universal in 1975, is considered the first summer blockbuster.",
    )

    answer = compose_answer(question, [passage], 1, now=date(2025, 5, 2))
    evenly = compose_answer(
        question, [passage], 1, tuning=Weights(lead_in=1.0), now=date(2025, 5, 2)
    )

    assert answer.sentences[0].text.startswith("Jaws, released by Universal in 1975")
    assert evenly.sentences[0].text.startswith("The Orpheum movie theater")
