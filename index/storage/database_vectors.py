"""Vector search asked of the database (pgvector's HNSW index) instead of a FAISS cache.

For a replica that should hold no cache (NEWSBOT_VECTOR_SEARCH=database): the same calls the
retriever and the alerts make of the FAISS index, answered by SQL on every question.
"""

from __future__ import annotations

import numpy as np

from index.storage.vector_rows import VectorRows, VectorStamp


class DatabaseVectors:
    """The archive's vectors as searched in the database; nothing held in memory."""

    kind = "hnsw (database)"
    family = "hnsw"
    nprobe = None

    def __init__(self, rows: VectorRows, dim: int) -> None:
        self._rows = rows
        self.dim = dim
        self._counted: tuple[VectorStamp, int] | None = None

    def __len__(self) -> int:
        # Counting a large table on every question is slow; the stamp says when it changed.
        stamp = self._rows.stamp()
        if self._counted is None or self._counted[0] != stamp:
            self._counted = (stamp, self._rows.count())
        return self._counted[1]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of shape (len(queries), k); missing results have id -1."""
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        for row, query in enumerate(queries):
            found_scores, found_ids = self._rows.nearest(query, k)
            scores[row, : len(found_ids)] = found_scores
            ids[row, : len(found_ids)] = found_ids
        return scores, ids

    def vectors_for(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of the wanted ids that are stored."""
        return self._rows.for_ids(wanted.tolist(), self.dim)

    def export(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything stored (to measure recall against exact search)."""
        _, ids, vectors = self._rows.read_after(0, self.dim)
        return ids, vectors
