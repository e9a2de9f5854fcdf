"""The archive end to end: real model, real FAISS, real SQLite."""

from __future__ import annotations

import hashlib
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DATA, SEED_QUESTION, SEED_TITLE, cli_env

from index.archive import Archive
from index.embed.sbert import Embedder, bundled_model_path
from index.errors import ModelMismatch
from index.search.retrieve import EmptyQuestion
from index.settings import Settings


def test_seed_question_cites_the_seed_article(archive: Archive) -> None:
    answer = archive.ask(SEED_QUESTION)

    assert answer.found
    assert answer.citations[0].title == SEED_TITLE
    assert answer.citations[0].source == "Financial Times"
    said = answer.text.lower()
    assert "intelligence" in said
    assert "command" in said or "battlefield" in said
    assert "air defense" in said or "sky" in said
    assert all(1 <= sentence.n <= len(answer.citations) for sentence in answer.sentences)


def test_question_the_archive_cannot_answer(archive: Archive) -> None:
    answer = archive.ask("What is a good recipe for chocolate cake?")

    assert not answer.found
    assert answer.citations == ()


def test_empty_question_is_refused(archive: Archive) -> None:
    with pytest.raises(EmptyQuestion):
        archive.ask("  ?! ")


def test_long_question_is_cut_not_failed(archive: Archive) -> None:
    answer = archive.ask(SEED_QUESTION + " ukraine" * 2000)

    assert len(answer.question) <= archive.settings.max_question_chars
    assert answer.found


def test_importing_the_same_file_twice_adds_nothing(archive: Archive) -> None:
    first = archive.import_paths([DATA / "volcano.txt"])
    counts = archive.counts()
    second = archive.import_paths([DATA / "volcano.txt"])

    assert first.added == 1
    assert (second.added, second.duplicates) == (0, 1)
    assert archive.counts() == counts


def test_same_story_under_a_tracking_url_is_a_duplicate(archive: Archive, tmp_path: Path) -> None:
    archive.import_paths([DATA / "council-budget.md"])
    text = (DATA / "council-budget.md").read_text().replace("utm_source=feed#top", "fbclid=x")
    copy = tmp_path / "copy.md"
    copy.write_text(text.replace("record budget of", "record budget, of"))

    report = archive.import_paths([copy])

    assert (report.added, report.duplicates) == (0, 1)


def test_second_article_embeds_only_its_own_passages(archive: Archive) -> None:
    before = archive.embedder.passages_embedded
    report = archive.import_paths([DATA / "volcano.txt"])

    assert archive.embedder.passages_embedded - before == report.chunks
    assert archive.ask(SEED_QUESTION).citations[0].title == SEED_TITLE
    volcano = archive.ask("How many people were evacuated after the eruption?")
    assert volcano.citations[0].title.startswith("Volcano erupts")
    assert "3,000" in volcano.text


def test_reopening_loads_without_re_embedding(settings: Settings, embedder: Embedder) -> None:
    first = Archive(settings, embedder=embedder)
    first.seed()
    first.close()
    before = embedder.passages_embedded

    again = Archive(settings, embedder=embedder)

    assert again.sync() == 0
    assert again.ask(SEED_QUESTION).found
    assert embedder.passages_embedded == before


def test_passages_stay_under_the_model_limit(archive: Archive) -> None:
    archive.import_paths([DATA / "council-budget.md", DATA / "volcano.txt"])
    chunks = [c for i in range(1, 4) for c in archive.store.article_chunks(i)]

    assert chunks
    for chunk in chunks:
        assert archive.embedder.count_tokens(chunk.text) <= archive.settings.chunk_tokens
        assert not chunk.text[0].isspace() and not chunk.text[-1].isspace()


def test_changing_the_model_asks_for_a_rebuild(archive: Archive, settings: Settings) -> None:
    other = Embedder(str(bundled_model_path()))
    other.name = "some/other-model"

    with pytest.raises(ModelMismatch, match="newsbot index rebuild"):
        Archive(settings, embedder=other)


def test_stats(archive: Archive) -> None:
    stats = archive.stats()

    assert (stats.articles, stats.chunks) == (1, stats.vectors)
    assert stats.dim == 384
    assert stats.index_type == "IndexFlatIP"
    assert stats.bytes_on_disk > 0


def _bulk_articles(folder: Path, count: int) -> None:
    """Articles with enough passages for a rebuild to take a few seconds."""
    topics = ["harbour", "railway", "vaccine", "election", "drought", "festival", "satellite"]
    for i in range(count):
        topic = topics[i % len(topics)]
        body = "\n\n".join(
            f"Report {i}.{p}: officials discussed the {topic} plan in district {i * 7 + p}, "
            f"where {p + 3} committees reviewed costs, schedules and public comments. " * 6
            for p in range(4)
        )
        (folder / f"bulk-{i:03}.txt").write_text(f"The {topic} question, part {i}\n\n{body}\n")


def test_rebuild_killed_halfway_leaves_the_old_index(archive: Archive, settings: Settings) -> None:
    bulk = settings.data_dir.parent / "bulk"
    bulk.mkdir()
    _bulk_articles(bulk, 12)
    archive.import_paths([bulk])
    vector_file = archive.vector_path()
    digest = hashlib.sha256(vector_file.read_bytes()).hexdigest()
    chunks = archive.counts().chunks

    with subprocess.Popen(
        [sys.executable, "-m", "cli", "index", "rebuild"],
        env=cli_env(settings.data_dir, EMBEDDING_BATCH_SIZE="8"),
        stderr=subprocess.PIPE,
    ) as rebuild:
        assert rebuild.stderr is not None
        seen = b""
        deadline = time.monotonic() + 120
        # Kill it once the progress bar shows passages embedded but not all of them.
        while not any(0 < int(done) < chunks for done in re.findall(rb"(\d+)/\d+ ", seen)):
            assert time.monotonic() < deadline and rebuild.poll() is None, seen.decode()
            seen += rebuild.stderr.read1(256)  # type: ignore[attr-defined]
        rebuild.send_signal(signal.SIGKILL)
        rebuild.wait()

    assert rebuild.returncode == -signal.SIGKILL
    assert hashlib.sha256(vector_file.read_bytes()).hexdigest() == digest
    reopened = Archive(settings, embedder=archive.embedder)
    assert reopened.sync() == 0
    assert len(reopened.vectors()) == chunks
    assert reopened.ask(SEED_QUESTION).citations[0].title == SEED_TITLE


def test_cli_ask_json_on_a_fresh_data_dir(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli", "ask", "--json", SEED_QUESTION],
        env=cli_env(tmp_path / "fresh"),
        capture_output=True,
        text=True,
        check=True,
    )

    payload = json.loads(result.stdout)
    assert payload["found"] is True
    assert set(payload) == {"question", "found", "answer", "citations", "mode", "dropped"}
    assert payload["mode"] == "extractive" and payload["dropped"] == []
    assert payload["citations"][0]["title"] == SEED_TITLE
    assert set(payload["citations"][0]) == {
        "n",
        "title",
        "url",
        "source",
        "published",
        "snippet",
        "score",
    }
    assert "Empty archive: importing the sample articles" in result.stderr
