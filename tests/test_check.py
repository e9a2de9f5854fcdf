"""`index check` tells lost or damaged from merely waiting; `--repair` rebuilds from SQLite."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import DATA, SEED_QUESTION, SEED_TITLE
from counting import CountingEmbedder
from prefork import Prefork

from index.archive import Archive
from index.check import check, repair
from index.embed.sbert import Embedder, bundled_model_path
from index.errors import WriterBusy
from index.records import ArticleDraft, ChunkDraft, Counts
from index.settings import Settings
from index.storage.vectors import VectorIndex


def test_a_fresh_archive_is_ok(archive: Archive) -> None:
    report = check(archive)

    assert report.ok and report.problems == ()
    assert Counts(report.articles, report.chunks) == archive.counts()
    assert report.vectors == report.chunks


def test_passages_without_a_vector_wait_and_the_next_writer_embeds_them(
    archive: Archive,
) -> None:
    # What an archive from before vectors lived in SQLite can hold: a passage with no vector.
    draft = ArticleDraft(title="Lost lighthouse", text="The Arlen lighthouse keeper retired.")
    archive.store.add_article(draft, "hash-1", [ChunkDraft(0, draft.text)])

    found = check(archive)
    embedded = archive.sync()

    assert found.ok and found.waiting == 1
    assert [note for note in found.notes if "wait for their vector" in note]
    assert embedded == 1 and check(archive).waiting == 0
    assert archive.ask("Who retired from the Arlen lighthouse?").citations[0].title == draft.title


def test_vectors_of_a_removed_source_go_with_it(archive: Archive) -> None:
    source = archive.store.add_source("feed", "https://news.example/feed.xml")
    archive.add_drafts([ArticleDraft("Gone", "A story that will be removed soon.")], source.id)
    before = len(archive.vectors())

    gone = archive.store.remove_source(source.id)
    found = check(archive)

    assert found.ok and found.vectors == found.chunks == before - len(gone)
    assert len(archive.vectors()) == found.chunks
    assert not set(gone) & set(archive.vectors().ids().tolist())


def test_leftovers_of_a_killed_writer_are_noted_and_removed(archive: Archive) -> None:
    dead = subprocess.Popen(["true"])  # a writer that has gone
    dead.wait()
    stale = archive.data_dir / f".{archive.vector_path().name}.{dead.pid}.tmp"
    stale.write_bytes(b"half an index")

    found = check(archive)
    fixed = repair(archive)

    assert found.ok and found.notes == (
        f"{stale.name} was left by a killed process; the next writer removes it.",
    )
    assert fixed.ok and not stale.exists()


def test_a_damaged_index_is_rebuilt_from_sqlite_without_the_model(
    archive: Archive, embedder: Embedder
) -> None:
    archive.import_paths([DATA / "volcano.txt"])
    archive.vector_path().write_bytes(b"\x00" * 64)
    counting = CountingEmbedder(embedder)
    reopened = Archive(archive.settings, embedder=counting, check_model=False)

    found = check(reopened)
    fixed = repair(reopened)

    assert "is damaged" in found.problems[0] and not found.ok
    assert fixed.ok and fixed.articles == 2 and fixed.vectors == fixed.chunks
    assert counting.passage_calls == 0
    assert len(VectorIndex.load(archive.vector_path())[0]) == fixed.chunks
    assert reopened.ask(SEED_QUESTION).citations[0].title == SEED_TITLE


def test_an_index_file_behind_sqlite_is_noted_not_a_problem(archive: Archive) -> None:
    old = archive.vector_path().read_bytes()
    archive.import_paths([DATA / "volcano.txt"])
    archive.cache.save()
    archive.vector_path().write_bytes(old)

    found = check(archive)

    assert found.ok and "stored since vectors.faiss was written" in found.notes[0]


def test_another_model_is_reported_not_silently_replaced(
    archive: Archive, settings: Settings
) -> None:
    other = Embedder(str(bundled_model_path()))
    other.name = "some/other-model"
    reopened = Archive(settings, embedder=other, check_model=False)

    assert "EMBEDDING_MODEL" in check(reopened).problems[0]
    assert not repair(reopened).ok
    assert check(archive).ok


def test_check_waits_for_no_writer(archive: Archive) -> None:
    with archive.write_lock(), pytest.raises(WriterBusy, match="try again when it has finished"):
        check(Archive(archive.settings, embedder=archive.embedder))


def test_cli_json(archive: Archive, prefork: Prefork, tmp_path: Path) -> None:
    log = tmp_path / "check.log"

    here = {"NEWSBOT_DATA_DIR": str(archive.data_dir)}

    status = prefork.run(["index", "check", "--json"], here, log)

    payload = json.loads(log.read_text().splitlines()[-1])
    chunks = archive.counts().chunks
    assert status == 0
    assert payload == {
        "ok": True,
        "articles": 1,
        "chunks": chunks,
        "vectors": chunks,
        "waiting": 0,
        "problems": [],
        "notes": [],
    }
