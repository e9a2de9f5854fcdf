"""The SQLite engine: one file in the data dir, WAL, and a lock file for the one writer."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from index.errors import ArchiveError, WriterBusy
from index.i18n import _
from index.storage.connection import check_schema, connect, quick_check, rollback
from index.storage.database import Row
from index.storage.faults import damaged, translate, translated, translating
from index.storage.vector_files import write_lock

ENGINE = "sqlite"


def statements(script: str) -> Iterator[str]:
    """A migration's statements; a trigger body keeps its inner semicolons."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending
            pending = ""


class SQLiteDatabase:
    """The archive's SQLite file on one connection; safe to share between threads.

    SQLite's and the OS's errors come out as storage faults (DiskFull, ReadOnlyArchive,
    DatabaseLocked, DamagedArchive; see `faults.translate`) from every statement.
    """

    engine = ENGINE

    def __init__(
        self, path: Path, lock_path: Path, *, read_only: bool = False, busy_seconds: float = 30
    ) -> None:
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.target: str | Path = path
        self.location = str(path)
        self.read_only = read_only
        self.busy_seconds = busy_seconds
        self._lock_path = lock_path
        self._lock = threading.RLock()
        try:
            self._db = connect(path, read_only)
            # The timeout first: another process may hold a lock (or be recovering after a crash).
            self._db.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
            self._db.execute("PRAGMA foreign_keys=ON")
            if read_only:
                check_schema(self._db, path)  # nothing can be migrated
            else:
                self._db.execute("PRAGMA journal_mode=WAL")
        except BaseException as error:
            if hasattr(self, "_db"):
                self._db.close()
            if not isinstance(error, sqlite3.Error):
                raise
            fault = translate(error, path)
            if fault is None and not isinstance(error, sqlite3.OperationalError):
                fault = damaged(path, str(error))  # not a database at all
            if fault is None:
                raise
            raise fault from error

    @translating
    def rows(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        """Every row a statement returns."""
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    @translating
    def one(self, sql: str, args: Sequence[object] = ()) -> Row | None:
        """The first row a statement returns, if any."""
        with self._lock:
            row: Row | None = self._db.execute(sql, args).fetchone()
            return row

    @translating
    def run(self, sql: str, args: Sequence[object] = ()) -> int:
        """Run a statement; the number of rows it changed."""
        with self._lock:
            return int(self._db.execute(sql, args).rowcount)

    @translating
    def run_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """Run a statement once for each row of parameters."""
        with self._lock:
            self._db.executemany(sql, rows)

    def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        """One prepared INSERT for every row (SQLite's fastest way in)."""
        marks = ", ".join("?" * len(columns))
        self.run_many(f"INSERT INTO {table}({', '.join(columns)}) VALUES({marks})", rows)

    @contextmanager
    def _begun(self, begin: str) -> Iterator[None]:
        with translated(self.path), self._lock:
            self._db.execute(begin)
            try:
                yield
            except BaseException:
                rollback(self._db)  # unless SQLite rolled back by itself (a full disk)
                raise
            self._db.execute("COMMIT")

    def transaction(self) -> AbstractContextManager[None]:
        """A write transaction, holding SQLite's write lock from its start."""
        return self._begun("BEGIN IMMEDIATE")

    def snapshot(self) -> AbstractContextManager[None]:
        """A read transaction: WAL keeps its view for every statement inside."""
        return self._begun("BEGIN")

    @translating
    def script(self, sqlite: str, postgresql: str) -> None:
        """Run a migration's SQLite statements."""
        with self._lock:
            for statement in statements(sqlite):
                self._db.execute(statement)

    def schema_version(self, lock: bool = False) -> int:
        """The number of the last migration applied (user_version; BEGIN IMMEDIATE locks)."""
        try:
            return int(self.rows("PRAGMA user_version")[0][0])  # type: ignore[call-overload]
        except sqlite3.OperationalError:
            raise
        except sqlite3.DatabaseError as error:
            raise damaged(self.path, str(error)) from error

    def set_schema_version(self, number: int) -> None:
        """Record a migration as applied."""
        self.run(f"PRAGMA user_version={int(number)}")

    def last_ids(self, tables: Sequence[str]) -> dict[str, int]:
        """The highest id each AUTOINCREMENT table ever gave out (sqlite_sequence)."""
        marks = ",".join("?" * len(tables))
        rows = self.rows(f"SELECT name, seq FROM sqlite_sequence WHERE name IN ({marks})", tables)
        found = {str(name): int(seq) for name, seq in rows}  # type: ignore[call-overload]
        return {table: found.get(table, 0) for table in tables}

    def carry_ids(self, tables: Sequence[str]) -> None:
        """SQLite moves its sequences itself when a row is inserted with an id."""

    def vector(self, blob: bytes) -> object:
        """Vectors are stored as the blob itself."""
        return blob

    def vector_bytes(self, column: str) -> str:
        """A blob's length."""
        return f"length({column})"

    def nearest(self, dim: int, k: int) -> str:
        """SQLite has no vector index: its searches go to the FAISS cache."""
        raise ArchiveError(
            "NEWSBOT_VECTOR_SEARCH=database needs the archive in PostgreSQL "
            "(NEWSBOT_DATABASE_URL); with SQLite, vectors are searched in the FAISS cache."
        )

    def index_vectors(self, dim: int) -> None:
        """Refused, as `nearest` is."""
        self.nearest(dim, 1)

    def greatest(self, first: str, second: str) -> str:
        """SQLite's scalar max()."""
        return f"MAX({first}, {second})"

    def write_lock(self, wait: bool) -> AbstractContextManager[None]:
        """The lock file beside the database."""
        return write_lock(self._lock_path, wait)

    def holds_write_lock(self) -> bool:
        """Whether another process (or open of the lock file) holds the lock file."""
        try:
            with write_lock(self._lock_path, wait=False):
                return False
        except WriterBusy:
            return True

    def backup(self, target: Path) -> None:
        """A consistent copy of the database at `target`, taken online (SQLite's backup API)."""
        try:
            copy = sqlite3.connect(target)
            try:
                with self._lock:
                    self._db.backup(copy)
            finally:
                copy.close()
        except sqlite3.Error as error:
            raise ArchiveError(
                _("Cannot write the backup {target}: {error}", target=target, error=error)
            ) from error

    def quick_check(self) -> list[str]:
        """SQLite's quick_check of every page: its complaints, or the error reading them."""
        with self._lock:
            return quick_check(self._db)

    def reconnect(self) -> SQLiteDatabase:
        """A second connection to the same file, opened as this one was."""
        return SQLiteDatabase(
            self.path, self._lock_path, read_only=self.read_only, busy_seconds=self.busy_seconds
        )

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()
