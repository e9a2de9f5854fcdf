"""`newsbot migrate --to`: SQLite to PostgreSQL and back, vectors copied, nothing re-embedded."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SEED_QUESTION, SEED_TITLE
from postgres_server import PostgresServer

from index.archive import Archive
from index.check import check
from index.embed.sbert import Embedder
from index.errors import ArchiveError
from index.settings import Settings


def _opened(settings: Settings, embedder: Embedder, **changes: object) -> Archive:
    return Archive(settings.model_copy(update=changes), embedder=embedder)


def test_sqlite_to_postgresql_and_back(
    archive: Archive, embedder: Embedder, postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.new_database()
    archive.set_chat_language(42, "uk", chosen=True)  # a chat's /language goes along
    counts = archive.counts()
    embedded = embedder.passages_embedded
    try:
        assert archive.copy_to(url) == counts
        on_postgres = _opened(
            archive.settings, embedder, database_url=url, data_dir=tmp_path / "pg"
        )
        try:
            assert check(on_postgres).ok
            assert on_postgres.ask(SEED_QUESTION).citations[0].title == SEED_TITLE
            assert len(on_postgres.vectors()) == counts.chunks
            assert on_postgres.chat_language(42) == ("uk", True)
            with pytest.raises(ArchiveError, match="already holds an archive"):
                archive.copy_to(url)  # never into an archive
            back = tmp_path / "back"
            assert on_postgres.copy_to(str(back)) == counts
        finally:
            on_postgres.close()
        on_sqlite = _opened(archive.settings, embedder, data_dir=back)
        try:
            assert check(on_sqlite).ok
            assert on_sqlite.ask(SEED_QUESTION).citations[0].title == SEED_TITLE
        finally:
            on_sqlite.close()
        assert embedder.passages_embedded == embedded  # vectors copied, none embedded again
    finally:
        postgres.drop(url)
