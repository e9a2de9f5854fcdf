"""The FAISS cache file: FAISS's own format, then a footer naming the SQLite state it holds.

The footer (magic, generation, last chunk id, vector count; 32 bytes) follows what
`faiss.write_index` wrote; FAISS stops reading where its index ends. The file is written
whole to a temp file, fsynced and renamed, so a crash leaves the previous file whole.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.errors import WriterBusy
from index.i18n import _
from index.storage.vector_rows import VectorStamp

MAGIC = b"NBVEC001"
FOOTER_BYTES = len(MAGIC) + 3 * 8


@dataclass(frozen=True)
class Footer:
    """What a cache file holds: the vector table's stamp when it was written, and its size."""

    stamp: VectorStamp
    count: int


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temp file, fsync it and rename it over `path`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def append_footer(path: Path, footer: Footer) -> None:
    """Append the footer to a freshly written index file."""
    numbers = [footer.stamp.generation, footer.stamp.last_id, footer.count]
    with open(path, "ab") as handle:
        handle.write(MAGIC + np.array(numbers, dtype="<i8").tobytes())


def read_footer(path: Path) -> Footer | None:
    """The footer of a cache file; None if it has none (damaged, or not written by newsbot)."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() < FOOTER_BYTES:
            return None
        handle.seek(-FOOTER_BYTES, os.SEEK_END)
        raw = handle.read(FOOTER_BYTES)
    if not raw.startswith(MAGIC):
        return None
    generation, last_id, count = (int(n) for n in np.frombuffer(raw[len(MAGIC) :], dtype="<i8"))
    return Footer(VectorStamp(generation, last_id), count)


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs (a temp file's writer, say)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def left_by_the_dead(paths: Iterable[Path]) -> list[Path]:
    """Those of the temp paths (named `.NAME.PID.SUFFIX`) whose process is gone."""
    stale = []
    for path in paths:
        pid = path.name.rsplit(".", 2)[-2]
        if not pid.isdigit() or not process_alive(int(pid)):
            stale.append(path)
    return sorted(stale)


def remove_path(path: Path) -> None:
    """Remove a file or a folder with everything in it; nothing if it is not there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def write_lock(path: Path, wait: bool = True) -> Iterator[None]:
    """Hold the one-writer lock file; without `wait`, WriterBusy if another process holds it."""
    with open(path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise WriterBusy(
                _(
                    "Another import, refresh or rebuild is writing to the archive; "
                    "try again when it has finished."
                )
            ) from error
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
