"""Storage faults injected for real: a full tmpfs, a read-only mount, a locked and a damaged file.

Each test says what the user sees and checks that nothing committed was lost.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import SEED_QUESTION, SEED_TITLE
from disks import fill, read_only_view, small_disk
from prefork import Prefork

from index.archive import Archive
from index.embed.sbert import Embedder
from index.errors import DatabaseLocked, DiskFull
from index.records import ArticleDraft
from index.settings import Settings
from index.storage.keywords import FOLDER as KEYWORDS
from testkit.stories import Story, story

STORIES = 60
FULL = re.compile(
    rf"disk full: (\d+) of {STORIES} articles stored; free space and run it again, "
    "the rest will be imported"
)


def write_stories(folder: Path, count: int = STORIES) -> list[Story]:
    """One text file per generated story."""
    folder.mkdir(parents=True)
    stories = [story(n) for n in range(count)]
    for n, item in enumerate(stories):
        (folder / f"{n:03}.txt").write_text(f"{item.title}\n\n{item.text}\n")
    return stories


def run(prefork: Prefork, argv: list[str], data: Path, log: Path) -> tuple[int, str]:
    """A newsbot command on the archive in `data`: its exit status and what it printed."""
    status = prefork.run(argv, {"NEWSBOT_DATA_DIR": str(data)}, log)
    return status, log.read_text()


def seeded(data: Path, embedder: Embedder) -> Settings:
    """Settings for an archive in `data` holding the samples (files closed)."""
    settings = Settings(_env_file=None, data_dir=data)  # type: ignore[call-arg]
    with Archive(settings, embedder=embedder) as archive:
        archive.seed()
        archive.sync()
    return settings


def test_a_full_disk_stops_an_import_and_questions_are_still_answered(
    tmp_path: Path, prefork: Prefork, embedder: Embedder
) -> None:
    stories = write_stories(tmp_path / "files")
    with small_disk(tmp_path / "disk") as disk:
        data = disk / "data"
        seeded(data, embedder)
        filler = fill(disk, leave=160_000)

        # The user sees one line saying how far it got, and what to do; no traceback.
        status, said = run(prefork, ["import", str(tmp_path / "files")], data, tmp_path / "1.log")
        found = FULL.search(said)
        assert status == 1 and found and "Traceback" not in said, said
        stored = int(found.group(1))
        assert 0 < stored < STORIES

        # Still full: a question about an article stored before the disk filled is answered.
        status, said = run(prefork, ["ask", stories[0].question], data, tmp_path / "2.log")
        assert status == 0 and stories[0].title in said and "Traceback" not in said, said
        status, said = run(prefork, ["ask", SEED_QUESTION], data, tmp_path / "3.log")
        assert status == 0 and SEED_TITLE in said

        # `index check` says what is wrong, and nothing committed is lost.
        status, said = run(prefork, ["index", "check", "--json"], data, tmp_path / "4.log")
        assert status == 1 and "disk full" in said and '"articles": ' + str(stored + 1) in said

        # Space freed: running it again imports the rest, and everything agrees.
        filler.unlink()
        status, said = run(prefork, ["import", str(tmp_path / "files")], data, tmp_path / "5.log")
        assert status == 0 and f"{STORIES - stored} article(s) added" in said, said
        status, said = run(prefork, ["index", "check"], data, tmp_path / "6.log")
        assert status == 0 and f"OK: {STORIES + 1} articles" in said, said


def test_a_full_disk_keeps_the_indexes_in_memory_and_says_so(
    tmp_path: Path, embedder: Embedder
) -> None:
    with small_disk(tmp_path / "disk") as disk:
        settings = seeded(disk / "data", embedder)
        with Archive(settings, embedder=embedder) as archive:
            archive.add_drafts([ArticleDraft(s.title, s.text) for s in map(story, range(60))])
        shutil.rmtree(disk / "data" / KEYWORDS)  # the keyword index must be rebuilt
        (disk / "data" / "vectors.faiss").unlink()  # and the vector file
        filler = fill(disk, leave=40_000)  # room for SQLite's shared memory, not the indexes
        with Archive.open(settings, embedder=embedder) as archive:
            # What the user sees: answers, from indexes that live in memory for now.
            assert archive.ask(SEED_QUESTION).citations[0].title == SEED_TITLE
            assert archive.keywords.in_memory
            assert archive.keywords.passages() == archive.counts().chunks
            assert not archive.vector_path().exists()
            failed = {fault.where for fault in archive.health.faults()}
            assert failed == {"the keyword index", "the vector index file"}
            assert all(f.kind == "DiskFull" for f in archive.health.faults())
            assert not list((disk / "data").glob(".*tmp*"))  # no half-written file left

            filler.unlink()
            archive.sync()  # the next writer (a bot's periodic retry) writes them
            assert not archive.health.faults() and not archive.keywords.in_memory
            assert archive.vector_path().exists() and archive.keywords.exists()
            assert archive.counts().articles == 61


def test_a_disk_too_full_to_open_for_writing_opens_read_only(
    tmp_path: Path, embedder: Embedder
) -> None:
    with small_disk(tmp_path / "disk") as disk:
        settings = seeded(disk / "data", embedder)
        fill(disk)
        with Archive.open(settings, embedder=embedder) as archive:
            assert archive.ask(SEED_QUESTION).citations[0].title == SEED_TITLE
            with pytest.raises(DiskFull, match="has no space left"):
                archive.add_drafts([ArticleDraft(story(1).title, story(1).text)])
            assert archive.counts().articles == 1


def test_a_read_only_archive_answers_and_refuses_writes(
    tmp_path: Path, prefork: Prefork, embedder: Embedder
) -> None:
    data = tmp_path / "data"
    seeded(data, embedder)
    shutil.rmtree(data / KEYWORDS)  # missing indexes are built in memory, not on disk
    (data / "vectors.faiss").unlink()
    stories = write_stories(tmp_path / "files", 3)
    with read_only_view(data, tmp_path / "snapshot") as view:
        status, said = run(prefork, ["ask", SEED_QUESTION], view, tmp_path / "1.log")
        assert status == 0 and SEED_TITLE in said and "Traceback" not in said, said

        status, said = run(prefork, ["import", str(tmp_path / "files")], view, tmp_path / "2.log")
        assert status == 1 and "the archive is read-only" in said and "Traceback" not in said

        status, said = run(prefork, ["index", "check"], view, tmp_path / "3.log")
        assert status == 0 and "read-only" in said and "OK: 1 articles" in said, said

        settings = Settings(_env_file=None, data_dir=view, retrieval_mode="keyword")  # type: ignore[call-arg]
        with Archive.open(settings, embedder=embedder) as archive:
            assert archive.read_only and archive.keywords.in_memory
            assert archive.ask(SEED_QUESTION).citations[0].title == SEED_TITLE
        assert sorted(p.name for p in view.iterdir()) == ["archive.sqlite3", "write.lock"]
    assert stories  # the files were there to import


def test_a_locked_database_is_explained_and_the_import_goes_on_later(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", db_busy_seconds=0.2)  # type: ignore[call-arg]
    drafts = [ArticleDraft(title=s.title, text=s.text) for s in map(story, range(3))]
    with Archive.open(settings, embedder=embedder) as archive:
        other = sqlite3.connect(tmp_path / "data" / "archive.sqlite3", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another tool holds the write lock
        with pytest.raises(DatabaseLocked, match="locked by another program: 0 of 3 articles"):
            archive.add_drafts(drafts)
        other.execute("ROLLBACK")
        other.close()

        # The user runs it again: everything is imported, nothing twice.
        assert archive.add_drafts(drafts).added == 3
        assert archive.counts().articles == 4


def test_a_damaged_page_is_found_by_check_with_how_to_restore(
    tmp_path: Path, prefork: Prefork, archive: Archive
) -> None:
    archive.add_drafts([ArticleDraft(title=s.title, text=s.text) for s in map(story, range(40))])
    archive.close()  # the pages leave the write-ahead log for the file
    copy = tmp_path / "copy"
    shutil.copytree(archive.data_dir, copy)
    with sqlite3.connect(copy / "archive.sqlite3") as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name='chunks'").fetchone()[0]
    db.close()
    raw = bytearray((copy / "archive.sqlite3").read_bytes())
    raw[(root - 1) * page_size] ^= 0xFF  # the page's type byte
    (copy / "archive.sqlite3").write_bytes(bytes(raw))

    status, said = run(prefork, ["index", "check"], copy, tmp_path / "check.log")
    assert status == 1 and "is damaged" in said and "newsbot backup" in said, said
    assert "Traceback" not in said

    # The original is untouched and whole.
    status, said = run(prefork, ["index", "check"], archive.data_dir, tmp_path / "orig.log")
    assert status == 0 and "OK: 41 articles" in said
