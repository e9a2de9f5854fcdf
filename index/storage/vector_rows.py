"""Passage vectors in SQLite (float16, one row per chunk): the truth the FAISS cache is built from.

A vector is stored as 2 bytes a dimension (768 bytes for MiniLM's 384), little-endian float16.
Sentence vectors (issue 10) can live in a table of the same shape beside `chunk_vectors`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

STORED = np.dtype("<f2")
READ_BATCH = 50_000


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

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock

    def insert(self, ids: Sequence[int], vectors: np.ndarray, table: str = "chunk_vectors") -> None:
        """Store vectors by chunk id; the caller owns the transaction (or each row is one)."""
        rows = zip((int(i) for i in ids), encode(vectors), strict=True)
        with self._lock:
            self._db.executemany(
                f"INSERT OR IGNORE INTO {table}(chunk_id, vector) VALUES(?, ?)", rows
            )

    def add(self, ids: Sequence[int], vectors: np.ndarray, table: str = "chunk_vectors") -> None:
        """Store vectors of chunks in one transaction; chunks deleted meanwhile are skipped."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                known = {int(row[0]) for row in self._existing(ids)}
                keep = [n for n, i in enumerate(ids) if int(i) in known]
                self.insert([ids[n] for n in keep], vectors[keep], table)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # SQLite rolls back by itself on a full disk
                    self._db.execute("ROLLBACK")
                raise

    def _existing(self, ids: Sequence[int]) -> list[tuple[int]]:
        found: list[tuple[int]] = []
        for start in range(0, len(ids), 900):
            part = [int(i) for i in ids[start : start + 900]]
            marks = ",".join("?" * len(part))
            found += self._db.execute(
                f"SELECT id FROM chunks WHERE id IN ({marks})", part
            ).fetchall()
        return found

    def stamp(self) -> VectorStamp:
        """The table's generation and last id: two lookups, cheap enough for every question."""
        with self._lock:
            row = self._db.execute(
                "SELECT (SELECT CAST(value AS INTEGER) FROM meta WHERE key='vectors_generation'), "
                "(SELECT MAX(chunk_id) FROM chunk_vectors)"
            ).fetchone()
        return VectorStamp(int(row[0] or 0), int(row[1] or 0))

    def dim(self) -> int | None:
        """The stored vectors' dimension, None while there are none."""
        with self._lock:
            row = self._db.execute("SELECT length(vector) FROM chunk_vectors LIMIT 1").fetchone()
        return None if row is None else int(row[0]) // STORED.itemsize

    def read_after(self, last_id: int, dim: int) -> tuple[VectorStamp, np.ndarray, np.ndarray]:
        """(stamp, ids, vectors) of the rows above `last_id`, all read in one snapshot."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                stamp = self.stamp()
                ids: list[np.ndarray] = []
                rows: list[np.ndarray] = []
                for part_ids, part in self._batches(last_id, stamp.last_id, dim):
                    ids.append(part_ids)
                    rows.append(part)
            finally:
                self._db.execute("COMMIT")
        if not ids:
            return stamp, np.zeros(0, np.int64), np.zeros((0, dim), np.float32)
        return stamp, np.concatenate(ids), np.concatenate(rows)

    def _batches(self, after: int, last: int, dim: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        while after < last:
            found = self._db.execute(
                "SELECT chunk_id, vector FROM chunk_vectors WHERE chunk_id > ? AND chunk_id <= ? "
                "ORDER BY chunk_id LIMIT ?",
                (after, last, READ_BATCH),
            ).fetchall()
            if not found:
                return
            yield np.array([row[0] for row in found], np.int64), decode([r[1] for r in found], dim)
            after = int(found[-1][0])

    def missing(self, table: str = "chunk_vectors") -> np.ndarray:
        """Chunk ids without a row in `table`, ascending."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT c.id FROM chunks c LEFT JOIN {table} v ON v.chunk_id = c.id "
                "WHERE v.chunk_id IS NULL ORDER BY c.id"
            ).fetchall()
        return np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))

    def count(self, table: str = "chunk_vectors") -> int:
        """Rows in `table`."""
        with self._lock:
            return int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def bad_lengths(self, dim: int) -> int:
        """Stored vectors whose length is not `dim` float16 values."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM chunk_vectors WHERE length(vector) != ?",
                (dim * STORED.itemsize,),
            ).fetchone()
        return int(row[0])

    def clear_rebuild(self) -> None:
        """Forget the vectors of an unfinished `index rebuild`."""
        with self._lock:
            self._db.execute("DELETE FROM rebuild_vectors")

    def swap_in_rebuild(self, model: str, dim: int) -> None:
        """Swap every passage vector for the rebuild's and record the model, in one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM chunk_vectors")
                self._db.execute(
                    "INSERT INTO chunk_vectors(chunk_id, vector) "
                    "SELECT chunk_id, vector FROM rebuild_vectors ORDER BY chunk_id"
                )
                self._db.execute("DELETE FROM rebuild_vectors")
                for key, value in (("model", model), ("dim", str(dim))):
                    self._db.execute(
                        "INSERT INTO meta(key, value) VALUES(?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                        (key, value),
                    )
                self._db.execute("DELETE FROM meta WHERE key='rebuild_model'")
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # SQLite rolls back by itself on a full disk
                    self._db.execute("ROLLBACK")
                raise
