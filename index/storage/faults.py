"""Disk and database failures as the errors a user can act on (DiskFull, ReadOnlyArchive, …).

SQLite reports them by result code, the OS by errno, tantivy by the OS error in its message.
Anything else is not a storage fault and is left as it is.
"""

from __future__ import annotations

import errno
import functools
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

from index.errors import DamagedArchive, DatabaseLocked, DiskFull, ReadOnlyArchive, StorageFault
from index.i18n import _

P = ParamSpec("P")
T = TypeVar("T")

FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}
# tantivy (Rust) reports the OS error inside its message: "... (os error 28) at path ..."
FULL_WORDS = ("os error 28", "os error 122", "os error 27", "No space left on device")
READ_ONLY_WORDS = ("os error 30", "os error 13", "Read-only file system", "Permission denied")
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY = 5, 6, 8
SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_NOTADB = 10, 11, 13, 26
SQLITE_IOERR_SHMSIZE = 4874


def disk_full(where: Path) -> DiskFull:
    """The plain disk-full error for a write under `where`."""
    return DiskFull(
        _(
            "disk full: the disk holding {path} has no space left; free space and try again.",
            path=where,
        )
    )


def read_only(where: Path) -> ReadOnlyArchive:
    """The error for any write to an archive that cannot be written."""
    return ReadOnlyArchive(
        _(
            "the archive is read-only: {path} cannot be written (a read-only mount or "
            "permissions). Questions are answered; imports and changes need a writable data dir.",
            path=where,
        )
    )


def locked(where: Path) -> DatabaseLocked:
    """The error when another program holds the database's write lock too long."""
    return DatabaseLocked(
        _(
            "the database {path} is locked by another program (a write transaction held past "
            "the busy timeout); close it (an sqlite3 shell, a backup tool) and try again.",
            path=where,
        )
    )


def damaged(where: Path, detail: str) -> DamagedArchive:
    """The error for a damaged SQLite file, with how to restore a backup."""
    return DamagedArchive(
        _(
            "{path} is not a readable newsbot archive: it is damaged ({detail}). To restore it, "
            "stop the bot, move the file away, copy archive.sqlite3 from your latest `newsbot "
            "backup FOLDER` into the data dir and run `newsbot index check --repair` (or point "
            "NEWSBOT_DATA_DIR at the right folder).",
            path=where,
            detail=detail,
        )
    )


def translate(error: BaseException, where: Path) -> StorageFault | None:
    """The storage fault `error` means, or None when it is something else."""
    if isinstance(error, StorageFault):
        return error
    if isinstance(error, sqlite3.Error):
        code = (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF
        if code == SQLITE_FULL:
            return disk_full(where)
        if code == SQLITE_READONLY:
            return read_only(where)
        if code in (SQLITE_BUSY, SQLITE_LOCKED):
            return locked(where)
        if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
            return damaged(where, str(error))
        if code == SQLITE_IOERR and not writable(where):
            return read_only(where)
        if code == SQLITE_IOERR and (
            error.sqlite_errorcode == SQLITE_IOERR_SHMSIZE or free_bytes(where) < 65536
        ):
            return disk_full(where)  # the shared-memory file cannot grow, say
        return None
    if isinstance(error, OSError) and error.errno is not None:
        if error.errno in FULL_ERRNOS:
            return disk_full(where)
        if error.errno in READ_ONLY_ERRNOS:
            return read_only(where)
        return None
    if isinstance(error, OSError | ValueError | RuntimeError):
        text = str(error)
        if any(word in text for word in FULL_WORDS):
            return disk_full(where)
        if any(word in text for word in READ_ONLY_WORDS):
            return read_only(where)
    return None


@contextmanager
def translated(where: Path) -> Iterator[None]:
    """Raise storage faults inside the block as DiskFull, ReadOnlyArchive and the like."""
    try:
        yield
    except (sqlite3.Error, OSError, ValueError, RuntimeError) as error:
        fault = translate(error, where)
        if fault is None or fault is error:
            raise
        raise fault from error


def translating(method: Callable[P, T]) -> Callable[P, T]:
    """A Store method whose storage faults are translated (the store's path names them)."""

    @functools.wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        with translated(args[0].path):  # type: ignore[attr-defined]
            return method(*args, **kwargs)

    return run


def writable(path: Path) -> bool:
    """Whether `path` (a folder, or a file and its folder) can be written by this process."""
    folder = path if path.is_dir() else path.parent
    if not os.access(folder, os.W_OK):
        return False
    return not path.is_file() or os.access(path, os.W_OK)


def free_bytes(path: Path) -> int:
    """Bytes free to this process on the file system holding `path`."""
    while not path.exists() and path != path.parent:
        path = path.parent
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize
