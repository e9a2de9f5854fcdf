"""Files of the vector index: atomic writes, and the delta of changes since the last whole write.

The delta (an .npz of ids, vectors and removed ids, no pickle) names the index file it
belongs to by that file's inode and mtime, so a delta left beside a newer index is ignored.
"""

from __future__ import annotations

import fcntl
import os
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.errors import WriterBusy

Stamp = tuple[int, int, int, int]


def delta_path(path: Path) -> Path:
    """The delta file that belongs to an index file."""
    return path.with_name(path.name + ".delta.npz")


def file_stamp(path: Path) -> Stamp:
    """(inode, mtime) of the index file and of its delta; changes whenever either is replaced."""
    stamps: list[int] = []
    for part in (path, delta_path(path)):
        try:
            info = part.stat()
            stamps += [info.st_ino, info.st_mtime_ns]
        except FileNotFoundError:
            stamps += [0, 0]
    return stamps[0], stamps[1], stamps[2], stamps[3]


@dataclass
class Delta:
    """Changes since the index file was written: added vectors and removed ids."""

    added: dict[int, np.ndarray] = field(default_factory=dict)
    removed: set[int] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.added) + len(self.removed)

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        """Record vectors added under ids."""
        self.added.update(zip(ids, vectors, strict=True))

    def remove(self, ids: list[int]) -> None:
        """Record ids removed (added ones are simply forgotten)."""
        for chunk_id in ids:
            self.added.pop(chunk_id, None)
            self.removed.add(chunk_id)

    def then(self, newer: Delta) -> Delta:
        """This delta followed by a newer one."""
        merged = Delta(dict(self.added), set(self.removed))
        merged.remove(list(newer.removed))
        merged.added.update(newer.added)
        return merged


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temp file, fsync it and rename it over `path`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_delta(path: Path, stamp: Stamp) -> Delta:
    """The delta beside the index file `path`, if it belongs to that file."""
    if stamp[2:] == (0, 0):
        return Delta()
    try:
        with np.load(delta_path(path), allow_pickle=False) as saved:
            if tuple(int(x) for x in saved["base"]) != stamp[:2]:
                return Delta()
            removed = {int(i) for i in saved["removed"]}
            return Delta(dict(zip(saved["ids"].tolist(), saved["vectors"], strict=True)), removed)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise RuntimeError(f"{delta_path(path).name} cannot be read ({error})") from error


def write_delta(path: Path, delta: Delta, base: Stamp, dim: int) -> None:
    """Write the delta of the index file `path` (whose stamp is `base`) atomically."""
    ids = np.fromiter(delta.added, dtype=np.int64, count=len(delta.added))
    vectors = np.stack(list(delta.added.values())) if delta.added else np.zeros((0, dim))
    removed = np.fromiter(delta.removed, dtype=np.int64, count=len(delta.removed))

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(
                handle,
                base=np.array(base[:2], dtype=np.int64),
                ids=ids,
                vectors=vectors.astype(np.float32),
                removed=removed,
            )

    write_atomically(delta_path(path), write)


@contextmanager
def write_lock(path: Path, wait: bool = True) -> Iterator[None]:
    """Hold the one-writer lock file; without `wait`, WriterBusy if another process holds it."""
    with open(path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise WriterBusy(
                "Another import, refresh or rebuild is writing to the archive; "
                "try again when it has finished."
            ) from error
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
