"""The PostgreSQL engine (psycopg 3, pgvector's `halfvec`): one archive shared by many processes.

SQL arrives in the shared dialect (`?` marks) and is translated once per text. Results come in
binary, so a `halfvec` reads straight into the little-endian float16 blob SQLite would hold
(see postgres_types, which also holds the binary COPY that bulk copies use).
The one-writer lock is a session advisory lock, freed by the server when its holder dies.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.types import TypeInfo

from index.errors import ArchiveError, DatabaseUnreachable, WriterBusy
from index.storage.database import Row
from index.storage.postgres_faults import explained, fault, first_line
from index.storage.postgres_types import HalfVector, copy_rows, register_halfvec

ENGINE = "postgresql"
WRITE_LOCK = 0x6E657773  # advisory lock keys, per database: "news"
MIGRATE_LOCK = WRITE_LOCK + 1
SEQUENCE_COLUMNS = {"chunk_deletions": "seq"}  # other tables' keys are `id`
CONNECT_TRIES = 3
EF_SEARCH = 200
HNSW_BUILD_MEMORY = "2GB"  # an upper bound: taken only as the graph grows
T = TypeVar("T")


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """The shared dialect's `?` marks as psycopg's `%s`."""
    return sql.replace("%", "%%").replace("?", "%s")


def public_location(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(//[^/:@]*):[^/@]*@", r"\1@", url)


class PostgresDatabase:
    """One connection to the archive's PostgreSQL database; safe to share between threads."""

    engine = ENGINE

    def __init__(self, url: str, busy_seconds: float = 30) -> None:
        self.target: str | Path = url
        self.busy_seconds = busy_seconds
        self.read_only = False  # the server's to decide, not the data dir's
        self.url = url
        self.location = public_location(url)
        self._lock = threading.RLock()
        self._conn = self._connect()

    def _connect(self) -> psycopg.Connection[Any]:
        for attempt in range(CONNECT_TRIES):
            try:
                conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
                break
            except psycopg.OperationalError as error:
                if attempt == CONNECT_TRIES - 1 or "password" in str(error):
                    raise DatabaseUnreachable(
                        f"Cannot reach the database at {self.location}: {first_line(error)}. "
                        "Check NEWSBOT_DATABASE_URL and that the server is running."
                    ) from error
                time.sleep(0.5 * (attempt + 1))
            except psycopg.ProgrammingError as error:
                raise ArchiveError(
                    f"NEWSBOT_DATABASE_URL is not a PostgreSQL URL ({first_line(error)})."
                ) from error
        try:
            self._register_vectors(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _register_vectors(self, conn: psycopg.Connection[Any]) -> None:
        info = TypeInfo.fetch(conn, "halfvec")
        if info is None:
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except psycopg.Error as error:
                raise ArchiveError(
                    f"The database at {self.location} lacks pgvector's `vector` extension and "
                    f"newsbot cannot create it ({first_line(error)}). Install pgvector and run "
                    "CREATE EXTENSION vector; as a superuser in that database."
                ) from error
            info = TypeInfo.fetch(conn, "halfvec")
            assert info is not None
        register_halfvec(conn, info)
        # HNSW returns at most ef_search rows; the retriever asks for 100 candidates.
        conn.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
        # Like SQLite's busy timeout: a lock another session holds longer is DatabaseLocked.
        conn.execute(f"SET lock_timeout = {max(1, int(self.busy_seconds * 1000))}")

    def _call(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run on the connection; a connection lost outside a transaction is opened again once."""
        with self._lock:
            self._revive()
            idle = self._conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            try:
                with self._translated():
                    return work(self._conn)
            except DatabaseUnreachable:
                if not idle:
                    raise  # the transaction is gone: its caller decides whether to try again
            self._conn = self._connect()
            with self._translated():
                return work(self._conn)

    def _revive(self) -> None:
        """A connection the server dropped earlier is opened again before it is used."""
        if self._conn.broken:
            self._conn = self._connect()

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Storage faults and refusals as errors a user can act on; a bug in our SQL as itself."""
        try:
            yield
        except psycopg.Error as error:
            lost = self._conn.broken or self._conn.closed
            if lost or fault(error, self.location) or isinstance(error, psycopg.OperationalError):
                raise explained(error, self.location, lost) from error
            raise

    def rows(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        """Every row a statement returns."""

        def work(conn: psycopg.Connection[Any]) -> list[Row]:
            cursor = conn.execute(translate(sql), args, binary=True)
            return cursor.fetchall() if cursor.description else []

        return self._call(work)

    def one(self, sql: str, args: Sequence[object] = ()) -> Row | None:
        """The first row a statement returns, if any."""
        found = self.rows(sql, args)
        return found[0] if found else None

    def run(self, sql: str, args: Sequence[object] = ()) -> int:
        """Run a statement; the number of rows it changed."""
        return self._call(lambda conn: conn.execute(translate(sql), args, binary=True).rowcount)

    def run_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """Run a statement once for each row of parameters (pipelined)."""
        if rows:
            self._call(lambda conn: conn.cursor(binary=True).executemany(translate(sql), rows))

    def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        """Append rows with one binary COPY."""
        if rows:
            self._call(lambda conn: copy_rows(conn, table, columns, rows))

    @contextmanager
    def _begun(self, first: str | None) -> Iterator[None]:
        with self._lock:
            self._revive()
            with self._translated(), self._conn.transaction():
                if first:
                    self._conn.execute(first)
                yield

    def transaction(self) -> AbstractContextManager[None]:
        """A write transaction (the write lock keeps writers apart)."""
        return self._begun(None)

    def snapshot(self) -> AbstractContextManager[None]:
        """A repeatable-read transaction: every statement sees the state at its start."""
        return self._begun("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def script(self, sqlite: str, postgresql: str) -> None:
        """Run a migration's PostgreSQL text."""
        if postgresql.strip():  # several statements: the simple protocol, no parameters
            self._call(lambda conn: conn.execute(postgresql.encode()))

    def schema_version(self, lock: bool = False) -> int:
        """The last migration applied; with `lock`, migrations wait for each other."""
        if lock:  # a long migration elsewhere is waited for, whatever the lock timeout
            self.run("SET LOCAL lock_timeout = 0")
            self.rows("SELECT pg_advisory_xact_lock(?)", (MIGRATE_LOCK,))
        if self.one("SELECT to_regclass('newsbot_schema')") == (None,):
            if self.one("SELECT to_regclass('sources')") != (None,):
                raise ArchiveError(
                    f"The database at {self.location} holds tables that are not a newsbot "
                    "archive; point NEWSBOT_DATABASE_URL at an empty database or a newsbot one."
                )
            return 0
        row = self.one("SELECT version FROM newsbot_schema")
        return 0 if row is None else int(row[0])  # type: ignore[call-overload]

    def set_schema_version(self, number: int) -> None:
        """Record a migration as applied."""
        self.run("CREATE TABLE IF NOT EXISTS newsbot_schema (version INTEGER NOT NULL)")
        self.run("DELETE FROM newsbot_schema")
        self.run("INSERT INTO newsbot_schema(version) VALUES (?)", (number,))

    def last_ids(self, tables: Sequence[str]) -> dict[str, int]:
        """The highest id each table's identity sequence ever gave out."""
        found: dict[str, int] = {}
        for table in tables:
            row = self.one(
                "SELECT pg_sequence_last_value(CAST(pg_get_serial_sequence(?, ?) AS regclass))",
                (table, SEQUENCE_COLUMNS.get(table, "id")),
            )
            found[table] = int(row[0] or 0) if row else 0  # type: ignore[call-overload]
        return found

    def carry_ids(self, tables: Sequence[str]) -> None:
        """Move each identity sequence past the highest id copied in."""
        for table in tables:
            column = SEQUENCE_COLUMNS.get(table, "id")
            self.rows(
                f"SELECT setval(pg_get_serial_sequence(?, ?), MAX({column})) FROM {table} "
                f"HAVING MAX({column}) IS NOT NULL",
                (table, column),
            )

    def vector(self, blob: bytes) -> object:
        """A blob bound as `halfvec`."""
        return HalfVector(blob)

    def vector_bytes(self, column: str) -> str:
        """Two bytes a dimension."""
        return f"(vector_dims({column}) * 2)"

    def nearest(self, dim: int, k: int) -> str:
        """pgvector's HNSW index on the vectors as `halfvec(dim)` (made by `index_vectors`)."""
        typed = f"CAST(vector AS halfvec({int(dim)}))"
        return (
            f"SELECT chunk_id, -({typed} <#> CAST(? AS halfvec({int(dim)}))) FROM chunk_vectors "
            f"ORDER BY {typed} <#> CAST(? AS halfvec({int(dim)})) LIMIT {int(k)}"
        )

    def index_vectors(self, dim: int) -> None:
        """Build the HNSW index the `database` vector search uses, unless it is there."""
        name = f"chunk_vectors_hnsw_{int(dim)}"
        if self.one("SELECT to_regclass(?)", (name,)) != (None,):
            return
        with self.transaction():
            # The graph is built fast while it fits in maintenance_work_mem (64 MB by default:
            # ~50k passages); 1M passages of 384 dimensions need about 1.3 GB.
            self.run(f"SET LOCAL maintenance_work_mem = '{HNSW_BUILD_MEMORY}'")
            self.run(
                f"CREATE INDEX IF NOT EXISTS {name} ON chunk_vectors "
                f"USING hnsw ((CAST(vector AS halfvec({int(dim)}))) halfvec_ip_ops)"
            )

    def greatest(self, first: str, second: str) -> str:
        """PostgreSQL's GREATEST."""
        return f"GREATEST({first}, {second})"

    @contextmanager
    def _advisory(self, key: int, wait: bool) -> Iterator[None]:
        # Its own connection: the lock goes with the session, so a dead holder frees it.
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            if wait:
                conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            else:
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                if not (row and row[0]):
                    raise WriterBusy(
                        "Another import, refresh or rebuild is writing to the archive; "
                        "try again when it has finished."
                    )
            yield

    def write_lock(self, wait: bool) -> AbstractContextManager[None]:
        """A session advisory lock in the archive's database."""
        return self._advisory(WRITE_LOCK, wait)

    def holds_write_lock(self) -> bool:
        """Whether some session holds the write lock."""
        row = self.one(
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND ((CAST(classid AS BIGINT) << 32) | CAST(objid AS BIGINT)) = ?",
            (WRITE_LOCK,),
        )
        return bool(row and row[0])

    def backup(self, target: Path) -> None:
        """Back up a PostgreSQL archive with its own tools or `newsbot migrate`."""
        raise ArchiveError(
            "This archive is in PostgreSQL: back it up with pg_dump, or copy it into a folder "
            "with `newsbot migrate --to DIR`."
        )

    def quick_check(self) -> list[str]:
        """PostgreSQL checks its own pages; nothing to report here."""
        return []

    def reconnect(self) -> PostgresDatabase:
        """A second connection to the same database."""
        return PostgresDatabase(self.url, self.busy_seconds)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
