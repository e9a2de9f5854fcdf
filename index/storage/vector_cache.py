"""The FAISS index as a cache of the vectors in SQLite: loaded, appended to, rebuilt, saved.

Every reader checks the vector table's stamp (generation, last id) before a search: rows
appended by another process are added to the loaded index; any other change, a missing,
damaged or stale file, means a rebuild from SQLite. No model is needed for either.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from index.storage.store import Store
from index.storage.vector_files import Footer, left_by_the_dead
from index.storage.vector_rows import VectorStamp
from index.storage.vectors import VectorIndex

log = logging.getLogger(__name__)

SAVE_LAG = 20_000  # vectors appended since the file was written before it is written again


class VectorCache:
    """The in-memory FAISS index of one process, in step with SQLite; thread-safe."""

    def __init__(
        self,
        store: Store,
        path: Path,
        index_type: str,
        fallback_dim: Callable[[], int],
        writable: bool = True,
    ) -> None:
        self.store = store
        self.path = path
        self.index_type = index_type
        self._fallback_dim = fallback_dim
        self._index: VectorIndex | None = None
        self._stamp = VectorStamp(-1, 0)  # the SQLite state the loaded index holds
        self._saved: Footer | None = None  # what the file holds, as far as this process knows
        self._lock = threading.RLock()
        self.writable = writable  # a read-only archive keeps the index in memory only
        self.save_error: OSError | None = None  # why the last save failed (a full disk, say)

    def current(self) -> VectorIndex:
        """The index, first brought up to date with SQLite (a cheap check when it is)."""
        stamp = self.store.vectors.stamp()
        with self._lock:
            if self._index is None or stamp != self._stamp:
                self._refresh()
            assert self._index is not None
            return self._index

    def pending(self) -> int:
        """Vectors in SQLite the file does not hold yet, or -1 when it must be rebuilt."""
        stamp = self.store.vectors.stamp()
        footer = self.file_footer()
        if footer is None or footer.stamp.generation != stamp.generation:
            return -1
        return max(0, self.store.vectors.count() - footer.count)

    def lag(self) -> int:
        """Vectors in SQLite this process's index does not hold yet (without catching up)."""
        count = self.store.vectors.count()
        with self._lock:
            held = len(self._index) if self._index is not None else 0
        return max(0, count - held)

    def file_footer(self) -> Footer | None:
        """The cache file's footer; None if the file is missing or unreadable."""
        try:
            return VectorIndex.load(self.path)[1]
        except (OSError, ValueError):
            return None

    def _dim(self) -> int:
        stored = self.store.vectors.dim()
        return stored if stored is not None else self._fallback_dim()

    def _refresh(self) -> None:
        if self._index is None:
            self._load()
        if self._index is None or not self._append(self._index):
            self.rebuild()

    def _append(self, index: VectorIndex) -> bool:
        """Add the rows appended since the loaded state; False when only a rebuild will do."""
        now = self.store.vectors.stamp()
        if now.generation != self._stamp.generation or now.last_id < self._stamp.last_id:
            return False
        stamp, ids, rows = self.store.vectors.read_after(self._stamp.last_id, index.dim)
        if stamp.generation != self._stamp.generation:
            return False
        index.add(ids, rows)
        self._stamp = stamp
        if len(ids):
            log.info("Added %d passages stored since to the vector index", len(ids))
        if index.fit(self.index_type):  # grown past exact search's limit, or the setting changed
            self.save()
        return True

    def _load(self) -> None:
        try:
            self._index, self._saved = VectorIndex.load(self.path)
            self._stamp = self._saved.stamp
        except FileNotFoundError:
            return
        except (OSError, ValueError) as error:
            log.warning("Rebuilding the vector index from SQLite: %s", error)

    def rebuild(self) -> VectorIndex:
        """Build the index from the vectors in SQLite (no model) and save it."""
        with self._lock:
            dim = self._dim()
            stamp, ids, rows = self.store.vectors.read_after(0, dim)
            index = VectorIndex.build(self.index_type, dim, ids, rows)
            self._index, self._stamp = index, stamp
            log.info("Built the vector index from SQLite: %d passages, %s", len(index), index.kind)
            self.save()
            return index

    def save(self) -> None:
        """Write the file (readers too: a failed write only costs the next opener a rebuild).

        When it cannot be written (a full disk) the index in memory goes on serving, and
        the next `save_if_behind` tries again.
        """
        with self._lock:
            if self._index is None or not self.writable:
                return
            try:
                self._index.save(self.path, self._stamp)
            except OSError as error:
                log.warning("Could not save the vector index %s: %s", self.path, error)
                self.save_error = error
                return
            self.save_error = None
            self._saved = Footer(self._stamp, len(self._index))

    def save_if_behind(self) -> None:
        """Write the file when it lags far enough behind SQLite, or holds another generation."""
        with self._lock:
            index, saved = self.current(), self._saved
            if (
                self.save_error is not None
                or saved is None
                or saved.stamp.generation != self._stamp.generation
                or len(index) - saved.count > max(SAVE_LAG, len(index) // 20)
            ):
                self.save()

    def stale_temp_files(self) -> list[Path]:
        """Half-written cache files of processes that are gone (killed while saving)."""
        return left_by_the_dead(self.path.parent.glob(f".{self.path.name}.*.tmp"))
