"""Scoring new passages against every topic in one pass, and grouping copies into stories; pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.records import Article, Hit
from index.search.fusion import Tuning, words
from index.search.keyword import query_terms
from index.sources.neardup import NearDuplicates

# The answer's own weights (fusion.Tuning): the topic's words in the passage count like the
# scaled BM25 score, its words in the title like the title re-rank.
KEYWORD_WEIGHT = Tuning().keyword_weight
TITLE_WEIGHT = Tuning().title_weight
MAX_SHOWN = 10  # stories listed in one alert message


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


def topic_terms(topic: str) -> frozenset[str]:
    """The topic's content words as the re-rank compares them (five-letter prefixes)."""
    return frozenset(term[:5] for term in query_terms(topic))


def lexical_bonus(terms: frozenset[str], hit: Hit) -> float:
    """The topic's words in the passage and in its title, weighted as answers weigh them."""
    if not terms:
        return 0.0
    in_text = len(terms & words(hit.chunk.text)) / len(terms)
    in_title = len(terms & words(hit.article.title)) / len(terms)
    return KEYWORD_WEIGHT * in_text + TITLE_WEIGHT * in_title


def score_pairs(
    passages: np.ndarray,
    topics: np.ndarray,
    hits: Sequence[Hit],
    terms: Sequence[frozenset[str]],
    threshold: float,
) -> list[tuple[int, int, float]]:
    """(passage row, topic row, score) of every pair scoring at least `threshold`.

    One matrix product gives every cosine; the word signals are only counted for pairs
    whose cosine could still reach the threshold with them.
    """
    if len(passages) == 0 or len(topics) == 0:
        return []
    cosine = passages @ topics.T
    rows, cols = np.nonzero(cosine >= threshold - KEYWORD_WEIGHT - TITLE_WEIGHT)
    found = []
    for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
        score = float(cosine[row, col]) + lexical_bonus(terms[col], hits[row])
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


def story_keys(
    articles: dict[int, tuple[int, str]], recent: Sequence[tuple[int, str]]
) -> dict[int, int]:
    """Story key (first chunk id of its earliest copy) by article id; copies share one.

    `articles` maps article id to (first chunk id, text); `recent` holds (first chunk id, text)
    of earlier articles, newest first.
    """
    seen = NearDuplicates()
    for first, text in reversed(recent):
        seen.add(first, text)
    keys: dict[int, int] = {}
    for article_id, (first, text) in sorted(articles.items(), key=lambda item: item[1][0]):
        copy_of = seen.match(text)
        keys[article_id] = copy_of if copy_of is not None else first
        seen.add(first, text)
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


def best_sentence(sentences: Sequence[str], vectors: np.ndarray, topic: np.ndarray) -> str:
    """The sentence closest in meaning to the topic ('' when there is none)."""
    if not sentences:
        return ""
    return sentences[int(np.argmax(vectors @ topic))]
