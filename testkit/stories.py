"""Generated news: short articles with facts no other shares, a feed of them on 127.0.0.1,
and what an archive holds, to compare two archives.

Shared by the crash, concurrency and load tests and by scripts/crash_test.py and load_test.py.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

from index.archive import Archive
from index.embed.factory import TextEmbedder
from index.settings import Settings

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
BATCHES, PER_BATCH = 4, 6
# A question the bundled seed articles answer, and the title of the article that does.
SEED_QUESTION = "What did the US offer Ukraine?"
SEED_TITLE = "USA signals readiness to join European coalition for defense of Ukraine"


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


def feed_story(n: int) -> Story:
    """A feed item long enough to be taken as full text (its page is not fetched)."""
    base = story(100 + n)
    town = base.title.split()[0]
    more = " ".join(
        f"Visitors to {town} described day {d} of the opening as busy but cheerful."
        for d in range(1, 9)
    )
    return Story(base.title, f"{base.text} {more}", base.question)


class FeedServer:
    """An RSS feed on 127.0.0.1 whose number of items the test raises."""

    def __init__(self) -> None:
        self.live = 2
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        """The feed's URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/feed.xml"

    def stories(self) -> list[Story]:
        """The items the feed shows now."""
        return [feed_story(n) for n in range(self.live)]

    def body(self) -> bytes:
        """The feed's XML."""
        items = "".join(
            f"<item><title>{escape(s.title)}</title><link>{self.url}?item={n}</link>"
            f"<guid>item-{n}</guid><pubDate>{formatdate(1_700_000_000 + n * 3600)}</pubDate>"
            f"<description>{escape(s.text)}</description></item>"
            for n, s in enumerate(self.stories())
        )
        return (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Crash desk</title>'
            f"<link>{self.url}</link>{items}</channel></rss>"
        ).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = feed.body()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


class RemovableFeed(FeedServer):
    """A second feed, added as a source and removed again in each round (the crash test)."""

    def stories(self) -> list[Story]:
        """Items no other source has."""
        return [feed_story(60 + n) for n in range(4)]


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


def contents(settings: Settings, embedder: TextEmbedder) -> tuple[list[tuple[object, ...]], int]:
    """(every passage with its article's title and URL, sorted; vectors on disk)."""
    archive = Archive(settings, embedder=embedder, check_model=False)
    try:
        rows: list[tuple[object, ...]] = sorted(
            (hit.article.title, hit.article.url, hit.chunk.ordinal, hit.chunk.text)
            for hit in archive.passages().values()
        )
        return rows, len(archive.vectors())
    finally:
        archive.close()
