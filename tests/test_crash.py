"""Crash safety: `newsbot import` and `index rebuild` killed with SIGKILL over a growing archive.

Each kill lands mid-work by construction: the command is paused (SIGSTOP) once SQLite shows it
has stored an article of this run (or, for a rebuild, once its progress shows passages done
but not all), after a random extra delay, and is killed only if it was still running then.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from prefork import Prefork

from index.archive import Archive
from index.embed.sbert import Embedder
from index.settings import Settings
from index.sources.fetch import Fetcher
from index.sources.sources import Sources
from index.storage.store import Store
from testkit.stories import BATCHES, FeedServer, Story, contents, write_batches

IMPORT_KILLS_PER_BATCH = 3


@dataclass
class CrashRun:
    """The growing archive under test and what has happened to it."""

    prefork: Prefork
    settings: Settings
    embedder: Embedder
    rng: random.Random
    done: set[str] = field(default_factory=set)
    kills: dict[str, int] = field(default_factory=lambda: {"import": 0, "rebuild": 0, "refresh": 0})
    runs: int = 0

    def env(self, **extra: str) -> dict[str, str]:
        here = {"NEWSBOT_DATA_DIR": str(self.settings.data_dir), "NEWSBOT_ALLOW_PRIVATE_URLS": "1"}
        return {**here, **extra}

    def log(self) -> Path:
        self.runs += 1
        path = self.settings.data_dir.parent / f"run-{self.runs}.log"
        path.touch()
        return path

    def articles(self, store: Store) -> int:
        return store.counts().articles

    def import_once(self, paths: list[Path], kill: bool) -> bool:
        """Import paths, killed mid-import if `kill`; True if the import reported done."""
        said = self._store_once("import", ["import", *map(str, paths)], kill)
        return "Imported:" in said or "Nothing new" in said

    def refresh_once(self, kill: bool) -> bool:
        """Refresh the feeds, killed mid-refresh if `kill`; True if it reported done."""
        return "article(s) added" in self._store_once("refresh", ["sources", "refresh"], kill)

    def _store_once(self, what: str, argv: list[str], kill: bool) -> str:
        """Run a command that stores articles; with `kill`, SIGKILL it after it stored one."""
        log, store = self.log(), Store(self.settings.data_dir / "archive.sqlite3")
        try:
            target = self.articles(store) + 1
            pid = self.prefork.start(argv, self.env(), log)
            if kill and self.prefork.pause_when(pid, lambda: self.articles(store) >= target):
                self._kill(pid, what)
            else:
                assert self.prefork.wait(pid) == 0, log.read_text()
        finally:
            store.close()
        return log.read_text()

    def rebuild_once(self) -> None:
        """Start a rebuild and kill it once its progress shows it part done."""
        log = self.log()
        pid = self.prefork.start(["index", "rebuild"], self.env(EMBEDDING_BATCH_SIZE="2"), log)

        def part_done() -> bool:
            shown = re.findall(r"(\d+)/(\d+) ", log.read_text(errors="replace"))
            return any(0 < int(done) < int(total) for done, total in shown)

        if self.prefork.pause_when(pid, part_done):
            self._kill(pid, "rebuild")
        else:
            assert self.prefork.wait(pid) == 0, log.read_text()

    def _kill(self, pid: int, what: str) -> None:
        """Let the paused command run a random moment more, then SIGKILL it."""
        delay = self.rng.choice([0.0, self.rng.uniform(0, 0.08)])
        if delay:
            os.kill(pid, signal.SIGCONT)
            time.sleep(delay)
            os.kill(pid, signal.SIGSTOP)  # an exited child is a zombie until waited: safe
        os.kill(pid, signal.SIGKILL)
        if self.prefork.wait(pid) == -signal.SIGKILL:
            self.kills[what] += 1
        self.assert_nothing_lost()

    def assert_nothing_lost(self) -> None:
        """Articles reported done are stored and indexed; no vector lacks its passage."""
        archive = Archive(self.settings, embedder=self.embedder, check_model=False)
        try:
            found = archive.passages()
            vector_ids = set(archive.vectors().ids().tolist())
            titles = {hit.article.title for hit in found.values()}
            assert self.done <= titles, self.done - titles
            done_chunks = {i for i, hit in found.items() if hit.article.title in self.done}
            assert done_chunks <= vector_ids, "a done article lost its vectors"
            assert vector_ids <= set(found), "a vector has no passage"
        finally:
            archive.close()


def test_killed_imports_rebuilds_and_refreshes_lose_nothing(
    prefork: Prefork, settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    batches = write_batches(tmp_path / "corpus")
    run = CrashRun(prefork, settings, embedder, random.Random(7))
    with FeedServer() as feed:
        added = run.log()
        assert prefork.run(["sources", "add", feed.url], run.env(), added) == 0, added.read_text()
        run.done |= {s.title for s in feed.stories()}
        paths = grow(run, batches, feed, tmp_path / "corpus")
        for _ in range(12):  # top up: the kills that missed because their work ran out
            if sum(run.kills.values()) >= 20:
                break
            rebuild_until_killed(run)
        assert run.import_once(paths, kill=False)  # finish: nothing new, catch up
        assert run.refresh_once(kill=False)
        log = run.log()
        assert prefork.run(["index", "check", "--json"], run.env(), log) == 0, log.read_text()
        checked = json.loads(log.read_text().splitlines()[-1])
        print(f"\ncrash test: {run.kills} kills in {run.runs} runs; index check {checked}")

        assert sum(run.kills.values()) >= 20, run.kills
        stories = [item for items in batches for item in items] + feed.stories()
        assert checked["ok"] and checked["articles"] == len(stories) + 1
        assert contents(settings, embedder) == uninterrupted(tmp_path, paths, feed, embedder)
    archive = Archive(settings, embedder=embedder)
    for item in stories:
        cited = [c.title for c in archive.ask(item.question).citations]
        assert item.title in cited, (item.question, cited)
    archive.close()


def grow(run: CrashRun, batches: list[list[Story]], feed: FeedServer, corpus: Path) -> list[Path]:
    """Batch by batch: imports killed then finished, a rebuild killed, the feed refreshed."""
    paths: list[Path] = []
    for b in range(BATCHES):
        paths.append(corpus / f"batch{b}")
        so_far = {item.title for items in batches[: b + 1] for item in items}
        for _ in range(IMPORT_KILLS_PER_BATCH):
            if run.import_once(paths, kill=True):
                run.done |= so_far
        assert run.import_once(paths, kill=False)
        run.done |= so_far
        rebuild_until_killed(run)
        feed.live += 3
        if run.refresh_once(kill=True):
            run.done |= {s.title for s in feed.stories()}
        assert run.refresh_once(kill=False)
        run.done |= {s.title for s in feed.stories()}
    return paths


def rebuild_until_killed(run: CrashRun) -> None:
    """A small rebuild can finish before it is caught part done: try up to three times."""
    for _ in range(3):
        before = run.kills["rebuild"]
        run.rebuild_once()
        if run.kills["rebuild"] > before:
            return


def uninterrupted(
    tmp_path: Path, paths: list[Path], feed: FeedServer, embedder: Embedder
) -> tuple[list[tuple[object, ...]], int]:
    """The contents of the same archive built without a kill."""
    reference = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path / "reference", allow_private_urls=True
    )
    archive = Archive(reference, embedder=embedder)
    archive.seed()
    archive.import_paths(paths)
    fetcher = Fetcher(reference)
    Sources(archive, fetcher).add(feed.url)
    fetcher.close()
    archive.close()
    return contents(reference, embedder)
