"""Timelines and coverage counts over the archive's passages: retrieval and alert scoring."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from index.alerts.matching import (
    KEYWORD_WEIGHT,
    TITLE_WEIGHT,
    PassageWords,
    calibration,
    cyrillic,
    rescaled,
    topic_terms,
    word_credit,
)
from index.embed.factory import TextEmbedder
from index.errors import ArchiveError
from index.i18n import _
from index.ingest.text import valid_text
from index.records import Article
from index.search.dates import DateRange, time_range
from index.search.retrieve import Retriever
from index.settings import Settings
from index.storage.database_vectors import DatabaseVectors
from index.storage.store import Store
from index.storage.vectors import VectorIndex
from index.stories.timeline import Timeline, build_timeline
from index.stories.trend import Trend, count_coverage, period_days

MAX_TOPIC_CHARS = 200
TREND_DEPTH = 2000  # nearest passages a coverage count scores; alerts' threshold picks among them
SNIPPET_CHARS = 320
_SINCE = re.compile(r"\bsince\b", re.IGNORECASE)


class BadStoryTopic(ArchiveError):
    """A timeline or chart topic that is empty or too long."""


def clean_topic(topic: str) -> str:
    """One line of 1 to MAX_TOPIC_CHARS characters with a word in it; BadStoryTopic otherwise."""
    text = " ".join(valid_text(topic).split())
    if not any(ch.isalnum() for ch in text):
        raise BadStoryTopic(_("Name a topic, e.g. “government shutdown”."))
    if len(text) > MAX_TOPIC_CHARS:
        raise BadStoryTopic(_("A topic is at most {n} characters.", n=MAX_TOPIC_CHARS))
    return text


def topic_span(topic: str, now: date) -> DateRange | None:
    """The days the topic's time words keep; "since March" runs from March to now."""
    span = time_range(topic, now)
    if span is not None and _SINCE.search(topic):
        return DateRange(span.start, now)
    return span


class Stories:
    """Timelines from the retriever's passages; coverage from the alerts' scoring."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        retriever: Retriever,
        vectors: Callable[[], VectorIndex | DatabaseVectors],
        embedder: TextEmbedder,
    ) -> None:
        self.settings = settings
        self.store = store
        self.retriever = retriever
        self.vectors = vectors
        self.embedder = embedder

    def timeline(self, topic: str, now: date | None = None) -> Timeline:
        """The topic's events, oldest first, from the passages an answer would draw on."""
        text = clean_topic(topic)
        now = now or date.today()
        ranking = self.retriever.rank(text, now)
        return build_timeline(text, ranking.hits, topic_span(text, now), SNIPPET_CHARS)

    def trend(self, topic: str, period: str, now: date | None = None) -> Trend:
        """Articles an alert on the topic would match, counted over the period up to now."""
        text = clean_topic(topic)
        period_days(period)  # a bad period is refused before any work
        return count_coverage(text, period.lower(), self.matching(text), now or date.today())

    def matching(self, topic: str) -> list[tuple[Article, float]]:
        """Each article an alert on `topic` would match, with its best passage's score."""
        index = self.vectors()
        if len(index) == 0:
            return []
        query = self.embedder.embed_queries([topic])
        cosines, ids = index.search(query, min(TREND_DEPTH, len(index)))
        model = calibration(self.embedder.name, self.settings.alert_score)
        threshold = model.threshold
        floor = threshold - KEYWORD_WEIGHT - TITLE_WEIGHT
        scores = rescaled(cosines[0], self.embedder.cosine_floor)
        near = {int(i): float(c) for c, i in zip(scores, ids[0], strict=True) if i >= 0}
        hits = self.store.hits([i for i, c in near.items() if c >= floor])
        terms = topic_terms(topic)
        script = cyrillic(" ".join(terms))
        best: dict[int, tuple[Article, float]] = {}
        for chunk_id, hit in hits.items():
            passage = PassageWords.of(hit)
            score = near[chunk_id] + word_credit(terms, script, passage, model.cross_script)
            known = best.get(hit.article.id)
            if score >= threshold and (known is None or score > known[1]):
                best[hit.article.id] = (hit.article, score)
        return list(best.values())
