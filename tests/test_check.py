"""`index check` finds every way SQLite and the vectors can disagree; `--repair` fixes them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, SEED_QUESTION, SEED_TITLE
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


def test_passages_stored_by_a_killed_import_are_embedded_by_repair(archive: Archive) -> None:
    # What a writer killed after its SQLite commit and before saving the index leaves behind.
    draft = ArticleDraft(title="Lost lighthouse", text="The Arlen lighthouse keeper retired.")
    archive.store.add_article(draft, "hash-1", [ChunkDraft(0, draft.text)])

    found = check(archive)
    fixed = repair(archive)

    assert not found.ok and "1 passage(s) have no vector" in found.problems[0]
    assert fixed.ok and fixed.articles == 2
    assert archive.ask("Who retired from the Arlen lighthouse?").citations[0].title == draft.title


def test_vectors_of_a_removed_source_are_dropped_by_repair(archive: Archive) -> None:
    # What a process killed between deleting a source in SQLite and in FAISS leaves behind.
    source = archive.store.add_source("feed", "https://news.example/feed.xml")
    archive.add_drafts([ArticleDraft("Gone", "A story that will be removed soon.")], source.id)
    archive.store.remove_source(source.id)

    found = check(archive)
    fixed = repair(archive)

    assert any("belong to no passage" in problem for problem in found.problems)
    assert fixed.ok and fixed.vectors == fixed.chunks


def test_a_vector_stored_twice_is_found_and_repaired(archive: Archive) -> None:
    ids, vectors = VectorIndex.load(archive.vector_path()).export()
    twice = VectorIndex.empty(vectors.shape[1])
    twice.add(np.concatenate([ids, ids[:1]]), np.concatenate([vectors, vectors[:1]]))
    twice.save(archive.vector_path())

    found = check(archive)
    fixed = repair(archive)

    assert any("more than one vector" in problem for problem in found.problems)
    assert fixed.ok and fixed.vectors == fixed.chunks
    assert archive.ask(SEED_QUESTION).citations[0].title == SEED_TITLE


def test_leftovers_of_a_killed_writer_are_reported_and_removed(archive: Archive) -> None:
    stale = archive.data_dir / f".{archive.vector_path().name}.12345.tmp"
    stale.write_bytes(b"half an index")

    found = check(archive)
    fixed = repair(archive)

    assert found.problems == (f"{stale.name} is a half-written index left by a killed writer.",)
    assert fixed.ok and not stale.exists()


def test_a_damaged_index_is_rebuilt_from_sqlite(archive: Archive) -> None:
    archive.import_paths([DATA / "volcano.txt"])
    archive.vector_path().write_bytes(b"\x00" * 64)

    found = check(archive)
    fixed = repair(archive)

    assert "is damaged" in found.problems[0]
    assert fixed.ok and fixed.articles == 2 and fixed.vectors == fixed.chunks
    assert archive.ask(SEED_QUESTION).citations[0].title == SEED_TITLE


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
        "problems": [],
    }
