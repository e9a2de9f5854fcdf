"""Reading while writing: questions are answered, whole, while an import or a rebuild runs."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import SEED_QUESTION, SEED_TITLE, writer_holds_lock
from prefork import Prefork

from index.archive import Archive
from index.records import Answer
from testkit.stories import FeedServer, Story, story

STORIES = [story(n) for n in range(6)]


def write_stories(folder: Path, stories: list[Story]) -> Path:
    """One text file per story."""
    folder.mkdir(parents=True)
    for i, item in enumerate(stories):
        (folder / f"{i:02}.txt").write_text(f"{item.title}\n\n{item.text}\n")
    return folder


def _flat(text: str) -> str:
    return " ".join(text.replace("…", " ").split())


def assert_whole(archive: Archive, answer: Answer) -> None:
    """Every citation is a stored passage of the article it names; every sentence is quoted."""
    passages = {c.chunk_id: archive.passage(c.chunk_id) for c in answer.citations}
    by_number = {}
    for citation in answer.citations:
        passage = passages[citation.chunk_id]
        assert passage is not None, f"citation {citation.n} names no stored passage"
        chunk, article = passage.chunk, passage.article
        assert (citation.title, citation.url) == (article.title, article.url)
        assert _flat(citation.snippet) in _flat(chunk.text) or all(
            word in chunk.text for word in _flat(citation.snippet).split()
        )
        by_number[citation.n] = chunk.text
    for sentence in answer.sentences:
        assert _flat(sentence.text) in _flat(by_number[sentence.n]), sentence


class Readers:
    """Threads asking questions in a loop until stopped; they keep every answer and error."""

    def __init__(self, archive: Archive, questions: list[str], threads: int = 2) -> None:
        self.archive, self.questions = archive, questions
        self.answers: list[Answer] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._ask, args=(n,)) for n in range(threads)]

    def _ask(self, n: int) -> None:
        while not self._stop.is_set():
            question = self.questions[(len(self.answers) + n) % len(self.questions)]
            try:
                answer = self.archive.ask(question)
                assert_whole(self.archive, answer)
                self.answers.append(answer)
                self._stop.wait(0.05)  # leave the writer some of the CPU
            except BaseException as error:  # kept and re-raised by the test
                self.errors.append(error)
                return

    def __enter__(self) -> Readers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def ask_in_a_process(prefork: Prefork, data_dir: Path, log: Path) -> dict[str, object]:
    """`newsbot ask --json` in another process; it must not wait for the writer."""
    pid = prefork.start(["ask", "--json", SEED_QUESTION], {"NEWSBOT_DATA_DIR": str(data_dir)}, log)
    deadline = time.monotonic() + 180  # a hang guard, not a speed test
    while (status := prefork.poll(pid)) is None:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            prefork.wait(pid)
            pytest.fail("`newsbot ask` waited for the paused writer")
        time.sleep(0.05)
    assert status == 0, log.read_text()
    said = log.read_text()
    return dict(json.loads(said[said.index("\n{") if not said.startswith("{") else 0 :]))


def run_paused(
    prefork: Prefork,
    archive: Archive,
    argv: list[str],
    env: dict[str, str],
    ready: Callable[[Path], bool],
) -> Readers:
    """Start a writer, pause it mid-work, read meanwhile, let it finish while reading on."""
    logs = archive.data_dir.parent
    log = logs / "writer.log"
    log.touch()
    pid = prefork.start(argv, {"NEWSBOT_DATA_DIR": str(archive.data_dir), **env}, log)
    assert prefork.pause_when(pid, lambda: ready(log)), log.read_text()
    try:
        # The writer holds the write lock (and maybe an open transaction) while paused.
        answer = archive.ask(SEED_QUESTION)
        assert_whole(archive, answer)
        assert answer.citations[0].title == SEED_TITLE
        other = ask_in_a_process(prefork, archive.data_dir, logs / "reader.log")
        assert other["found"] and other["citations"][0]["title"] == SEED_TITLE  # type: ignore[index]
        check_log = logs / "check.log"
        here = {"NEWSBOT_DATA_DIR": str(archive.data_dir)}
        assert prefork.run(["index", "check"], here, check_log) == 1
        assert "Another import, refresh or rebuild is writing" in check_log.read_text()
    finally:
        os.kill(pid, signal.SIGCONT)
    readers = Readers(archive, [SEED_QUESTION] + [s.question for s in STORIES])
    with readers:
        status = prefork.wait(pid)
    assert status == 0, log.read_text()
    if readers.errors:
        raise readers.errors[0]
    return readers


def test_questions_answered_while_an_import_runs(
    prefork: Prefork, archive: Archive, tmp_path: Path
) -> None:
    folder = write_stories(tmp_path / "stories", STORIES)
    start = archive.counts().articles

    run_paused(
        prefork,
        archive,
        ["import", str(folder)],
        {},
        lambda _: archive.counts().articles >= start + 3,
    )

    for item in STORIES:  # the reader picked up the writer's index without reopening
        assert item.title in [c.title for c in archive.ask(item.question).citations]


def test_questions_answered_while_a_feed_is_fetched(
    prefork: Prefork, archive: Archive, tmp_path: Path
) -> None:
    start = archive.counts().articles
    with FeedServer() as feed:
        feed.live = 6
        run_paused(
            prefork,
            archive,
            ["sources", "add", feed.url],
            {"NEWSBOT_ALLOW_PRIVATE_URLS": "true"},
            # An import stores its articles in one batch at the end: pause it while it writes.
            lambda _: writer_holds_lock(archive.data_dir),
        )

    assert archive.counts().articles == start + feed.live
    for item in feed.stories():
        assert item.title in [c.title for c in archive.ask(item.question).citations]


def test_questions_answered_while_a_rebuild_runs(
    prefork: Prefork, archive: Archive, tmp_path: Path
) -> None:
    archive.import_paths([write_stories(tmp_path / "stories", STORIES)])

    def part_done(log: Path) -> bool:
        shown = re.findall(r"(\d+)/(\d+) ", log.read_text(errors="replace"))
        return any(0 < int(done) < int(total) for done, total in shown)

    readers = run_paused(
        prefork, archive, ["index", "rebuild"], {"EMBEDDING_BATCH_SIZE": "2"}, part_done
    )

    assert readers.answers
    for item in STORIES:
        assert item.title in [c.title for c in archive.ask(item.question).citations]


def test_questions_answered_while_a_thread_imports(archive: Archive, tmp_path: Path) -> None:
    folder = write_stories(tmp_path / "stories", STORIES)
    second = Archive(archive.settings, embedder=archive.embedder)  # another reader, same files
    readers = [
        Readers(archive, [SEED_QUESTION] + [s.question for s in STORIES]),
        Readers(second, [s.question for s in STORIES], threads=1),
    ]
    writer = threading.Thread(target=archive.import_paths, args=([folder],))

    with readers[0], readers[1]:
        writer.start()
        writer.join()

    second.close()
    for reader in readers:
        if reader.errors:
            raise reader.errors[0]
    assert archive.counts().articles == 1 + len(STORIES)
