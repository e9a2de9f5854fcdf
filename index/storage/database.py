"""The one interface the storage layer talks to, and the one place an engine is chosen.

`Store`, `VectorRows`, `KeywordRows` and `SubscriptionStore` write one SQL text per operation
in the dialect both engines share (`?` parameters, `ON CONFLICT`, `RETURNING`); what differs
(schema version, id sequences, vector columns, locks, scalar `max`) is asked of the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from index.settings import Settings

Row = tuple[object, ...]
SQLITE_FILE = "archive.sqlite3"


class Database(Protocol):
    """One connection to the archive's database, shared between threads (calls are serialised)."""

    engine: str  # "sqlite" or "postgresql"
    target: str | Path  # what `connect` opens again
    location: str  # the file or the URL without its password, for messages
    read_only: bool  # an SQLite file opened read-only (an unwritable data dir, a full disk)

    def rows(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        """Every row a statement returns."""
        ...

    def one(self, sql: str, args: Sequence[object] = ()) -> Row | None:
        """The first row a statement returns, if any."""
        ...

    def run(self, sql: str, args: Sequence[object] = ()) -> int:
        """Run a statement; the number of rows it changed."""
        ...

    def run_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """Run a statement once for each row of parameters."""
        ...

    def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        """Append rows (values in column order) as fast as the engine takes them: COPY or
        one prepared INSERT; vector columns take `vector(blob)` values."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """A write transaction, committed at the end or rolled back on an exception."""
        ...

    def snapshot(self) -> AbstractContextManager[None]:
        """A read transaction: every statement inside sees the same state."""
        ...

    def script(self, sqlite: str, postgresql: str) -> None:
        """Run a migration's statements (the caller holds the transaction)."""
        ...

    def schema_version(self, lock: bool = False) -> int:
        """The number of the last migration applied; with `lock`, taken against migrating twice."""
        ...

    def set_schema_version(self, number: int) -> None:
        """Record a migration as applied (inside its transaction)."""
        ...

    def last_ids(self, tables: Sequence[str]) -> dict[str, int]:
        """The highest id each table's key ever gave out (ids are never reused)."""
        ...

    def carry_ids(self, tables: Sequence[str]) -> None:
        """After rows were copied in with their ids, make new ids follow the highest."""
        ...

    def vector(self, blob: bytes) -> object:
        """A float16 vector blob as a parameter of the vector columns."""
        ...

    def vector_bytes(self, column: str) -> str:
        """SQL for a stored vector's size in float16 bytes."""
        ...

    def nearest(self, dim: int, k: int) -> str:
        """SQL for the `k` passages nearest one `?` vector (inner product), best first."""
        ...

    def index_vectors(self, dim: int) -> None:
        """Build the vector index `nearest` uses, unless it is there."""
        ...

    def greatest(self, first: str, second: str) -> str:
        """SQL for the larger of two values."""
        ...

    def write_lock(self, wait: bool) -> AbstractContextManager[None]:
        """One writer across processes; without `wait`, WriterBusy when another holds it."""
        ...

    def holds_write_lock(self) -> bool:
        """Whether some process holds the write lock now (for tests and `index check`)."""
        ...

    def quick_check(self) -> list[str]:
        """What the engine finds wrong with its stored pages; empty when sound."""
        ...

    def backup(self, target: Path) -> None:
        """A consistent copy of the database in the SQLite file `target`."""
        ...

    def reconnect(self) -> Database:
        """A second connection to the same database."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


def archive_target(settings: Settings) -> str | Path:
    """The archive's database: NEWSBOT_DATABASE_URL, else the SQLite file in the data dir."""
    return settings.database_url or settings.data_dir / SQLITE_FILE


def is_url(target: str | Path) -> bool:
    """Whether a target names a database server rather than a file."""
    return isinstance(target, str) and "://" in target


def connect(
    target: str | Path,
    lock_dir: Path | None = None,
    *,
    read_only: bool = False,
    busy_seconds: float = 30,
) -> Database:
    """Open the database a target names: a PostgreSQL URL or an SQLite file.

    `read_only` is SQLite's: a PostgreSQL server is written whatever the data dir allows.
    `busy_seconds` is how long to wait for another writer's lock (PostgreSQL's lock_timeout).
    """
    if is_url(target):
        from index.storage.postgres_db import PostgresDatabase  # only when PostgreSQL is used

        return PostgresDatabase(str(target), busy_seconds)
    from index.storage.sqlite_db import SQLiteDatabase

    path = Path(target)
    return SQLiteDatabase(
        path,
        (lock_dir or path.parent) / "write.lock",
        read_only=read_only,
        busy_seconds=busy_seconds,
    )
