"""PostgreSQL's own failures: a wrong URL, no pgvector, a server that drops us, a newer schema,
and a killed import; each a one-line message, nothing half-written."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from conftest import REPO, SEED_QUESTION, SEED_TITLE, cli_env
from postgres_server import PostgresServer

from index.archive import Archive
from index.check import check
from index.embed.sbert import Embedder
from index.errors import ArchiveError
from index.records import ArticleDraft, ChunkDraft
from index.settings import Settings
from index.storage.database import archive_target
from index.storage.store import Store


def _drop_connections(postgres: PostgresServer, url: str) -> None:
    """What a server restart does to every session on the database."""
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    postgres.admin(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )


def test_a_wrong_url_is_one_line() -> None:
    with pytest.raises(ArchiveError, match="Cannot reach the database") as raised:
        Store("postgresql://newsbot:secret@127.0.0.1:9/archive")

    assert "\n" not in str(raised.value)
    assert "secret" not in str(raised.value)  # the password never reaches a message


def test_a_database_without_pgvector_says_so(postgres: PostgresServer) -> None:
    postgres.admin("CREATE ROLE plain LOGIN")
    postgres.admin("CREATE DATABASE novector OWNER plain TEMPLATE template0")
    url = postgres.url("novector").replace("postgres:@", "plain@")
    try:
        with pytest.raises(ArchiveError, match="lacks pgvector's `vector` extension"):
            Store(url)
    finally:
        postgres.admin("DROP DATABASE novector WITH (FORCE)")
        postgres.admin("DROP ROLE plain")


@pytest.mark.engines
def test_a_newer_schema_is_refused(settings: Settings) -> None:
    store = Store(archive_target(settings))
    store.db.set_schema_version(99)
    store.close()

    with pytest.raises(ArchiveError, match="schema version 99, newer than"):
        Store(archive_target(settings))


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_dropped_connection_is_opened_again_and_a_cut_write_leaves_nothing(
    archive: Archive, postgres: PostgresServer
) -> None:
    url = archive.settings.database_url
    before = archive.counts()

    _drop_connections(postgres, url)  # between questions: the next one reconnects
    assert archive.ask("What did the seed article say?").question

    draft = ArticleDraft(title="Half", text="Half written.", url="https://example.org/half")
    with pytest.raises(ArchiveError, match="nothing of the unfinished change was stored"):  # noqa: SIM117
        with archive.store.db.transaction():
            archive.store.add_article(draft, "half", [ChunkDraft(0, "Half written.")])
            _drop_connections(postgres, url)
            second = ArticleDraft(title="Cut", text="Cut off.", url="https://example.org/cut")
            archive.store.add_article(second, "cut", [ChunkDraft(0, "Cut off.")])

    assert archive.counts() == before
    assert check(archive).ok


def _articles(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for n in range(count):
        words = " ".join(f"w{n}x{i}" for i in range(300))
        (folder / f"a{n}.txt").write_text(f"Article {n}\n\nStory {n}. {words}.\n")


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_sigkill_during_an_import_leaves_index_check_ok(
    archive: Archive, settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    folder = tmp_path / "many"
    _articles(folder, 40)
    before = archive.counts().articles
    env = cli_env(
        settings.data_dir, EMBEDDING_BATCH_SIZE="4", NEWSBOT_DATABASE_URL=settings.database_url
    )
    command = [sys.executable, "-m", "cli", "import", str(folder)]
    with subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL) as child:
        deadline = time.monotonic() + 120
        while archive.counts().articles == before and time.monotonic() < deadline:
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    assert child.returncode == -signal.SIGKILL

    reopened = Archive(settings, embedder=embedder)
    try:
        report = check(reopened)
        assert report.ok, report
        assert before < reopened.counts().articles < before + 40
    finally:
        reopened.close()


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_database_vector_search_answers_from_pgvectors_hnsw_index(
    settings: Settings, embedder: Embedder
) -> None:
    settings = settings.model_copy(update={"vector_search": "database"})
    with Archive.open(settings, embedder=embedder) as archive:
        archive.seed()
        hits = archive.vectors().search(embedder.embed_queries([SEED_QUESTION]), 3)[1][0]

        assert archive.ask(SEED_QUESTION).citations[0].title == SEED_TITLE
        assert archive.passage(int(hits[0])).article.title == SEED_TITLE  # type: ignore[union-attr]
        assert archive.store.db.one("SELECT to_regclass('chunk_vectors_hnsw_384')") != (None,)
        assert archive.vectors().kind == "hnsw (database)"
