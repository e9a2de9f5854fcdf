"""Vectors live in SQLite beside their passages; the FAISS file is a cache built without a model."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import faiss
import numpy as np
import pytest
from conftest import DATA, SEED_QUESTION, SEED_TITLE
from counting import CountingEmbedder
from prefork import Prefork

from index.archive import Archive
from index.embed.sbert import Embedder
from index.records import Counts
from index.settings import Settings
from index.storage.legacy import legacy_index_path

VOLCANO = "Volcano erupts near fishing village, forcing evacuations"


def rows(path: Path, query: str) -> list[tuple[object, ...]]:
    """Rows of a query on an archive's SQLite file, read by SQLite itself."""
    with sqlite3.connect(path) as db:
        return db.execute(query).fetchall()


def test_each_passage_is_stored_with_its_float16_vector(archive: Archive) -> None:
    archive.import_paths([DATA / "volcano.txt"])
    sqlite = archive.data_dir / "archive.sqlite3"

    stored = rows(
        sqlite,
        "SELECT c.id, length(v.vector) FROM chunks c LEFT JOIN chunk_vectors v "
        "ON v.chunk_id = c.id",
    )

    assert stored and all(size == 2 * 384 for _, size in stored)
    ids, vectors = archive.vectors().export()
    blobs = dict(rows(sqlite, "SELECT chunk_id, vector FROM chunk_vectors"))
    for chunk_id, vector in zip(ids.tolist(), vectors, strict=True):
        assert np.allclose(np.frombuffer(blobs[chunk_id], "<f2"), vector, atol=1e-3)


def test_a_copied_data_dir_needs_no_model_work(
    archive: Archive, embedder: Embedder, tmp_path: Path
) -> None:
    archive.import_paths([DATA / "volcano.txt"])
    archive.close()
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(archive.data_dir), str(copy)], check=True)
    counting = CountingEmbedder(embedder)

    reopened = Archive(Settings(_env_file=None, data_dir=copy), embedder=counting)  # type: ignore[call-arg]
    reopened.sync()

    assert reopened.ask(SEED_QUESTION).citations[0].title == SEED_TITLE
    assert counting.passage_calls == 0


def test_a_deleted_index_file_is_rebuilt_without_the_model(
    archive: Archive, embedder: Embedder
) -> None:
    archive.import_paths([DATA / "volcano.txt"])
    archive.vector_path().unlink()
    counting = CountingEmbedder(embedder)

    reopened = Archive(archive.settings, embedder=counting)
    reopened.sync()

    assert reopened.ask(SEED_QUESTION).citations[0].title == SEED_TITLE
    assert counting.passage_calls == 0 and reopened.vector_path().exists()
    assert len(reopened.vectors()) == reopened.store.counts().chunks


def test_a_reader_sees_another_process_import_without_a_restart(
    archive: Archive, prefork: Prefork, tmp_path: Path
) -> None:
    loaded = archive.vectors()
    before = len(loaded)
    log = tmp_path / "import.log"

    status = prefork.run(
        ["import", str(DATA / "volcano.txt")], {"NEWSBOT_DATA_DIR": str(archive.data_dir)}, log
    )

    assert status == 0, log.read_text()
    cited = [c.title for c in archive.ask("Which village was evacuated?").citations]
    assert archive.vectors() is loaded  # appended to, not rebuilt
    assert len(loaded) == archive.store.counts().chunks > before
    assert cited[0] == VOLCANO, cited


def make_legacy(archive: Archive, left_out: int) -> np.ndarray:
    """Turn the archive into the format before schema 3: vectors only in FAISS and a delta file."""
    ids, vectors = archive.vectors().export()
    order = np.argsort(ids)
    ids, vectors = ids[order], vectors[order]
    model = archive.store.get_meta("model")
    assert model
    archive.close()
    path = legacy_index_path(archive.data_dir, model)
    # The whole file holds all but the last two; the delta adds one of them and removes none.
    whole = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
    whole.add_with_ids(vectors[:-2], ids[:-2])
    faiss.write_index(whole, str(path))
    info = path.stat()
    with open(path.with_name(path.name + ".delta.npz"), "wb") as handle:
        np.savez(
            handle,
            base=np.array([info.st_ino, info.st_mtime_ns], dtype=np.int64),
            ids=ids[-2:-1],
            vectors=vectors[-2:-1],
            removed=np.zeros(0, dtype=np.int64),
        )
    assert ids[-1] == left_out
    with sqlite3.connect(archive.data_dir / "archive.sqlite3") as db:
        db.executescript(
            "DROP TABLE chunk_vectors; DROP TABLE rebuild_vectors; DROP TABLE alerts_sent; "
            "DROP TABLE subscriptions; DROP TABLE digests; DROP TABLE chunk_deletions; "
            "DROP TRIGGER chunks_deleted; DROP TRIGGER chunks_rewritten; "
            "DELETE FROM meta WHERE key='vectors_generation'; PRAGMA user_version=2;"
        )
    archive.vector_path().unlink()
    return vectors


def test_an_old_archive_keeps_its_vectors_and_embeds_only_what_it_lacked(
    archive: Archive, embedder: Embedder
) -> None:
    archive.import_paths([DATA / "volcano.txt"])
    chunk_ids = archive.store.chunk_ids()
    vectors = make_legacy(archive, left_out=int(chunk_ids[-1]))
    counting = CountingEmbedder(embedder)

    reopened = Archive(archive.settings, embedder=counting)
    waiting = reopened.store.vectors.missing().tolist()
    reopened.sync()

    assert waiting == [int(chunk_ids[-1])]  # the one in neither the file nor its delta
    assert counting.passage_calls == 1 and reopened.store.vectors.missing().size == 0
    assert not list(archive.data_dir.glob("vectors-*"))
    copied = dict(zip(*reopened.vectors().export(), strict=True))
    for chunk_id, vector in zip(chunk_ids[:-1].tolist(), vectors[:-1], strict=True):
        assert np.allclose(copied[chunk_id], vector, atol=1e-3)
    assert reopened.ask(SEED_QUESTION).citations[0].title == SEED_TITLE


def test_a_backup_taken_while_the_archive_is_open_opens_with_nothing_to_embed(
    archive: Archive, embedder: Embedder, prefork: Prefork, tmp_path: Path
) -> None:
    archive.import_paths([DATA / "volcano.txt"])
    log = tmp_path / "backup.log"
    target = tmp_path / "backup"

    with archive.write_lock():  # a writer at work does not stop the backup
        status = prefork.run(
            ["backup", str(target)], {"NEWSBOT_DATA_DIR": str(archive.data_dir)}, log
        )
    again = prefork.run(["backup", str(target)], {"NEWSBOT_DATA_DIR": str(archive.data_dir)}, log)
    counting = CountingEmbedder(embedder)
    restored = Archive(Settings(_env_file=None, data_dir=target), embedder=counting)  # type: ignore[call-arg]
    restored.sync()

    assert status == 0 and "Backed up 2 articles" in log.read_text()
    assert again == 1 and "already holds an archive" in log.read_text()
    assert restored.ask(SEED_QUESTION).citations[0].title == SEED_TITLE
    assert counting.passage_calls == 0
    shutil.rmtree(target)


class Interrupted(Exception):
    """Stands for a crash in the middle of a rebuild."""


def test_an_interrupted_rebuild_keeps_the_old_vectors_and_resumes(
    archive: Archive, embedder: Embedder
) -> None:
    archive.import_paths([DATA / "volcano.txt"])
    chunks = archive.store.counts().chunks
    before = archive.vectors().export()
    counting = CountingEmbedder(embedder, batch_size=2)
    rebuilding = Archive(archive.settings, embedder=counting)
    shown: list[int] = []

    def crash_after_the_first_batch(count: int) -> None:
        shown.append(count)
        if len(shown) == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        rebuilding.rebuild(progress=crash_after_the_first_batch)
    meanwhile = archive.vectors().export()
    resumed = rebuilding.rebuild(progress=shown.append)

    assert shown[:3] == [0, 2, 2]  # the second run starts where the first stopped
    assert np.array_equal(meanwhile[1], before[1])  # the old vectors serve meanwhile
    assert resumed == chunks and counting.passage_calls == 1 + (chunks - 2 + 1) // 2
    assert archive.ask(SEED_QUESTION).citations[0].title == SEED_TITLE


def test_an_archive_written_by_the_previous_release_keeps_its_vectors(
    minilm: Embedder, tmp_path: Path
) -> None:
    # Made by newsbot at 3c5535a: the seeds, then volcano.txt saved to the delta file. A
    # checkout gives the index file a new inode, so its delta no longer applies (as after
    # `cp -r` back then): the volcano passage waits and is the only one embedded.
    data = tmp_path / "data"
    shutil.copytree(DATA / "archive-3c5535a", data)
    counting = CountingEmbedder(minilm)  # the English model of that release

    archive = Archive(Settings(_env_file=None, data_dir=data), embedder=counting)  # type: ignore[call-arg]
    waiting = archive.store.vectors.missing().tolist()
    embedded = archive.sync()

    assert archive.store.counts() == Counts(2, 5) and archive.store.vectors.count() == 5
    assert waiting == [5] and embedded == 1 and counting.passage_calls == 1
    assert not list(data.glob("vectors-*"))
    assert archive.ask(SEED_QUESTION).citations[0].title == SEED_TITLE
    assert archive.ask("Which village was evacuated?").citations[0].title == VOLCANO
