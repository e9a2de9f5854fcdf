"""End-to-end answer figures: does what the user reads hold the quiz's correct option; pure."""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from index.search.keyword import STOPWORDS

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class AnswerScores:
    """Shares of questions whose answer (or answer + cited snippets) holds the correct option."""

    answer_contains: float
    cited_contains: float
    answer_mc: float
    cited_mc: float
    answer_precision: float = 0.0  # share of an answer's sentences cited from a gold article
    answer_all_gold: float = 0.0  # share of answers made only of gold-article sentences
    answer_words_p50: float = 0.0  # median words in an answer's sentences

    def as_json(self) -> dict[str, float]:
        """The figures under their own names."""
        return {
            "answer_contains": self.answer_contains,
            "cited_contains": self.cited_contains,
            "answer_mc": self.answer_mc,
            "cited_mc": self.cited_mc,
            "answer_precision": self.answer_precision,
            "answer_all_gold": self.answer_all_gold,
            "answer_words_p50": self.answer_words_p50,
        }


def words(text: str) -> list[str]:
    """Lower-cased words without punctuation or accents: 'Nicolás' is 'nicolas'."""
    folded = unicodedata.normalize("NFKD", text.lower())
    return _WORD.findall("".join(ch for ch in folded if not unicodedata.combining(ch)))


def contains(text: str, option: str) -> bool:
    """Whether the option's words occur in the text as one run of whole words."""
    wanted = " ".join(words(option))
    return bool(wanted) and f" {wanted} " in f" {' '.join(words(text))} "


def content_stems(text: str) -> set[str]:
    """Words other than stop words, cut to their first five letters."""
    return {word[:5] for word in words(text) if word not in STOPWORDS}


def coverage(text: str, option: str) -> float:
    """Share of the option's content stems found in the text; 0 when it has none."""
    wanted = content_stems(option)
    return len(wanted & content_stems(text)) / len(wanted) if wanted else 0.0


def multiple_choice(text: str, choices: Sequence[str], correct: str) -> float:
    """A model-free reader's credit: 1/ties if the correct option is best covered, no cover 0."""
    covered = [coverage(text, choice) for choice in choices]
    best = max(covered, default=0.0)
    if best == 0.0 or correct not in choices:
        return 0.0
    ties = [choice for choice, value in zip(choices, covered, strict=True) if value == best]
    return 1.0 / len(ties) if correct in ties else 0.0


@dataclass(frozen=True)
class Reading:
    """What the user read for one question: the answer's sentences and the cited snippets."""

    sentences: str
    snippets: str
    choices: tuple[str, ...]
    correct: str
    sources: tuple[str, ...] = ()  # the article each answer sentence is cited from
    cited_first: str = ""  # the article cited first
    cited_articles: frozenset[str] = frozenset()  # every article cited
    gold: frozenset[str] = frozenset()

    @property
    def cited(self) -> str:
        """Sentences and snippets together."""
        return f"{self.sentences}\n{self.snippets}"

    @property
    def precision(self) -> float:
        """Share of the answer's sentences cited from a gold article; 0 without sentences."""
        return (
            sum(s in self.gold for s in self.sources) / len(self.sources) if self.sources else 0.0
        )


def answer_scores(readings: Sequence[Reading]) -> AnswerScores:
    """The figures, averaged over questions and rounded to four places; words as a median."""
    n = len(readings) or 1

    def mean(values: list[float]) -> float:
        return round(sum(values) / n, 4)

    return AnswerScores(
        answer_contains=mean([float(contains(r.sentences, r.correct)) for r in readings]),
        cited_contains=mean([float(contains(r.cited, r.correct)) for r in readings]),
        answer_mc=mean([multiple_choice(r.sentences, r.choices, r.correct) for r in readings]),
        cited_mc=mean([multiple_choice(r.cited, r.choices, r.correct) for r in readings]),
        answer_precision=mean([r.precision for r in readings]),
        answer_all_gold=mean([float(r.precision == 1.0) for r in readings]),
        answer_words_p50=statistics.median([len(words(r.sentences)) for r in readings] or [0]),
    )


# Why an answer misses, in the order they are tried (issue #20's four kinds).
MISS_KINDS = (
    "unreachable",  # no gold article's text holds the option: out of reach of answer_contains
    "uncited",  # no gold article among the citations
    "not_first",  # a gold article is cited, but another leads the answer
    "unchosen",  # a gold article leads, yet the answer's sentences miss the option
)


def miss_kind(read: Reading, gold_texts: Sequence[str]) -> str:
    """Which of MISS_KINDS an answer without the correct option is; '' when it holds it."""
    if contains(read.sentences, read.correct):
        return ""
    if not any(contains(text, read.correct) for text in gold_texts):
        return "unreachable"
    if not read.cited_articles & read.gold:
        return "uncited"
    return "not_first" if read.cited_first not in read.gold else "unchosen"
