"""Sources end to end: a real web server, real fetching, real model, FAISS and SQLite."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import cli_env
from web_server import (
    FERRY,
    FROST,
    HELMETS,
    HONEY,
    RUSSIAN,
    SOLAR,
    TELESCOPES,
    WebServer,
    pdf_bytes,
    web_settings,
)

from cli.main import main
from index.archive import Archive
from index.embed.sbert import Embedder
from index.errors import (
    ArchiveError,
    DuplicateSource,
    FetchError,
    ImportFailed,
    ModelUnavailable,
    UnknownSource,
)
from index.records import Counts
from index.sources.feeds import html_text, is_feed, parse_feed
from index.sources.fetch import Fetcher
from index.sources.neardup import NearDuplicates
from index.sources.sources import SourceResult, Sources

# Each broken case with what the person who added it is told.
BROKEN = {
    "/missing": "answered HTTP 404",
    "/slow": "did not answer within 1 s",
    "/malformed.xml": "not a valid RSS or Atom feed",
    "/empty.html": "no article text found",
    "/image.png": "is image/png, not a feed, web page, PDF or text file",
    "/binary.html": "looks like a binary file",
    "/big.html": "larger than the 100,000-byte limit",
    "/big-stream.html": "larger than the 100,000-byte limit",
    "/loop-a": "redirects more than 5 times",
    "/to-file": "Only http and https URLs",
    "/blob": "is a binary file, not a feed, web page, PDF or text file",
}
NOISE = ("Subscribe", "Cookie policy", "All rights reserved", "Most read", "Quiz of the week")


@pytest.fixture
def book(tmp_path: Path, embedder: Embedder) -> Iterator[Sources]:
    """Sources over an empty archive, allowed to fetch from the test server."""
    settings = web_settings(tmp_path)
    archive = Archive(settings, embedder=embedder)
    fetcher = Fetcher(settings)
    yield Sources(archive, fetcher)
    fetcher.close()
    archive.close()


def snapshot(archive: Archive) -> tuple[object, ...]:
    """Everything an import could change: counts, sources and the index file's bytes."""
    path = archive.vector_path()
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
    sources = [(s.id, s.url, s.articles) for s in archive.store.list_sources()]
    return archive.counts(), sources, digest


def stored_texts(book: Sources) -> list[str]:
    """The text of every article, newest first."""
    return [text for _, text in book.store.recent_texts(1000)]


def cited_titles(book: Sources, question: str) -> list[str]:
    """Titles the archive cites for a question."""
    return [citation.title for citation in book.archive.ask(question).citations]


def test_rss_feed_items_are_imported_and_cited(web: WebServer, book: Sources) -> None:
    result = book.add(web.url("/rss.xml"))

    assert (result.source.kind, result.source.title) == ("feed", "Harbour Gazette")
    assert (result.report.added, result.report.failures) == (2, ())
    answer = book.archive.ask("How much power will the floating solar farm on the reservoir make?")
    assert answer.citations[0].title == SOLAR.title
    assert answer.citations[0].url == web.url("/rss/solar")
    assert answer.citations[0].source == "Harbour Gazette"
    assert str(answer.citations[0].published) == "2026-11-02"


def test_atom_items_are_read_from_their_pages_without_noise(web: WebServer, book: Sources) -> None:
    result = book.add(web.url("/atom.xml"))

    assert result.report.added == 2
    assert len(web.hits("/articles/night-trains.html")) == 1
    texts = stored_texts(book)
    assert any("sleeper service will run three times a week" in t for t in texts)
    assert any("waiting list already has more than three hundred" in t for t in texts)
    assert not [noise for noise in NOISE for text in texts if noise in text]
    urls = [c.url for c in book.archive.ask("night train Tallinn Krakow sleeper").citations]
    assert web.url("/articles/night-trains.html") in urls  # utm_source dropped


def test_pages_behind_redirects_and_in_other_charsets(web: WebServer, book: Sources) -> None:
    page = book.add(web.url("/redirect"))
    russian = book.add(web.url("/moscow.html"))

    assert (page.source.kind, page.source.title) == ("page", TELESCOPES.title)
    assert cited_titles(book, "Can families borrow a telescope from the library?")[0] == (
        TELESCOPES.title
    )
    assert russian.source.title == RUSSIAN.title
    assert any("станция метро «Заречная»" in text for text in stored_texts(book))


def test_pdf_and_text_documents_by_url(web: WebServer, book: Sources) -> None:
    pdf = book.add(web.url("/helmets.pdf"))
    text = book.add(web.url("/honey.txt"))

    assert (pdf.source.kind, pdf.source.title, pdf.report.added) == ("file", HELMETS.title, 1)
    assert (text.source.title, text.report.added) == (HONEY.title, 1)
    assert book.add(web.url("/download")).source.title == HELMETS.title  # a PDF by its bytes
    assert cited_titles(book, "Which bicycle helmets cracked in the drop test?")[0] == (
        HELMETS.title
    )


def test_same_story_under_two_urls_is_stored_once(web: WebServer, book: Sources) -> None:
    first = book.add(web.url("/ferry-a.html"))
    second = book.add(web.url("/ferry-b.html"))

    assert first.report.added == 1
    assert (second.report.added, second.report.duplicates) == (0, 1)
    assert book.archive.counts().articles == 1
    book.remove(second.source.id)
    book.remove(first.source.id)
    assert book.add(web.url("/ferry-b.html")).report.added == 1  # the first copy is gone


def test_near_duplicates_are_told_from_different_stories() -> None:
    seen = NearDuplicates()
    seen.add(1, FERRY.text)
    edited = FERRY.text.replace("forty percent", "40 percent") + " Updated at 10:40."

    assert seen.match(edited) == 1
    assert seen.match(FERRY.text.upper()) == 1
    assert seen.match(FROST.text) is None
    assert seen.match("Too short to judge.") is None


def test_a_source_is_added_once(web: WebServer, book: Sources) -> None:
    book.add(web.url("/rss.xml"))

    with pytest.raises(DuplicateSource, match="already source #1"):
        book.add(web.url("/rss.xml?utm_source=newsletter#top"))


def test_broken_sources_leave_the_archive_intact(web: WebServer, book: Sources) -> None:
    book.add(web.url("/rss.xml"))
    before = snapshot(book.archive)

    for path, message in BROKEN.items():
        with pytest.raises(ArchiveError, match=message):
            book.add(web.url(path))
        assert snapshot(book.archive) == before, path
    assert cited_titles(book, "How do growers protect orchards from frost?")[0] == FROST.title


def test_refresh_fetches_only_what_is_new(web: WebServer, book: Sources) -> None:
    source = book.add(web.url("/live.xml")).source
    unchanged = book.refresh(source.id)
    web.publish(HONEY)
    fresh = book.refresh(source.id)

    assert unchanged.not_modified
    assert web.hits("/live.xml")[1]["if-none-match"]
    assert (fresh.report.added, fresh.report.duplicates) == (1, 1)
    assert cited_titles(book, "How big was the heather honey harvest?")[0] == HONEY.title


def test_one_failing_source_does_not_stop_the_others(web: WebServer, book: Sources) -> None:
    live = book.add(web.url("/live.xml")).source
    atom = book.add(web.url("/atom.xml")).source
    web.down.add("/live.xml")
    web.publish(HONEY)

    results = {r.source.id: r for r in book.refresh_all()}
    listed = {s.id: s for s in book.list_sources()}
    web.down.clear()
    recovered = book.refresh(live.id)

    assert results[live.id].error is not None and "HTTP 503" in results[live.id].error
    assert results[atom.id].error is None
    assert listed[live.id].last_error == results[live.id].error
    assert listed[atom.id].last_error is None
    assert recovered.report.added == 1
    assert book.get(live.id).last_error is None


def test_a_source_removed_while_it_is_refreshed(web: WebServer, book: Sources) -> None:
    live = book.add(web.url("/live.xml")).source
    rss = book.add(web.url("/rss.xml")).source
    web.publish(HONEY)
    web.gates["/live.xml"] = threading.Event()
    asked = len(web.hits("/live.xml"))
    results: list[SourceResult] = []
    worker = threading.Thread(target=lambda: results.extend(book.refresh_all()))
    worker.start()
    while len(web.hits("/live.xml")) == asked and worker.is_alive():
        time.sleep(0.05)
    book.remove(live.id)
    web.gates["/live.xml"].set()
    worker.join(60)

    by_id = {result.source.id: result for result in results}
    assert by_id[live.id].error is not None
    assert by_id[rss.id].not_modified and by_id[rss.id].error is None
    assert [s.id for s in book.list_sources()] == [rss.id]
    assert book.archive.counts().articles == 1  # FROST; SOLAR came with the live feed
    assert len(book.archive.vectors()) == book.archive.counts().chunks


def test_removed_source_is_no_longer_cited(web: WebServer, book: Sources) -> None:
    rss = book.add(web.url("/rss.xml")).source
    book.add(web.url("/atom.xml"))
    question = "How much power will the floating solar farm on the reservoir make?"
    assert cited_titles(book, question)[0] == SOLAR.title

    removed = book.remove(rss.id)

    assert removed.articles == 2
    assert SOLAR.title not in cited_titles(book, question)
    assert len(book.archive.vectors()) == book.archive.counts().chunks
    assert [s.id for s in book.list_sources()] == [rss.id + 1]
    with pytest.raises(UnknownSource):
        book.remove(rss.id)


def test_uploaded_files_become_sources(book: Sources) -> None:
    data = f"# {HONEY.title}\n\n{HONEY.text}\n".encode()
    result = book.add_file("../../etc/cron.d/honey.md", data)

    assert (result.source.kind, result.source.title) == ("file", "honey.md")
    assert result.source.url.startswith("upload:") and result.report.added == 1
    assert book.add_file("helmets.pdf", pdf_bytes(HELMETS)).report.added == 1
    with pytest.raises(DuplicateSource, match="already imported as source #1"):
        book.add_file("again.md", data)
    before = snapshot(book.archive)
    with pytest.raises(ImportFailed, match=r"Nothing in bad\.jsonl could be imported"):
        book.add_file("bad.jsonl", b"{not json\n")
    with pytest.raises(ImportFailed, match="unsupported file type"):
        book.add_file("virus.exe", b"MZ\x00\x00")
    with pytest.raises(ImportFailed, match="not a readable PDF"):
        book.add_file("broken.pdf", b"%PDF-1.4 nonsense")
    with pytest.raises(FetchError, match="uploaded file"):
        book.refresh(result.source.id)
    assert snapshot(book.archive) == before


def test_feeds_are_told_from_pages() -> None:
    assert is_feed("application/atom+xml", b"")
    assert is_feed("text/xml", b'<?xml version="1.0"?>\n<rss version="2.0">')
    assert is_feed("", b"<feed xmlns='http://www.w3.org/2005/Atom'>")
    assert not is_feed("text/html", b"<html><body>rss</body></html>")
    assert html_text("<p>One &amp; two</p><p>three<br>four</p>") == "One & two\n\nthree\n\nfour"


def test_a_slightly_broken_feed_still_gives_its_items() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Loose</title><item>'
        b"<title>One</title><link>/one</link><description>Text &bogus; here</description>"
        b"</item></channel>"
    )
    document = parse_feed(body, "http://news.example/feed", "application/rss+xml")

    assert [d.url for d in document.drafts] == ["http://news.example/one"]


def test_cli_sources_add_list_refresh_remove(web: WebServer, tmp_path: Path) -> None:
    env = {
        "NEWSBOT_DATA_DIR": str(tmp_path / "data"),
        "NEWSBOT_SEEDS_DIR": str(tmp_path / "no-seeds"),
        "NEWSBOT_ALLOW_PRIVATE_URLS": "true",
        "NEWSBOT_FETCH_TIMEOUT": "1",
        "NEWSBOT_FETCH_MAX_BYTES": "100000",
    }
    (tmp_path / "no-seeds").mkdir()
    runner = CliRunner()

    added = runner.invoke(main, ["sources", "add", web.url("/rss.xml")], env=env)
    assert added.exit_code == 0, added.output
    assert "Added source #1 (feed)" in added.output and "2 article(s) added" in added.output
    for path, message in BROKEN.items():
        broken = runner.invoke(main, ["sources", "add", web.url(path)], env=env)
        assert broken.exit_code == 1 and message in broken.output, (path, broken.output)
    listed = runner.invoke(main, ["sources", "list"], env=env)
    assert re.findall(r"^#\d+ (\w+) +(\d+) articles", listed.output, re.M) == [("feed", "2")]
    web.down.add("/rss.xml")
    refreshed = runner.invoke(main, ["sources", "refresh"], env=env)
    assert refreshed.exit_code == 1 and "HTTP 503" in refreshed.output
    assert "last error: " in runner.invoke(main, ["sources", "list"], env=env).output
    removed = runner.invoke(main, ["sources", "remove", "1"], env=env)
    assert "Removed source #1" in removed.output and "2 article(s)" in removed.output
    gone = runner.invoke(main, ["sources", "remove", "1"], env=env)
    assert gone.exit_code == 1 and "There is no source #1" in gone.output


def test_cli_broken_source_in_a_real_process(web: WebServer, book: Sources) -> None:
    book.add(web.url("/rss.xml"))
    before = snapshot(book.archive)
    env = cli_env(book.archive.data_dir, NEWSBOT_ALLOW_PRIVATE_URLS="true")
    run = subprocess.run(
        [sys.executable, "-m", "cli", "sources", "add", web.url("/malformed.xml")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 1
    assert "is not a valid RSS or Atom feed" in run.stderr
    assert "Traceback" not in run.stderr
    assert snapshot(book.archive) == before


def test_a_failed_first_import_leaves_no_source_behind(web: WebServer, tmp_path: Path) -> None:
    settings = web_settings(tmp_path)
    archive = Archive(settings, embedder=Embedder(str(tmp_path / "no-such-model")))
    book = Sources(archive, Fetcher(settings))
    try:
        with pytest.raises(ModelUnavailable, match="Cannot load the embedding model"):
            book.add(web.url("/rss.xml"))
        assert book.list_sources() == [] and archive.counts() == Counts(0, 0)
    finally:
        book.fetcher.close()
        archive.close()
