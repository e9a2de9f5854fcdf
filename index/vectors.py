"""The FAISS index: vector id = chunk row id; saved by writing a temp file and renaming it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import faiss
import numpy as np


class VectorIndex:
    """Inner-product search over normalised vectors, keyed by chunk id."""

    def __init__(self, index: faiss.Index) -> None:
        self._index = index
        self._lock = threading.RLock()

    @classmethod
    def empty(cls, dim: int) -> VectorIndex:
        """A new exact index."""
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)))

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        """Read an index written by `save`."""
        return cls(faiss.read_index(str(path)))

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def kind(self) -> str:
        """The FAISS index type inside the id map."""
        inner = faiss.downcast_index(self._index.index) if hasattr(self._index, "index") else None
        return type(inner or self._index).__name__

    def ids(self) -> np.ndarray:
        """Every stored id, as int64."""
        with self._lock:
            if isinstance(self._index, faiss.IndexIDMap2 | faiss.IndexIDMap):
                return faiss.vector_to_array(self._index.id_map).astype(np.int64)
            return np.arange(self._index.ntotal, dtype=np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors of shape (n, dim) under the given ids."""
        if len(ids) == 0:
            return
        with self._lock:
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )

    def remove(self, ids: np.ndarray) -> int:
        """Remove vectors by id; returns how many went."""
        if len(ids) == 0:
            return 0
        with self._lock:
            return int(self._index.remove_ids(np.asarray(ids, dtype=np.int64)))  # type: ignore[arg-type]

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of shape (len(queries), k); missing results have id -1."""
        with self._lock:
            k = max(1, min(k, max(1, self._index.ntotal)))
            scores, ids = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, ids

    def save(self, path: Path) -> None:
        """Write atomically: a crash leaves the previous file whole."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with self._lock:
            faiss.write_index(self._index, str(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
