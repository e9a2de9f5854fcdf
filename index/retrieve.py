"""Finds the passages for a question and composes the cited answer."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from index.answer import compose_answer, select_hits, split_sentences
from index.embedding import TextEmbedder
from index.errors import ArchiveError
from index.records import Answer, Hit
from index.settings import Settings
from index.store import Store
from index.vectors import VectorIndex


class EmptyQuestion(ArchiveError):
    """The question has no words in it."""


def clean_question(question: str, max_chars: int) -> str:
    """One line of at most max_chars characters, cut at a word boundary."""
    text = " ".join(question.split())
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] or text[:max_chars]
    if not any(ch.isalnum() for ch in text):
        raise EmptyQuestion("Ask a question in words, e.g. “What did the US offer Ukraine?”")
    return text


class Retriever:
    """Dense retrieval over the archive, then an extractive answer."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        vectors: Callable[[], VectorIndex],
        embedder: TextEmbedder,
    ) -> None:
        self.settings = settings
        self.store = store
        self.vectors = vectors
        self.embedder = embedder

    def search(self, question: str, limit: int) -> list[Hit]:
        """The passages closest to the question, best first."""
        vectors = self.vectors()
        if len(vectors) == 0:
            return []
        query = self.embedder.embed_queries([question])
        scores, ids = vectors.search(query, limit)
        found = self.store.hits([int(i) for i in ids[0] if i >= 0])
        return [
            Hit(chunk=found[int(i)][0], article=found[int(i)][1], score=float(s))
            for s, i in zip(scores[0], ids[0], strict=True)
            if int(i) in found
        ]

    def ask(self, question: str, k: int | None = None, offset: int = 0) -> Answer:
        """An answer from the hits above the relevance floor; `offset` skips earlier results."""
        question = clean_question(question, self.settings.max_question_chars)
        k = k or self.settings.top_k
        per_article = self.settings.passages_per_article
        hits = [
            hit
            for hit in self.search(question, (offset + k) * per_article * 3 + 10)
            if hit.score >= self.settings.min_score
        ]
        chosen = select_hits(hits, offset + k, per_article)[offset:]
        return self.compose(question, chosen)

    def compose(self, question: str, hits: list[Hit]) -> Answer:
        """Pick the sentences of the hits closest to the question."""
        candidates = [
            (index, sentence)
            for index, hit in enumerate(hits)
            for sentence in split_sentences(hit.chunk.text)
        ]
        scored: list[tuple[int, str, float]] = []
        if candidates:
            query, *rows = self.embedder.embed_queries(
                [question] + [sentence for _, sentence in candidates]
            )
            similarities = np.asarray(rows) @ query
            scored = [
                (index, sentence, float(score))
                for (index, sentence), score in zip(candidates, similarities, strict=True)
            ]
        return compose_answer(question, hits, scored, self.settings.answer_sentences)
