"""The pure answer composition: sentence splitting and the short list the model ranks."""

from __future__ import annotations

from index.search.answer import shortlist_sentences, split_sentences


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
