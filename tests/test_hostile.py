"""Hostile input, table-driven: each case ends in a clear message, no crash, the archive intact.

The CLI cases run the real `newsbot` entry point (forked, see prefork.py) against one archive;
the fetcher cases use the real HTTP client against servers on 127.0.0.1. The bot's cases are
in test_hostile_bot.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import SEED_QUESTION, SEED_TITLE
from prefork import Prefork
from web_server import WebServer, web_settings

from index.archive import Archive
from index.check import check
from index.embed.sbert import Embedder
from index.errors import BlockedURL, FetchError
from index.settings import Settings
from index.sources.fetch import Fetcher
from index.sources.sources import MAX_ITEMS, MAX_PAGE_FETCHES, Sources

# the CLI


def hostile_files(folder: Path) -> Path:
    """Files no news archive should choke on."""
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.txt").write_bytes(b"  \n\n\t \n")
    (folder / "noise.txt").write_bytes(bytes(range(256)) * 40)
    (folder / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    (folder / "latin1.txt").write_bytes(
        b"Caf\xe9 owners protest \xabnew rules\xbb\n\nThe caf\xe9 owners of Lyon protested "
        b"on Tuesday against new terrace rules that cut opening hours by two hours.\xff\n"
    )
    (folder / "mixed.jsonl").write_text(
        '{"title": "Harbour opens", "text": "The new harbour in Brightwater opened with '
        'ten ships and a brass band on Sunday."}\n'
        "{broken\n"
        '{"title": "No text here"}\n'
        "[1, 2, 3]\n"
        '"a string"\n'
        '{"text": "Without a title: the river ferry at Kelmscott stopped for repairs."}\n'
        '{"title": "Big number", "text": ' + "9" * 5000 + "}\n"
    )
    (folder / "surrogates.jsonl").write_text(
        '{"title": "Lone \\ud800 surrogate", "text": "The \\udcff museum in Tarnwick reopened '
        'after a flood damaged its ground floor last winter."}\n'
    )
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "number.json").write_text("42")
    (folder / "setup.exe").write_bytes(b"MZ\x90\x00")
    (folder / "empty.html").write_text("<html><script>alert(1)</script><p>Hi</p></html>")
    (folder / "fake.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    (folder / "links.md").write_text(
        "---\ntitle: <b>Bold</b> & <a href='x'>claims</a>\nurl: javascript:alert(1)\n"
        "published: not-a-date\n---\nThe parish council of Wendlebury voted to repaint "
        "the old bus shelter in green after a long debate.\n"
    )
    with open(folder / "huge.txt", "wb") as sparse:
        sparse.truncate(210_000_000)  # over the 200 MB limit, without using the disk
    return folder


@dataclass(frozen=True)
class CliCase:
    """A newsbot command line, the exit status and a fragment of what it must say."""

    name: str
    argv: Callable[[Path], list[str]]
    status: int
    said: str
    env: dict[str, str] = field(default_factory=dict)
    added: int = 0


def _imp(*names: str) -> Callable[[Path], list[str]]:
    return lambda files: ["import", *(str(files / n) for n in names)]


def _ask(*words: str) -> Callable[[Path], list[str]]:
    return lambda files: ["ask", "--json", *words]


FOUND = '"found": true'
CLI_CASES = [
    CliCase("empty file", _imp("empty.txt"), 1, "is empty"),
    CliCase("whitespace only", _imp("blank.txt"), 1, "is empty"),
    CliCase("binary bytes", _imp("noise.txt"), 1, "looks like a binary file"),
    CliCase("an image named .md", _imp("image.md"), 1, "looks like a binary file"),
    CliCase("invalid UTF-8", _imp("latin1.txt"), 0, "Imported: 1 article(s)", added=1),
    CliCase("over 200 MB", _imp("huge.txt"), 1, "larger than 200 MB"),
    CliCase("a device", lambda _: ["import", "/dev/zero"], 1, "not a regular file"),
    CliCase("no such path", _imp("nothing-here.txt"), 1, "no such file or folder"),
    CliCase("../../etc/passwd", lambda f: ["import", "../" * 12 + "etc/passwd"], 1, "unsupported"),
    CliCase("an .exe", _imp("setup.exe"), 1, "unsupported file type"),
    CliCase("JSONL broken lines", _imp("mixed.jsonl"), 0, "mixed.jsonl:2: not valid", added=2),
    CliCase("JSONL missing text", _imp("mixed.jsonl"), 0, "mixed.jsonl:3: missing 'text'"),
    CliCase("JSON lone surrogates", _imp("surrogates.jsonl"), 0, "Imported: 1", added=1),
    CliCase("JSON 100,000 deep", _imp("deep.json"), 1, "nested too deep"),
    CliCase("JSON not an object", _imp("number.json"), 1, "not a JSON object"),
    CliCase("HTML without text", _imp("empty.html"), 1, "no article text"),
    CliCase("a fake PDF", _imp("fake.pdf"), 1, "not a readable PDF"),
    CliCase("javascript: link", _imp("links.md"), 0, "Imported: 1 article(s)", added=1),
    CliCase(
        "5,000 missing files",
        lambda f: ["import", *(str(f / f"gone-{n}.txt") for n in range(5000))],
        1,
        "gone-4999.txt: no such file",
    ),
    CliCase("5,000 words", _ask(*(SEED_QUESTION.split() * 1000)), 0, FOUND),
    CliCase("a 100 kB question", _ask(SEED_QUESTION + " Ukraine" * 14_000), 0, FOUND),
    CliCase("an empty question", _ask(""), 1, "Ask a question in words"),
    CliCase("punctuation only", _ask("?!… —"), 1, "Ask a question in words"),
    CliCase("control characters", _ask("\x1b[31m\x07" + SEED_QUESTION + "\x08\x7f"), 0, FOUND),
    CliCase("HTML in a question", _ask("<script>alert(1)</script>" + SEED_QUESTION), 0, FOUND),
    CliCase("undecodable argv", _ask("\udcff\udcfe " + SEED_QUESTION), 0, FOUND),
    CliCase("-k 0", lambda _: ["ask", "-k", "0", "war"], 2, "Invalid value for '-k'"),
    CliCase("-k 10**9", lambda _: ["ask", "-k", "1" + "0" * 9, "war"], 2, "Invalid value"),
    CliCase("a bad number setting", _ask("war"), 1, "NEWSBOT_TOP_K", {"NEWSBOT_TOP_K": "lots"}),
    CliCase("admin by name", _ask("war"), 1, "numeric Telegram user ids", {"ADMIN_IDS": "@me"}),
    CliCase("an unknown command", lambda _: ["destroy", "--all"], 2, "No such command"),
]


@pytest.fixture(scope="module")
def cli_world(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[tuple[Settings, Path, list[int]]]:
    """A seeded archive and the hostile files; the list counts the articles there should be."""
    root = tmp_path_factory.mktemp("hostile")
    settings = Settings(_env_file=None, data_dir=root / "data")  # type: ignore[call-arg]
    archive = Archive(settings, embedder=embedder)
    archive.seed()
    archive.close()
    yield settings, hostile_files(root / "files"), [1]


def assert_intact(settings: Settings, embedder: Embedder, articles: int, ask: bool) -> None:
    """The archive holds what it should, SQLite, keywords and vectors agree, and it answers."""
    archive = Archive(settings, embedder=embedder, check_model=False)
    try:
        report = check(archive)
        assert report.ok, report.problems
        assert report.articles == articles
        if ask:
            assert archive.ask(SEED_QUESTION).citations[0].title == SEED_TITLE
    finally:
        archive.close()


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.name for c in CLI_CASES])
def test_hostile_command_lines(
    case: CliCase,
    cli_world: tuple[Settings, Path, list[int]],
    prefork: Prefork,
    embedder: Embedder,
) -> None:
    settings, files, articles = cli_world
    log = files.parent / f"{case.name.replace('/', '_')}.log"
    env = {"NEWSBOT_DATA_DIR": str(settings.data_dir), **case.env}

    status = prefork.run(case.argv(files), env, log)

    said = log.read_text(errors="replace")
    assert status == case.status, said
    assert case.said in said
    assert "Traceback" not in said
    articles[0] += case.added
    assert_intact(settings, embedder, articles[0], ask=case.added > 0)


def test_a_javascript_link_is_not_stored(archive: Archive, tmp_path: Path) -> None:
    files = hostile_files(tmp_path / "files")

    archive.import_paths([files / "links.md"])

    answer = archive.ask("What colour will the Wendlebury bus shelter be?")
    assert answer.citations[0].title == "<b>Bold</b> & <a href='x'>claims</a>"
    assert answer.citations[0].url is None


@pytest.mark.parametrize(
    ("damage", "argv", "said"),
    [
        ("vectors", ["ask", "What did the US offer Ukraine?"], "USA signals readiness"),
        ("sqlite", ["ask", "war"], "is not a readable newsbot archive"),
        ("vectors", ["index", "check", "--repair"], "OK: 1 articles"),
    ],
    ids=["damaged vector file, rebuilt from SQLite", "a non-SQLite archive", "repairing it"],
)
def test_a_damaged_archive_is_explained(
    damage: str, argv: list[str], said: str, archive: Archive, prefork: Prefork
) -> None:
    if damage == "vectors":
        archive.vector_path().write_bytes(archive.vector_path().read_bytes()[:200])
    else:
        archive.close()  # its write-ahead log would still hold the pages
        (archive.data_dir / "archive.sqlite3").write_bytes(b"\x00garbage" * 1000)
    log = archive.data_dir.parent / "damaged.log"

    status = prefork.run(argv, {"NEWSBOT_DATA_DIR": str(archive.data_dir)}, log)

    assert said in log.read_text() and "Traceback" not in log.read_text()
    assert status == (0 if damage == "vectors" else 1)


# the fetcher


class FloodServer:
    """A feed of 10,000 items, and a redirect to a private address, on 127.0.0.1."""

    def __init__(self, target: str) -> None:
        items = "".join(
            f"<item><title>Flood item {n}</title><link>http://127.0.0.1:9/{n}</link>"
            f"<description>Short item {n}.</description></item>"
            for n in range(10_000)
        )
        self.feed = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Flood</title>{items}'
            "</channel></rss>"
        ).encode()
        self.target = target
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/flood.xml":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Content-Length", str(len(site.feed)))
                    self.end_headers()
                    self.wfile.write(site.feed)
                else:
                    self.send_response(302)
                    self.send_header("Location", site.target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def url(self, path: str) -> str:
        """A URL on this server."""
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def __enter__(self) -> FloodServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass(frozen=True)
class FetchCase:
    """A URL (built from the test servers' base URLs), whether private addresses are allowed."""

    name: str
    url: Callable[[WebServer, FloodServer], str]
    allow_private: bool
    error: type[Exception]
    said: str


FETCH_CASES = [
    FetchCase("IPv6 loopback", lambda w, f: "http://[::1]:8080/feed", False, BlockedURL, "::1"),
    FetchCase("decimal IP", lambda w, f: "http://2130706433/", False, BlockedURL, "non-public"),
    FetchCase("hex IP", lambda w, f: "http://0x7f.0.0.1/", False, BlockedURL, "non-public"),
    FetchCase("IPv4 in IPv6", lambda w, f: "http://[::ffff:7f00:1]/", False, BlockedURL, "non-"),
    FetchCase(
        "localhost resolves to 127.0.0.1",
        lambda w, f: w.url("/rss.xml").replace("127.0.0.1", "localhost"),
        False,
        BlockedURL,
        "non-public address",
    ),
    FetchCase("cloud metadata", lambda w, f: "http://169.254.169.254/", False, BlockedURL, "non-"),
    FetchCase("the test web itself", lambda w, f: w.url("/rss.xml"), False, BlockedURL, "non-"),
    FetchCase("redirect to file:", lambda w, f: w.url("/to-file"), True, BlockedURL, "file:"),
    FetchCase("file: URL", lambda w, f: "file:///etc/passwd", True, BlockedURL, "Only http"),
    FetchCase("redirect loop", lambda w, f: w.url("/loop-a"), True, FetchError, "redirects"),
    FetchCase("an endless body", lambda w, f: w.url("/big-stream.html"), True, FetchError, "limit"),
    FetchCase("an image", lambda w, f: w.url("/image.png"), True, FetchError, "image/png"),
]


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[WebServer, FloodServer]]:
    """The project's test web and the flood/redirect server."""
    with WebServer() as web, FloodServer("http://10.255.255.1:9/admin") as flood:
        yield web, flood


@pytest.mark.parametrize("case", FETCH_CASES, ids=[c.name for c in FETCH_CASES])
def test_hostile_urls(
    case: FetchCase, servers: tuple[WebServer, FloodServer], tmp_path: Path
) -> None:
    web, flood = servers
    settings = web_settings(tmp_path, allow_private_urls=case.allow_private, fetch_timeout=0.5)
    fetcher = Fetcher(settings)
    try:
        with pytest.raises(case.error) as raised:
            fetcher.fetch(case.url(web, flood))
    finally:
        fetcher.close()
    assert case.said in str(raised.value)


def test_a_feed_of_10000_items_is_read_in_part(
    servers: tuple[WebServer, FloodServer], tmp_path: Path, embedder: Embedder
) -> None:
    settings = web_settings(tmp_path, fetch_max_bytes=5_000_000, fetch_timeout=0.5)
    archive = Archive(settings, embedder=embedder)
    book = Sources(archive, Fetcher(settings))

    try:
        report = book.add(servers[1].url("/flood.xml")).report

        # Only the first MAX_ITEMS items are read: each is added, a duplicate or a failure.
        assert report.added + report.duplicates + len(report.failures) == MAX_ITEMS
        # Their summaries are short, so pages are fetched, MAX_PAGE_FETCHES of them at most;
        # each fails (port 9 is closed) and, the summary being too short, the item fails.
        assert len(report.failures) == MAX_PAGE_FETCHES
        assert all(f.where.startswith("Flood item ") for f in report.failures)
        assert 0 < report.added == archive.counts().articles
        assert check(archive).ok
    finally:
        book.fetcher.close()
        archive.close()
