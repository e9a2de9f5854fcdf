"""Finds the passages for a question (dense + keyword, dates, re-rank) and composes the answer."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, timedelta

from index.embed.factory import TextEmbedder
from index.errors import ArchiveError
from index.i18n import _
from index.ingest.text import valid_text
from index.records import Answer, Hit
from index.search.answer import compose_answer, select_hits
from index.search.dates import time_range
from index.search.fusion import Tuning, date_bonus, fuse, scaled, title_bonus
from index.search.keyword import keyword_search, query_terms
from index.search.meaning import script, sentence_cosines, wanted
from index.settings import Settings
from index.storage.database_vectors import DatabaseVectors
from index.storage.keywords import KeywordIndex
from index.storage.store import Store
from index.storage.vectors import VectorIndex

DEPTH = 100  # candidates each retriever hands to the fusion
KEYWORD_FLOOR = 0.5  # a passage only BM25 found is cited if it scores this share of the best
NOT_TEXT = ("Cc", "Cf", "Cs")  # control, format (zero-width, bidi) and surrogate code points


class EmptyQuestion(ArchiveError):
    """The question has no words in it."""


@dataclass(frozen=True)
class Timings:
    """Milliseconds each retrieval stage took for one question."""

    embed: float = 0.0
    dense: float = 0.0  # FAISS search and reading the passages, after the embedding
    keyword: float = 0.0  # BM25, run while the model embeds the question
    keyword_wait: float = 0.0  # how long the question waited for BM25 after the dense side
    fuse: float = 0.0
    rerank: float = 0.0


@dataclass(frozen=True)
class Ranking:
    """Passages for a question, best first, and whether any clears the relevance floor."""

    hits: tuple[Hit, ...]
    found: bool
    timings: Timings


@dataclass(frozen=True)
class Candidates:
    """Passages either retriever found, by chunk id, with their cosine and BM25 scores."""

    hits: dict[int, Hit]
    cosine: dict[int, float]
    keyword: dict[int, float]
    timings: Timings


def clean_question(question: str, max_chars: int) -> str:
    """One line of at most max_chars characters, cut at a word boundary."""
    # Control, format and lone surrogate code points are no one's words: the model would
    # read them as something (e5 finds a NUL near everything).
    kept = (ch for ch in question if ch.isspace() or unicodedata.category(ch) not in NOT_TEXT)
    text = " ".join(valid_text("".join(kept)).split())
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] or text[:max_chars]
    # Emoji are asked too: e5 reads "🇺🇸🤝🇺🇦" as the US and Ukraine (MiniLM reads nothing).
    if not any(ch.isalnum() or unicodedata.category(ch) == "So" for ch in text):
        raise EmptyQuestion(_("Ask a question in words, e.g. “What did the US offer Ukraine?”"))
    return text


def existed(hit: Hit, now: date) -> bool:
    """Whether the hit's article was published by the day after `now` (or has no date)."""
    published = hit.article.published
    return published is None or published <= now + timedelta(days=1)


class Retriever:
    """Dense and keyword retrieval over the archive, fused, then an extractive answer."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        vectors: Callable[[], VectorIndex | DatabaseVectors],
        keywords: KeywordIndex,
        embedder: TextEmbedder,
        tuning: Tuning | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.vectors = vectors
        self.keywords = keywords
        self.embedder = embedder
        self.tuning = tuning or Tuning()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="keyword")

    def close(self) -> None:
        """Stop the keyword search's threads."""
        self._pool.shutdown(wait=True)

    def with_settings(self, settings: Settings) -> Retriever:
        """A retriever over the same archive with other retrieval settings (for comparisons)."""
        return Retriever(
            settings, self.store, self.vectors, self.keywords, self.embedder, self.tuning
        )

    def search(self, question: str, limit: int) -> list[Hit]:
        """The passages closest in meaning to the question (cosine), best first."""
        return self._dense(question, limit)[0]

    def _dense(self, question: str, limit: int) -> tuple[list[Hit], float]:
        """Dense hits and the milliseconds the model took to embed the question."""
        vectors = self.vectors()
        if len(vectors) == 0:
            return [], 0.0
        start = time.perf_counter()
        query = self.embedder.embed_queries([question])
        embedded = (time.perf_counter() - start) * 1000
        scores, ids = vectors.search(query, limit)
        found = self.store.hits([int(i) for i in ids[0] if i >= 0])
        # Cosines rescaled so that unrelated texts score about 0 whatever the model (e5's
        # start near 0.7): the relevance floor and the fusion weights hold for every model.
        floor = self.embedder.cosine_floor
        hits = [
            replace(found[int(i)], score=(float(s) - floor) / (1 - floor))
            for s, i in zip(scores[0], ids[0], strict=True)
            if int(i) in found
        ]
        return hits, embedded

    def _keyword(self, question: str) -> tuple[dict[int, float], float]:
        """BM25 scores by chunk id, and the milliseconds the search took."""
        start = time.perf_counter()
        found = dict(keyword_search(self.keywords, question, DEPTH))
        return found, (time.perf_counter() - start) * 1000

    def candidates(self, question: str) -> Candidates:
        """What each retriever of the mode finds, with the time each took."""
        mode = self.settings.retrieval_mode
        start = time.perf_counter()
        # The model releases the GIL while it runs, so BM25 runs while the question embeds.
        pending = self._pool.submit(self._keyword, question) if mode != "dense" else None
        dense_hits, embed_ms = self._dense(question, DEPTH) if mode != "keyword" else ([], 0.0)
        middle = time.perf_counter()
        keyword, keyword_ms = pending.result() if pending else ({}, 0.0)
        hits = {hit.chunk.id: hit for hit in dense_hits}
        missing = [chunk_id for chunk_id in keyword if chunk_id not in hits]
        hits.update(self.store.hits(missing))
        end = time.perf_counter()
        return Candidates(
            hits=hits,
            cosine={hit.chunk.id: hit.score for hit in dense_hits},
            keyword=keyword,
            timings=Timings(
                embed=embed_ms,
                dense=(middle - start) * 1000 - embed_ms,
                keyword=keyword_ms,
                keyword_wait=(end - middle) * 1000,
            ),
        )

    def score(self, question: str, now: date, found: Candidates) -> dict[int, float]:
        """Fused scores (the best is 1), moved by the question's time words and recency."""
        scores = scaled(fuse(found.cosine, found.keyword, self.tuning))
        if self.settings.date_boost:
            span = time_range(question, now)
            for chunk_id, hit in found.hits.items():
                scores[chunk_id] += date_bonus(hit.article.published, now, span, self.tuning)
        return scores

    def rerank(self, question: str, found: Candidates, scores: dict[int, float]) -> list[Hit]:
        """Second stage over the best candidates: the question's words in titles and passages."""
        tuning = self.tuning
        if self.settings.rerank and tuning.title_weight:
            terms = query_terms(question)
            for chunk_id in sorted(scores, key=lambda i: -scores[i])[: tuning.rerank_depth]:
                scores[chunk_id] += title_bonus(terms, found.hits[chunk_id], tuning)
        return sorted(
            (Hit(hit.chunk, hit.article, scores[chunk_id]) for chunk_id, hit in found.hits.items()),
            key=lambda hit: (-hit.score, -(hit.article.published or date.min).toordinal()),
        )

    def rank(self, question: str, now: date | None = None, *, floor: bool = True) -> Ranking:
        """Candidates from each retriever, fused, moved by dates, re-ranked; best first.

        With `floor`, passages below the relevance floor are left out.
        """
        now = now or date.today()
        found = self.candidates(question)
        start = time.perf_counter()
        scores = self.score(question, now, found)
        middle = time.perf_counter()
        ranked = self.rerank(question, found, scores)
        if floor:
            ranked = self._above_floor(question, ranked, found.cosine, found.keyword)
        timings = replace(
            found.timings,
            fuse=(middle - start) * 1000,
            rerank=(time.perf_counter() - middle) * 1000,
        )
        return Ranking(tuple(ranked), bool(ranked), timings)

    def _above_floor(
        self, question: str, ranked: list[Hit], cosine: dict[int, float], keyword: dict[int, float]
    ) -> list[Hit]:
        """Hits close enough in meaning, or, where no cosine is known, strong on keywords.

        A passage in another script than the question has the lower `min_score_across`.
        """
        settings = self.settings
        asked = script(question)
        close = {
            hit.chunk.id
            for hit in ranked
            if hit.chunk.id in cosine
            and (
                cosine[hit.chunk.id] >= settings.min_score
                or (
                    bool(asked)
                    and cosine[hit.chunk.id] >= settings.min_score_across
                    and script(hit.chunk.text) not in ("", asked)
                )
            )
        }
        if cosine and not close:
            return []
        best_keyword = max(keyword.values(), default=0.0)
        return [
            hit
            for hit in ranked
            if hit.chunk.id in close
            or (
                hit.chunk.id not in cosine
                and keyword.get(hit.chunk.id, 0.0) >= KEYWORD_FLOOR * best_keyword
            )
        ]

    def ask(
        self, question: str, k: int | None = None, offset: int = 0, now: date | None = None
    ) -> Answer:
        """An answer from the hits above the relevance floor; `offset` skips earlier results.

        Articles published more than a day after `now` (default today) did not exist yet.
        """
        question = clean_question(question, self.settings.max_question_chars)
        k = k or self.settings.top_k
        now = now or date.today()
        hits = [hit for hit in self.rank(question, now).hits if existed(hit, now)]
        chosen = select_hits(hits, offset + k, self.settings.passages_per_article)[offset:]
        return self.compose(question, chosen, now)

    def compose(self, question: str, hits: list[Hit], now: date | None = None) -> Answer:
        """The sentences of the hits that answer the question, by words, and by meaning where
        `answer_meaning` wants it (one model call for the sentences not yet remembered)."""
        meaning = (
            sentence_cosines(self.embedder, question, hits)
            if wanted(self.settings.answer_meaning, question, hits)
            else []
        )
        return compose_answer(
            question, hits, self.settings.answer_sentences, now=now, meaning=meaning
        )
