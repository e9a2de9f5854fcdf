"""Scoring new passages against every topic in one pass, and grouping copies into stories; pure."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from index.embed.e5_weights import E5_NAME
from index.records import Article, Hit
from index.search.answer import split_sentences
from index.search.fusion import Tuning, words
from index.search.keyword import query_terms
from index.sources.neardup import NearDuplicates

# The topic's words in the passage count like the answer's scaled BM25 score (fusion.Tuning);
# its words in the title 0.1, the weight the alert thresholds were labelled with (the answer's
# re-rank has since moved to 0.2).
KEYWORD_WEIGHT = Tuning().keyword_weight
TITLE_WEIGHT = 0.1
MAX_SHOWN = 10  # stories listed in one alert message


@dataclass(frozen=True)
class Calibration:
    """A model's alert figures, measured on the labelled sets in tests/test_alerts.py."""

    threshold: float  # NEWSBOT_ALERT_SCORE when unset: no unwanted pair, most wanted ones
    # A topic and a passage in different scripts (a Russian topic, an English story) share no
    # words to count: a multilingual model's pair gets the mean word credit of the wanted
    # same-language pairs instead; an English-only model's cosine means nothing there.
    cross_script: float = 0.0


# e5 puts "new museum openings" at 0.546 from "… opens a new observatory": 0.53 would send it.
CALIBRATIONS = {E5_NAME: Calibration(0.55, 0.17)}
ENGLISH = Calibration(0.53)  # all-MiniLM-L6-v2, and any model not measured


@dataclass(frozen=True)
class Match:
    """A new passage close enough to a subscription's topic."""

    subscription: int
    hit: Hit
    score: float


@dataclass(frozen=True)
class Alert:
    """One story for one chat: its article, the topics it matched and the sentence that did."""

    article: Article
    topics: tuple[tuple[int, str], ...]
    sentence: str
    score: float


@dataclass(frozen=True)
class Delivery:
    """Everything one chat gets from one refresh, in one message."""

    chat_id: int
    alerts: tuple[Alert, ...]


@functools.lru_cache(maxsize=65_536)
def topic_terms(topic: str) -> frozenset[str]:
    """The topic's content words as the re-rank compares them (five-letter prefixes)."""
    return frozenset(term[:5] for term in query_terms(topic))


def calibration(model: str, setting: float | None = None) -> Calibration:
    """The model's alert figures; NEWSBOT_ALERT_SCORE, when set, is the threshold."""
    found = CALIBRATIONS.get(model, ENGLISH)
    return found if setting is None else replace(found, threshold=setting)


def cyrillic(text: str) -> bool:
    """Whether the text's letters are mostly Cyrillic."""
    letters = [ch for ch in text if ch.isalpha()]
    return sum("\u0400" <= ch <= "\u04ff" for ch in letters) * 2 > len(letters)


@dataclass(frozen=True)
class PassageWords:
    """What a passage offers the word signals: its words, its title's, and its script."""

    text: frozenset[str]
    title: frozenset[str]
    cyrillic: bool

    @classmethod
    def of(cls, hit: Hit) -> PassageWords:
        text = frozenset(words(hit.chunk.text))
        return cls(text, frozenset(words(hit.article.title)), cyrillic(" ".join(text)))


def word_credit(
    terms: frozenset[str], topic_cyrillic: bool, passage: PassageWords, cross_script: float
) -> float:
    """The topic's words in passage and title; across scripts, the model's `cross_script`."""
    if terms and topic_cyrillic != passage.cyrillic:
        return cross_script
    return lexical_bonus(terms, passage.text, passage.title)


def lexical_bonus(terms: frozenset[str], text: frozenset[str], title: frozenset[str]) -> float:
    """The topic's words in the passage and in its title, weighted as answers weigh them."""
    if not terms:
        return 0.0
    return (KEYWORD_WEIGHT * len(terms & text) + TITLE_WEIGHT * len(terms & title)) / len(terms)


def rescaled(cosine: np.ndarray, floor: float) -> np.ndarray:
    """Cosines mapped so the model's unrelated-text cosine (`floor`) is 0, as retrieval does:
    NEWSBOT_ALERT_SCORE then means the same for every model."""
    return (cosine - floor) / (1.0 - floor)


def score_pairs(
    passages: np.ndarray,
    topics: np.ndarray,
    hits: Sequence[Hit],
    terms: Sequence[frozenset[str]],
    threshold: float,
    floor: float = 0.0,
    cross_script: float = 0.0,
) -> list[tuple[int, int, float]]:
    """(passage row, topic row, score) of every pair scoring at least `threshold`.

    One matrix product gives every cosine (rescaled by the model's `floor`); the word signals
    are only counted for pairs whose cosine could still reach the threshold with them
    (`cross_script` is what a pair of two scripts gets instead).
    """
    if len(passages) == 0 or len(topics) == 0:
        return []
    cosine = rescaled(passages @ topics.T, floor)
    scripts = [cyrillic(" ".join(t)) for t in terms]
    rows, cols = np.nonzero(cosine >= threshold - KEYWORD_WEIGHT - TITLE_WEIGHT)
    seen: dict[int, PassageWords] = {}  # each passage read once, however many topics it meets
    found = []
    for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
        if row not in seen:
            seen[row] = PassageWords.of(hits[row])
        credit = word_credit(terms[col], scripts[col], seen[row], cross_script)
        score = float(cosine[row, col]) + credit
        if score >= threshold:
            found.append((row, col, score))
    return found


def best_per_article(matches: Sequence[Match]) -> list[Match]:
    """Each subscription's best passage per article."""
    best: dict[tuple[int, int], Match] = {}
    for match in matches:
        key = (match.subscription, match.hit.article.id)
        if key not in best or match.score > best[key].score:
            best[key] = match
    return sorted(best.values(), key=lambda m: (m.hit.chunk.id, m.subscription))


def story_keys(articles: dict[int, tuple[int, str]], earlier: NearDuplicates) -> dict[int, int]:
    """Story key (first chunk id of its earliest copy) by article id; copies share one.

    `articles` maps article id to (first chunk id, text); `earlier` holds the signatures
    of earlier articles under their first chunk ids.
    """
    batch = NearDuplicates()
    keys: dict[int, int] = {}
    for article_id, (first, text) in sorted(articles.items(), key=lambda item: item[1][0]):
        copy_of = earlier.match(text)
        if copy_of is None:
            copy_of = batch.match(text)
        keys[article_id] = copy_of if copy_of is not None else first
        batch.add(first, text)
    return keys


def group_by_chat(
    matches: Sequence[Match],
    chats: dict[int, int],
    topics: dict[int, str],
    sentences: dict[tuple[int, int], str],
) -> list[Delivery]:
    """One delivery per chat; a story matching two of a chat's topics is listed once."""
    by_chat: dict[int, dict[int, list[Match]]] = {}
    for match in matches:
        stories = by_chat.setdefault(chats[match.subscription], {})
        stories.setdefault(match.hit.article.id, []).append(match)
    deliveries = []
    for chat_id, stories in sorted(by_chat.items()):
        alerts = []
        for found in stories.values():
            best = max(found, key=lambda m: m.score)
            alerts.append(
                Alert(
                    article=best.hit.article,
                    topics=tuple((m.subscription, topics[m.subscription]) for m in found),
                    sentence=sentences.get((best.subscription, best.hit.chunk.id), ""),
                    score=best.score,
                )
            )
        alerts.sort(key=lambda a: -a.score)
        deliveries.append(Delivery(chat_id, tuple(alerts)))
    return deliveries


def matched_sentence(text: str, terms: frozenset[str]) -> str:
    """The passage's sentence holding most of the topic's words; the earliest on a tie.

    Words, not the model: a pass may match thousands of passages, and embedding their
    sentences would cost as much as embedding the passages again.
    """
    sentences = split_sentences(text)
    if not sentences:
        return ""
    return max(sentences, key=lambda sentence: len(terms & words(sentence)))
