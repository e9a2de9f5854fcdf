"""Opening the SQLite file: read-write, or read-only for a data dir that cannot be written."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from index.errors import ArchiveError
from index.i18n import _
from index.storage.faults import read_only as read_only_error
from index.storage.migrations import MIGRATIONS


def connect(path: Path, read_only: bool) -> sqlite3.Connection:
    """A connection in autocommit mode; read-only ones never create or change a file.

    SQLite opens a WAL database read-only (`mode=ro`) when its -wal and -shm files exist; after
    a clean close they are gone and cannot be created on a read-only mount (or a full disk),
    and with no (or an empty) -wal file there is nothing beyond the main file to read, so it
    is opened as immutable.
    """
    if not read_only:
        return sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    if not path.is_file():
        raise ArchiveError(
            _("There is no archive at {path}, and the folder cannot be written.", path=path)
        )
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    try:
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        db.close()
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size:
            raise
    uri += "&immutable=1"
    return sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)


def check_schema(db: sqlite3.Connection, path: Path) -> None:
    """A read-only archive must already have every migration: none can be applied."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version < len(MIGRATIONS):
        raise read_only_error(path.parent)


def rollback(db: sqlite3.Connection) -> None:
    """Roll back the open transaction, if SQLite has not already (it does on a full disk)."""
    if db.in_transaction:
        db.execute("ROLLBACK")


def quick_check(db: sqlite3.Connection) -> list[str]:
    """SQLite's quick_check of every page: its complaints, or the error reading them."""
    try:
        rows = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as error:
        return [str(error)]
    return [str(row[0]) for row in rows if row[0] != "ok"]
