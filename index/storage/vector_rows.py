"""Passage vectors in the database (float16, a row per chunk): the truth FAISS is built from.

A vector is stored as 2 bytes a dimension (768 bytes for MiniLM's 384), little-endian float16.
Sentence vectors (issue 10) can live in a table of the same shape beside `chunk_vectors`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from index.storage.database import Database

STORED = np.dtype("<f2")
READ_BATCH = 50_000
INSERT_ROWS = 500  # vectors a statement inserts (2 parameters each)


@dataclass(frozen=True)
class VectorStamp:
    """Where the vector table stands: its change generation and its last chunk id.

    With the same generation, rows were only appended, above `last_id`; any other change
    (a delete, an update, an insert below the last id) bumps the generation.
    """

    generation: int
    last_id: int


def encode(vectors: np.ndarray) -> list[bytes]:
    """One float16 blob per row."""
    half = np.ascontiguousarray(vectors, dtype=STORED)
    return [row.tobytes() for row in half]


def decode(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    """Rows of float32 from float16 blobs."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=STORED).reshape(len(blobs), dim).astype(np.float32)


class VectorRows:
    """The `chunk_vectors` table (and a rebuild's `rebuild_vectors`) on Store's connection."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def insert(self, ids: Sequence[int], vectors: np.ndarray, table: str = "chunk_vectors") -> None:
        """Store vectors by chunk id; the caller owns the transaction (or each row is one)."""
        vector = self._db.vector
        rows = [(int(i), vector(blob)) for i, blob in zip(ids, encode(vectors), strict=True)]
        for at in range(0, len(rows), INSERT_ROWS):  # one statement (one round trip) a part
            part = rows[at : at + INSERT_ROWS]
            self._db.run(
                f"INSERT INTO {table}(chunk_id, vector) VALUES "
                + ", ".join(["(?, ?)"] * len(part))
                + " ON CONFLICT DO NOTHING",
                [value for row in part for value in row],
            )

    def add(self, ids: Sequence[int], vectors: np.ndarray, table: str = "chunk_vectors") -> None:
        """Store vectors of chunks in one transaction; chunks deleted meanwhile are skipped."""
        with self._db.transaction():
            known = set(self._existing(ids))
            keep = [n for n, i in enumerate(ids) if int(i) in known]
            self.insert([ids[n] for n in keep], vectors[keep], table)

    def _existing(self, ids: Sequence[int]) -> list[int]:
        found: list[int] = []
        for start in range(0, len(ids), 900):
            part = [int(i) for i in ids[start : start + 900]]
            marks = ",".join("?" * len(part))
            rows = self._db.rows(f"SELECT id FROM chunks WHERE id IN ({marks})", part)
            found += [int(row[0]) for row in rows]  # type: ignore[call-overload]
        return found

    def stamp(self) -> VectorStamp:
        """The table's generation and last id: two lookups, cheap enough for every question."""
        row = self._db.one(
            "SELECT (SELECT CAST(value AS INTEGER) FROM meta WHERE key='vectors_generation'), "
            "(SELECT MAX(chunk_id) FROM chunk_vectors)"
        )
        assert row is not None
        return VectorStamp(int(row[0] or 0), int(row[1] or 0))  # type: ignore[call-overload]

    def dim(self) -> int | None:
        """The stored vectors' dimension, None while there are none."""
        size = self._db.vector_bytes("vector")
        row = self._db.one(f"SELECT {size} FROM chunk_vectors LIMIT 1")
        return None if row is None else int(row[0]) // STORED.itemsize  # type: ignore[call-overload]

    def read_after(self, last_id: int, dim: int) -> tuple[VectorStamp, np.ndarray, np.ndarray]:
        """(stamp, ids, vectors) of the rows above `last_id`, all read in one snapshot."""
        with self._db.snapshot():
            stamp = self.stamp()
            ids: list[np.ndarray] = []
            rows: list[np.ndarray] = []
            for part_ids, part in self._batches(last_id, stamp.last_id, dim):
                ids.append(part_ids)
                rows.append(part)
        if not ids:
            return stamp, np.zeros(0, np.int64), np.zeros((0, dim), np.float32)
        return stamp, np.concatenate(ids), np.concatenate(rows)

    def _batches(self, after: int, last: int, dim: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        while after < last:
            found = self._db.rows(
                "SELECT chunk_id, vector FROM chunk_vectors WHERE chunk_id > ? AND chunk_id <= ? "
                "ORDER BY chunk_id LIMIT ?",
                (after, last, READ_BATCH),
            )
            if not found:
                return
            ids = np.array([row[0] for row in found], np.int64)
            yield ids, decode([r[1] for r in found], dim)  # type: ignore[misc]
            after = int(ids[-1])

    def missing(self, table: str = "chunk_vectors") -> np.ndarray:
        """Chunk ids without a row in `table`, ascending."""
        rows = self._db.rows(
            f"SELECT c.id FROM chunks c LEFT JOIN {table} v ON v.chunk_id = c.id "
            "WHERE v.chunk_id IS NULL ORDER BY c.id"
        )
        return np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))

    def nearest(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the `k` stored vectors nearest one query, by the database's index."""
        param = self._db.vector(encode(query.reshape(1, -1))[0])
        rows = self._db.rows(self._db.nearest(query.shape[-1], k), (param, param))
        ids = np.array([row[0] for row in rows], dtype=np.int64)
        return np.array([row[1] for row in rows], dtype=np.float32), ids

    def for_ids(self, ids: Sequence[int], dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of those chunks that have a stored vector."""
        found: list[tuple[object, ...]] = []
        for start in range(0, len(ids), 900):
            part = [int(i) for i in ids[start : start + 900]]
            marks = ",".join("?" * len(part))
            found += self._db.rows(
                f"SELECT chunk_id, vector FROM chunk_vectors WHERE chunk_id IN ({marks})", part
            )
        vectors = decode([row[1] for row in found], dim)  # type: ignore[misc]
        return np.array([row[0] for row in found], dtype=np.int64), vectors

    def count(self, table: str = "chunk_vectors") -> int:
        """Rows in `table`."""
        return int(self._db.rows(f"SELECT COUNT(*) FROM {table}")[0][0])  # type: ignore[call-overload]

    def bad_lengths(self, dim: int) -> int:
        """Stored vectors whose length is not `dim` float16 values."""
        size = self._db.vector_bytes("vector")
        row = self._db.one(
            f"SELECT COUNT(*) FROM chunk_vectors WHERE {size} != ?", (dim * STORED.itemsize,)
        )
        assert row is not None
        return int(row[0])  # type: ignore[call-overload]

    def clear_rebuild(self) -> None:
        """Forget the vectors of an unfinished `index rebuild`."""
        self._db.run("DELETE FROM rebuild_vectors")

    def swap_in_rebuild(self, model: str, dim: int) -> None:
        """Swap every passage vector for the rebuild's and record the model, in one transaction."""
        with self._db.transaction():
            self._db.run("DELETE FROM chunk_vectors")
            self._db.run(
                "INSERT INTO chunk_vectors(chunk_id, vector) "
                "SELECT chunk_id, vector FROM rebuild_vectors ORDER BY chunk_id"
            )
            self._db.run("DELETE FROM rebuild_vectors")
            for key, value in (("model", model), ("dim", str(dim))):
                self._db.run(
                    "INSERT INTO meta(key, value) VALUES(?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                    (key, value),
                )
            self._db.run("DELETE FROM meta WHERE key='rebuild_model'")
