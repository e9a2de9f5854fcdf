"""The end-to-end answer figures: contains and the model-free multiple-choice reader."""

from __future__ import annotations

import pytest

from index.search.answer_score import Reading, answer_scores, contains, coverage, multiple_choice

CHOICES = ("Pope Leo XIV", "Dalai Lama", "Archbishop of Canterbury", "Bartholomew I")


@pytest.mark.parametrize(
    ("text", "option", "expected"),
    [
        ("Pope Leo XIV called on governments.", "Pope Leo XIV", True),
        ("POPE LEO, XIV; spoke", "pope leo xiv", True),  # case and punctuation do not count
        ("Pope Leo XIVth spoke", "Pope Leo XIV", False),  # whole words only
        ("Leo spoke", "Pope Leo", False),
        ("Nicolás Maduro", "Nicolas Maduro", True),
        ("anything", "", False),
    ],
)
def test_contains(text: str, option: str, expected: bool) -> None:
    assert contains(text, option) is expected


@pytest.mark.parametrize(
    ("text", "option", "expected"),
    [
        ("Ukrainian forces", "Ukraine", 1.0),  # words cut to five letters
        ("the budget", "Lawmakers unable to reach a federal budget deal", 1 / 6),
        ("a the of", "The", 0.0),  # nothing but stop words
    ],
)
def test_coverage(text: str, option: str, expected: float) -> None:
    assert coverage(text, option) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "correct", "expected"),
    [
        ("Pope Leo XIV urged action.", "Pope Leo XIV", 1.0),
        ("The Dalai Lama was quoted.", "Pope Leo XIV", 0.0),
        ("Nothing relevant here.", "Pope Leo XIV", 0.0),  # no coverage scores 0
        ("Leo and Lama and Bartholomew", "Dalai Lama", 0.0),  # Leo 1/3 < Lama 1/2 = Bart 1/1
        ("Pope Leo met the Dalai Lama", "Dalai Lama", 1.0),  # Lama 2/2 beats Leo 2/3
        ("Pope, Lama, Canterbury, Bartholomew", "Pope Leo XIV", 0.0),
        ("Leo XIV Pope and Dalai Lama", "Dalai Lama", 0.5),  # two full covers share the credit
    ],
)
def test_multiple_choice(text: str, correct: str, expected: float) -> None:
    assert multiple_choice(text, CHOICES, correct) == pytest.approx(expected)


def test_answer_scores_average_over_questions() -> None:
    readings = [
        Reading("Pope Leo XIV spoke.", "", CHOICES, "Pope Leo XIV"),
        Reading("A speech.", "Pope Leo XIV spoke.", CHOICES, "Pope Leo XIV"),
        Reading("Leo XIV Pope and Dalai Lama", "", CHOICES, "Dalai Lama"),
        Reading("Nothing.", "Nothing.", CHOICES, "Dalai Lama"),
    ]

    assert answer_scores(readings).as_json() == {
        "answer_contains": 0.5,
        "cited_contains": 0.75,
        "answer_mc": round((1 + 0 + 0.5 + 0) / 4, 4),
        "cited_mc": round((1 + 1 + 0.5 + 0) / 4, 4),
        "answer_precision": 0.0,
        "answer_all_gold": 0.0,
        "answer_words_p50": 3.0,
    }


def test_precision_counts_the_sentences_cited_from_gold_articles() -> None:
    def read(*sources: str) -> Reading:
        return Reading("One two three.", "", CHOICES, "Dalai Lama", sources, gold=frozenset("g"))

    scores = answer_scores([read("g", "g"), read("g", "x", "x", "g"), read("x"), read()])

    assert scores.answer_precision == round((1 + 0.5 + 0 + 0) / 4, 4)
    assert scores.answer_all_gold == 0.25
    assert scores.answer_words_p50 == 3
