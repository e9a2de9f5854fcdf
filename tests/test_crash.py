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
from index.embedder import Embedder
from index.settings import Settings
from index.store import Store

TOWNS = (
    "Arlenbrook",
    "Brisk",
    "Calloway",
    "Dunmere",
    "Eskerby",
    "Farrowgate",
    "Glenhollow",
    "Harrowfield",
    "Ivelcombe",
    "Jorvale",
    "Kestwick",
    "Lindenmoor",
    "Marrowdale",
    "Northcott",
    "Oakenshaw",
    "Pellingham",
    "Quarrington",
    "Rookhaven",
    "Saltmarsh",
    "Thistleby",
    "Umberleigh",
    "Vantry",
    "Wexcombe",
    "Yarrowby",
    "Zennor",
    "Ashcombe",
    "Bellhaven",
    "Coldridge",
    "Dovercourt",
    "Elmsworth",
)
THINGS = (
    "lighthouse",
    "bakery",
    "observatory",
    "library",
    "ferry terminal",
    "aquarium",
    "velodrome",
    "greenhouse",
    "planetarium",
    "museum",
    "brewery",
    "cinema",
    "skate park",
    "orchard",
    "boathouse",
)
BATCHES, PER_BATCH, IMPORT_KILLS_PER_BATCH = 5, 6, 3


@dataclass(frozen=True)
class Story:
    """One generated article and the question only it answers."""

    title: str
    text: str
    question: str


def story(n: int) -> Story:
    """A short article with facts no other generated article shares."""
    suffix = ("", "ford", "ton", "wick", "by", "stead")[n // len(TOWNS)]
    town, thing = TOWNS[n % len(TOWNS)] + suffix, THINGS[n % len(THINGS)]
    cost, jobs = 100 + 37 * n, 5 + n
    return Story(
        title=f"{town} opens a new {thing}",
        text=(
            f"The town of {town} opened its new {thing} on Monday after two years of building. "
            f"The mayor said the {thing} in {town} cost {cost} thousand euros and will employ "
            f"{jobs} people. Residents of {town} queued for hours to see it."
        ),
        question=f"How much did the new {thing} in {town} cost?",
    )


def write_batches(folder: Path) -> list[list[Story]]:
    """BATCHES folders of PER_BATCH one-article text files."""
    batches = []
    for b in range(BATCHES):
        stories = [story(b * PER_BATCH + i) for i in range(PER_BATCH)]
        (folder / f"batch{b}").mkdir(parents=True)
        for i, item in enumerate(stories):
            (folder / f"batch{b}" / f"{i}.txt").write_text(f"{item.title}\n\n{item.text}\n")
        batches.append(stories)
    return batches


def contents(settings: Settings, embedder: Embedder) -> tuple[list[tuple[object, ...]], int]:
    """(every passage with its article's title and URL, sorted; vectors on disk)."""
    archive = Archive(settings, embedder=embedder, check_model=False)
    try:
        found = archive.store.hits(archive.store.chunk_ids().tolist())
        rows = sorted((a.title, a.url, c.ordinal, c.text) for c, a in found.values())
        return rows, len(archive.vectors())
    finally:
        archive.close()


@dataclass
class CrashRun:
    """The growing archive under test and what has happened to it."""

    prefork: Prefork
    settings: Settings
    embedder: Embedder
    rng: random.Random
    done: set[str] = field(default_factory=set)
    kills: dict[str, int] = field(default_factory=lambda: {"import": 0, "rebuild": 0})
    runs: int = 0

    def env(self, **extra: str) -> dict[str, str]:
        return {"NEWSBOT_DATA_DIR": str(self.settings.data_dir), **extra}

    def log(self) -> Path:
        self.runs += 1
        path = self.settings.data_dir.parent / f"run-{self.runs}.log"
        path.touch()
        return path

    def articles(self, store: Store) -> int:
        return store.counts()[0]

    def import_once(self, paths: list[Path], kill: bool) -> bool:
        """Import paths, killed mid-import if `kill`; True if the import reported done."""
        log, store = self.log(), Store(self.settings.data_dir / "archive.sqlite3")
        try:
            target = self.articles(store) + 1
            pid = self.prefork.start(["import", *map(str, paths)], self.env(), log)
            if kill and self.prefork.pause_when(pid, lambda: self.articles(store) >= target):
                self._kill(pid, "import")
            else:
                assert self.prefork.wait(pid) == 0, log.read_text()
        finally:
            store.close()
        said = log.read_text()
        return "Imported:" in said or "Nothing new" in said

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
            found = archive.store.hits(archive.store.chunk_ids().tolist())
            vector_ids = set(archive.vectors().ids().tolist())
            titles = {article.title for _, article in found.values()}
            assert self.done <= titles, self.done - titles
            done_chunks = {c.id for c, a in found.values() if a.title in self.done}
            assert done_chunks <= vector_ids, "a done article lost its vectors"
            assert vector_ids <= set(found), "a vector has no passage"
        finally:
            archive.close()


def test_killed_imports_and_rebuilds_lose_nothing(
    prefork: Prefork, settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    batches = write_batches(tmp_path / "corpus")
    run = CrashRun(prefork, settings, embedder, random.Random(7))
    paths: list[Path] = []
    for b in range(BATCHES):
        paths.append(tmp_path / "corpus" / f"batch{b}")
        so_far = {item.title for stories in batches[: b + 1] for item in stories}
        for _ in range(IMPORT_KILLS_PER_BATCH):
            if run.import_once(paths, kill=True):
                run.done |= so_far
        assert run.import_once(paths, kill=False)
        run.done |= so_far
        for _ in range(3):  # a small rebuild can finish before it is caught part done
            before = run.kills["rebuild"]
            run.rebuild_once()
            if run.kills["rebuild"] > before:
                break
    assert run.import_once(paths, kill=False)  # finish: nothing new, catch up
    log = run.log()
    assert prefork.run(["index", "check", "--json"], run.env(), log) == 0, log.read_text()
    checked = json.loads(log.read_text().splitlines()[-1])
    print(f"\ncrash test: {run.kills} kills in {run.runs} runs; index check {checked}")

    assert sum(run.kills.values()) >= 20, run.kills
    assert checked["ok"] and checked["articles"] == BATCHES * PER_BATCH + 1
    reference = Settings(_env_file=None, data_dir=tmp_path / "reference")  # type: ignore[call-arg]
    uninterrupted = Archive(reference, embedder=embedder)
    uninterrupted.seed()
    uninterrupted.import_paths(paths)
    uninterrupted.close()
    assert contents(settings, embedder) == contents(reference, embedder)
    archive = Archive(settings, embedder=embedder)
    for item in (item for stories in batches for item in stories):
        cited = [c.title for c in archive.ask(item.question).citations]
        assert item.title in cited, (item.question, cited)
    archive.close()
