"""The pure answer composition: sentences, the short list the model ranks, hits, trims, answers."""

from __future__ import annotations

import pytest

from index.records import Article, Chunk, Hit, Sentence
from index.search.answer import (
    compose_answer,
    select_hits,
    shortlist_sentences,
    split_sentences,
    trim,
)


def test_headings_and_fragments_are_not_sentences() -> None:
    text = "Trump changes course\nHe agreed. The USA offered intelligence to Kyiv."

    assert split_sentences(text) == ["The USA offered intelligence to Kyiv."]


def test_shortlist_keeps_the_sentences_sharing_most_words() -> None:
    candidates = [
        (0, "The weather in the capital was mild all week long."),
        (0, "Officials said the USA may provide intelligence to Ukrainian forces."),
        (1, "Officials said the USA may provide intelligence to Ukrainian forces."),
        (1, "Ukraine asked for air defence systems and intelligence sharing."),
        (2, "A football match ended in a draw on Sunday evening."),
    ]

    short = shortlist_sentences("What intelligence did the USA give Ukraine?", candidates, 2)

    assert short == [
        (0, "Officials said the USA may provide intelligence to Ukrainian forces."),
        (1, "Ukraine asked for air defence systems and intelligence sharing."),
    ]


def test_shortlist_prefers_the_better_passage_on_ties() -> None:
    candidates = [(2, "Nothing in common here at all, really."), (0, "Also nothing shared, truly.")]

    assert shortlist_sentences("volcano eruption", candidates, 1) == [
        (0, "Also nothing shared, truly.")
    ]


def _hit(chunk_id: int, article_id: int, score: float, text: str = "") -> Hit:
    article = Article(article_id, f"Article {article_id}", None, None, None)
    return Hit(Chunk(chunk_id, article_id, 0, text or f"Passage {chunk_id}."), article, score)


@pytest.mark.parametrize(
    ("scores", "top_k", "per_article", "expected"),
    [
        # (chunk id, article id, score) in; chunk ids out, best first
        ([(1, 1, 0.9), (2, 1, 0.8), (3, 2, 0.7)], 3, 1, [1, 3]),
        ([(1, 1, 0.9), (2, 1, 0.8), (3, 1, 0.7), (4, 2, 0.6)], 3, 2, [1, 2, 4]),
        ([(3, 3, 0.2), (1, 1, 0.9), (2, 2, 0.5)], 3, 1, [1, 2, 3]),  # sorted by score
        ([(1, 1, 0.9), (2, 2, 0.8), (3, 3, 0.7)], 2, 1, [1, 2]),  # top_k
        ([], 3, 1, []),
    ],
    ids=["one per article", "two per article", "unsorted", "top k", "none"],
)
def test_select_hits(
    scores: list[tuple[int, int, float]], top_k: int, per_article: int, expected: list[int]
) -> None:
    hits = [_hit(chunk_id, article_id, score) for chunk_id, article_id, score in scores]

    assert [hit.chunk.id for hit in select_hits(hits, top_k, per_article)] == expected


@pytest.mark.parametrize(
    ("text", "limit", "around", "expected"),
    [
        ("a  b\n c", 10, "", "a b c"),  # short: whitespace made single
        ("one two three four five", 12, "", "one two…"),  # cut at a word
        ("one two three four five six", 10, "five", "…five six"),  # centred on `around`
        ("one two three four five six", 9, "three", "…three…"),
        ("abcdefghijklmnop", 5, "", "abcde…"),  # one long word is cut inside
    ],
)
def test_trim(text: str, limit: int, around: str, expected: str) -> None:
    assert trim(text, limit, around) == expected


HITS = [_hit(10, 1, 0.9, "A said it. More text."), _hit(20, 2, 0.8, "B said so. Other text.")]


@pytest.mark.parametrize(
    ("sentences", "max_sentences", "said", "cited"),
    [
        # (hit index, sentence, relevance) in; (sentence, citation number) and cited chunks out
        (
            [(0, "A said it.", 0.5), (1, "B said so.", 0.9)],
            2,
            [("B said so.", 1), ("A said it.", 2)],
            [20, 10],
        ),
        ([(0, "A said it.", 0.9), (1, "B said so.", 0.5)], 1, [("A said it.", 1)], [10, 20]),
        ([(0, "A said it.", 0.9), (1, "a SAID it!", 0.8)], 2, [("A said it.", 1)], [10, 20]),
        ([], 2, [("A said it. More text.", 1)], [10, 20]),  # no sentence: the best passage
    ],
    ids=["by relevance", "max sentences", "duplicates", "fallback"],
)
def test_compose_answer(
    sentences: list[tuple[int, str, float]],
    max_sentences: int,
    said: list[tuple[str, int]],
    cited: list[int],
) -> None:
    answer = compose_answer("q?", HITS, sentences, max_sentences)

    assert answer.found
    assert answer.sentences == tuple(Sentence(text, n) for text, n in said)
    assert [c.chunk_id for c in answer.citations] == cited
    assert [c.n for c in answer.citations] == list(range(1, len(cited) + 1))


def test_compose_answer_without_hits_finds_nothing() -> None:
    answer = compose_answer("q?", [], [(0, "A said it.", 0.9)], 2)

    assert not answer.found and answer.citations == () and answer.sentences == ()
    assert answer.text == "The archive has nothing on that."
