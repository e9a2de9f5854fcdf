"""The keyword index (tantivy) stays in step with SQLite: other processes, kills, damage."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from conftest import SEED_QUESTION, cli_env
from prefork import Prefork

from index.archive import Archive
from index.check import check, repair
from index.records import ArticleDraft, ChunkDraft
from index.search.keyword import keyword_search
from index.storage.keywords import FOLDER

LIGHTHOUSE = ArticleDraft(
    title="Lighthouse keeper retires",
    text="Nicolás Quarrington kept the Arlen lighthouse for forty years and retired on Friday.",
)


def _ids(archive: Archive, question: str) -> list[int]:
    return [chunk_id for chunk_id, _ in keyword_search(archive.keywords, question, 10)]


def test_words_match_whatever_their_case_and_accents(archive: Archive) -> None:
    archive.add_drafts([LIGHTHOUSE])
    [chunk] = [hit for hit in archive.passages().values() if hit.article.title == LIGHTHOUSE.title]

    assert _ids(archive, "Who is NICOLAS quarrington?") == [chunk.chunk.id]
    assert _ids(archive, "Nicolás") == [chunk.chunk.id]
    assert _ids(archive, "?!") == []


def test_a_reader_sees_what_another_process_imports(
    archive: Archive, prefork: Prefork, tmp_path: Path
) -> None:
    before = _ids(archive, "Quarrington lighthouse")  # the reader holds the index open
    story = tmp_path / "lighthouse.txt"
    story.write_text(f"{LIGHTHOUSE.title}\n\n{LIGHTHOUSE.text}\n")
    env = cli_env(archive.data_dir)
    log = tmp_path / "import.log"

    status = prefork.run(["import", str(story)], env, log)
    archive.keywords.searcher(wait=True)  # the reopen a question waits REOPEN_WAIT for
    added = _ids(archive, "Quarrington lighthouse")

    assert status == 0, log.read_text()
    assert before == [] and len(added) == 1
    assert archive.store.hits(added)[added[0]].article.title == LIGHTHOUSE.title


def test_passages_stored_by_a_killed_writer_are_noted_and_caught_up(archive: Archive) -> None:
    # What a writer killed between its SQLite commit and its keyword commit leaves behind.
    source = archive.store.add_source("feed", "https://news.example/feed.xml")
    archive.add_drafts([ArticleDraft("Gone soon", "The Vellmoor ferry stops running.")], source.id)
    draft = ArticleDraft(title="Lost lighthouse", text="The Quarrington lighthouse keeper retired.")
    archive.store.add_article(draft, "hash-1", [ChunkDraft(0, draft.text)])
    archive.store.remove_source(source.id)

    found = check(archive)
    missed = _ids(archive, "Quarrington")
    stale = _ids(archive, "Vellmoor ferry")
    archive.sync()

    assert (
        found.ok
        and (
            "The keyword index lacks 1 new passage(s) and 1 removal(s); "
            "the next import, refresh or bot start applies them."
        )
        in found.notes
    )
    assert missed == [] and len(stale) == 1 and archive.store.hits(stale) == {}  # dropped
    assert len(_ids(archive, "Quarrington")) == 1 and _ids(archive, "Vellmoor") == []
    assert archive.keywords.behind() == (0, 0)
    assert not [note for note in check(archive).notes if "keyword" in note]
    assert archive.store.keywords.count_deletions_after(0) == 0  # the applied log is pruned


def test_a_damaged_keyword_index_is_reported_and_repaired(archive: Archive) -> None:
    (archive.data_dir / FOLDER / "meta.json").write_text("{not json")

    found = check(archive)
    fixed = repair(archive)

    assert not found.ok and f"keyword index {FOLDER} is damaged" in found.problems[0]
    assert fixed.ok and fixed.notes == ()
    assert archive.keywords.passages() == archive.counts().chunks
    assert _ids(archive, SEED_QUESTION)


def test_a_missing_keyword_index_is_built_on_open(archive: Archive) -> None:
    shutil.rmtree(archive.data_dir / FOLDER)
    assert "not built yet" in check(archive).notes[0]

    reopened = Archive.open(archive.settings, embedder=archive.embedder)

    try:
        assert reopened.keywords.passages() == reopened.counts().chunks
        assert check(reopened).notes == ()
    finally:
        reopened.close()


def test_a_killed_rebuilds_folder_is_noted_and_removed(archive: Archive) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = archive.data_dir / f".{FOLDER}.{dead.pid}.tmp"
    stale.mkdir()
    (stale / "meta.json").write_text("{}")

    noted = check(archive).notes
    archive.sync(wait=True)

    assert noted == (f"{stale.name} was left by a killed process; the next writer removes it.",)
    assert not stale.exists()
