"""PostgreSQL's faults caused for real: a read-only database, a lock held past the timeout, a
backend killed mid-question and mid-import. Each is the storage fault SQLite's would be."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from conftest import SEED_QUESTION, SEED_TITLE
from postgres_server import PostgresServer
from prefork import Prefork
from test_faults_disk import write_stories

from index.archive import Archive
from index.check import check
from index.embed.sbert import Embedder
from index.errors import DatabaseLocked
from index.records import ArticleDraft
from index.settings import Settings
from testkit.stories import story

ON_POSTGRES = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)


def _name(url: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])


def _backend(archive: Archive) -> int:
    row = archive.store.db.one("SELECT pg_backend_pid()")
    assert row is not None
    return int(row[0])  # type: ignore[call-overload]


@contextmanager
def _locked(settings: Settings, mode: str) -> Iterator[psycopg.Connection]:
    """Another session holding a lock on the archive's tables until the block ends."""
    with psycopg.connect(settings.database_url) as other:
        other.execute(f"LOCK TABLE articles, chunks IN {mode} MODE")
        yield other
        other.rollback()


@ON_POSTGRES
def test_a_read_only_database_answers_and_refuses_writes_in_one_line(
    archive: Archive, postgres: PostgresServer, prefork: Prefork, tmp_path: Path
) -> None:
    settings = archive.settings
    archive.close()
    postgres.admin(
        f"ALTER DATABASE {_name(settings.database_url)} SET default_transaction_read_only = on"
    )
    write_stories(tmp_path / "files", 2)
    env = {
        "NEWSBOT_DATA_DIR": str(settings.data_dir),
        "NEWSBOT_DATABASE_URL": settings.database_url,
    }
    log = tmp_path / "import.log"
    status = prefork.run(["import", str(tmp_path / "files")], env, log)
    said = log.read_text()
    assert status == 1 and "the archive is read-only" in said, said
    assert "Traceback" not in said and "refuses writes" in said

    log = tmp_path / "ask.log"
    status = prefork.run(["ask", SEED_QUESTION], env, log)
    assert status == 0 and SEED_TITLE in log.read_text(), log.read_text()


@ON_POSTGRES
def test_a_lock_held_past_the_timeout_is_database_locked_and_the_import_goes_on_later(
    settings: Settings, embedder: Embedder
) -> None:
    settings = settings.model_copy(update={"db_busy_seconds": 0.2})
    drafts = [ArticleDraft(title=s.title, text=s.text) for s in map(story, range(3))]
    with Archive.open(settings, embedder=embedder) as archive:
        with (
            _locked(settings, "EXCLUSIVE"),  # another tool holds the tables against writers
            pytest.raises(DatabaseLocked, match="locked by another program: 0 of 3 articles"),
        ):
            archive.add_drafts(drafts)
        assert archive.add_drafts(drafts).added == 3  # run again: all stored, nothing twice
        assert archive.counts().articles == 4  # the seed and the three
        assert check(archive).ok


@ON_POSTGRES
def test_a_backend_killed_mid_question_is_retried_and_the_question_answered(
    archive: Archive, postgres: PostgresServer
) -> None:
    archive.ask(SEED_QUESTION)  # caches loaded: the next question reads only its passages
    pid = _backend(archive)
    answers: list[str] = []
    with _locked(archive.settings, "ACCESS EXCLUSIVE"):  # the question waits on the lock...
        asking = threading.Thread(
            target=lambda: answers.append(archive.ask(SEED_QUESTION).citations[0].title)
        )
        asking.start()
        deadline = time.monotonic() + 30
        while not _waiting(postgres, pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _waiting(postgres, pid), "the question never reached the database"
        postgres.admin(f"SELECT pg_terminate_backend({pid}, 5000)")  # ...and its backend dies
    asking.join(30)
    assert answers == [SEED_TITLE]
    assert _backend(archive) != pid  # answered on a new connection


def _waiting(postgres: PostgresServer, pid: int) -> bool:
    with psycopg.connect(postgres.url(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
        ).fetchone()
    return row is not None and row[0] == "Lock"


@ON_POSTGRES
def test_a_backend_killed_mid_import_is_retried_and_stores_the_article_once(
    archive: Archive,
) -> None:
    # The server drops the importer's connection inside its first article's transaction.
    archive.store.db.script(
        "",
        """
        CREATE SEQUENCE kill_once;
        CREATE FUNCTION kill_once() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF nextval('kill_once') = 1 THEN  -- a sequence: not rolled back with the kill
                PERFORM pg_terminate_backend(pg_backend_pid());
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER kill_once AFTER INSERT ON chunks FOR EACH ROW EXECUTE FUNCTION kill_once();
        """,
    )
    drafts = [ArticleDraft(title=s.title, text=s.text) for s in map(story, range(2))]
    pid = _backend(archive)

    report = archive.add_drafts(drafts)

    assert report.added == 2 and _backend(archive) != pid
    assert archive.counts().articles == 3  # the seed and the two, none twice
    assert archive.ask(story(1).question).citations[0].title == story(1).title
    assert check(archive).ok
