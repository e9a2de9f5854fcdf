"""PostgreSQL's errors as the storage faults SQLite's become (DiskFull, ReadOnlyArchive, …).

The server says what went wrong by SQLSTATE; the bot and the CLI then give the same short
message on both engines. A connection the server dropped is `DatabaseUnreachable`, which the
callers that can (a question, an article's transaction) try once more on a new connection.
"""

from __future__ import annotations

import psycopg

from index.errors import (
    ArchiveError,
    DamagedArchive,
    DatabaseLocked,
    DatabaseUnreachable,
    DiskFull,
    ReadOnlyArchive,
    StorageFault,
)
from index.i18n import _

LOCKED = {"55P03", "40P01", "40001"}  # lock_not_available, deadlock, serialization failure
DAMAGED = {"XX001", "XX002"}  # data_corrupted, index_corrupted
# admin/crash shutdown, cannot connect now, idle session timeout; class 08 is connections'
GONE = {"57P01", "57P02", "57P03", "57P05"}


def first_line(error: BaseException) -> str:
    """The error's first line, for one-line messages."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def unreachable(location: str, error: BaseException) -> DatabaseUnreachable:
    """The server went away; nothing of the unfinished change was stored."""
    return DatabaseUnreachable(
        _(
            "lost the database at {location} ({detail}); nothing of the unfinished change was "
            "stored. Try again when the server is back.",
            location=location,
            detail=first_line(error),
        )
    )


def fault(error: psycopg.Error, location: str) -> StorageFault | None:
    """The storage fault a PostgreSQL error means, or None when it is something else."""
    state = error.sqlstate or ""
    if state == "53100":
        return DiskFull(
            _(
                "disk full: the database server at {location} has no space left; free space "
                "there and try again.",
                location=location,
            )
        )
    if state == "25006":
        return ReadOnlyArchive(
            _(
                "the archive is read-only: the database at {location} refuses writes (a "
                "read-only transaction or a standby). Questions are answered; imports and "
                "changes need a writable primary.",
                location=location,
            )
        )
    if state in LOCKED:
        return DatabaseLocked(
            _(
                "the database {location} is locked by another session (a lock held past the "
                "lock timeout); end that session's transaction and try again.",
                location=location,
            )
        )
    if state in DAMAGED:
        return DamagedArchive(
            _(
                "the database at {location} reports damaged data ({detail}); restore it from "
                "your latest pg_dump, or run REINDEX when only an index is damaged.",
                location=location,
                detail=first_line(error),
            )
        )
    if state in GONE or state.startswith("08"):
        return unreachable(location, error)
    return None


def explained(error: psycopg.Error, location: str, lost: bool) -> ArchiveError:
    """The error a caller sees: a storage fault, else the server's refusal in one line."""
    if lost:
        return unreachable(location, error)
    found = fault(error, location)
    if found is not None:
        return found
    return ArchiveError(
        _(
            "The database at {location} refused: {detail}",
            location=location,
            detail=first_line(error),
        )
    )
