"""Feeds (RSS, Atom) and web documents into article drafts; tells a feed from a page. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from html.parser import HTMLParser
from typing import Any

import feedparser

from index.errors import FetchError, ImportFailed
from index.i18n import _
from index.ingest.extract import decode, parse_date, parse_document, parse_html
from index.records import ArticleDraft, Failure, SourceKind

FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml"})
SNIFFED_TYPES = frozenset({"", "application/xml", "text/xml", "text/plain"})
BINARY = "application/octet-stream"
DOCUMENT_SUFFIXES = {"application/pdf": ".pdf", "text/plain": ".txt", "text/markdown": ".md"}
_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF)[\s>]")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.IGNORECASE)
_BLOCKS = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "blockquote", "tr"})


@dataclass(frozen=True)
class WebDocument:
    """What a URL held: a feed's items, a page's article or a file's articles."""

    kind: SourceKind
    title: str
    drafts: tuple[ArticleDraft, ...]
    failures: tuple[Failure, ...] = ()


class _TextOnly(HTMLParser):
    """Collects the text of an HTML fragment, a line break per block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(fragment: str) -> str:
    """Plain text of an HTML fragment such as a feed item's summary."""
    parser = _TextOnly()
    parser.feed(fragment)
    parser.close()
    lines = (
        re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.parts).split("\n")
    )
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def is_feed(content_type: str, body: bytes) -> bool:
    """Whether a response is an RSS or Atom feed, by its type or, for XML, its root element."""
    if content_type in FEED_TYPES:
        return True
    return content_type in SNIFFED_TYPES and _FEED_ROOT.search(body[:2048]) is not None


def page_text(body: bytes, charset: str | None, url: str) -> str:
    """A page's text in the charset its server or its <meta> names, else UTF-8, else cp1252."""
    if b"\x00" in body[:8192]:
        raise ImportFailed(_("{url} looks like a binary file, not a web page.", url=url))
    declared = _META_CHARSET.search(body[:4096])
    for name in (charset, declared.group(1).decode("ascii") if declared else None):
        if name:
            try:
                return body.decode(name)
            except (LookupError, UnicodeDecodeError):
                continue
    return decode(body, url)


def _entry_text(entry: Any) -> str:
    contents = [c.get("value", "") for c in entry.get("content", []) if c.get("value")]
    best = max(contents, key=len) if contents else entry.get("summary", "")
    return html_text(best or "")


def _entry_date(entry: Any) -> date | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            return date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday)
    return parse_date(entry.get("published") or entry.get("updated"))


def parse_feed(body: bytes, url: str, content_type: str = "") -> WebDocument:
    """A feed's items as drafts; the text may be only a summary (the caller may fetch the page)."""
    parsed = feedparser.parse(
        body,
        response_headers={"content-location": url, "content-type": content_type or "text/xml"},
    )
    if parsed.get("bozo") and not parsed.entries:
        reason = parsed.get("bozo_exception") or _("unreadable XML")
        raise FetchError(
            _("{url} is not a valid RSS or Atom feed ({reason}).", url=url, reason=reason)
        )
    if not parsed.get("version") and not parsed.entries:
        raise FetchError(_("{url} is not an RSS or Atom feed.", url=url))
    title = html_text(parsed.feed.get("title", "")) or url
    drafts = []
    for entry in parsed.entries:
        link = entry.get("link") or None
        text = _entry_text(entry)
        entry_title = html_text(entry.get("title", "")) or text[:80]
        if not link and not text:
            continue
        drafts.append(
            ArticleDraft(
                title=entry_title or link or "untitled",
                text=text,
                url=link,
                source=title,
                published=_entry_date(entry),
                external_id=entry.get("id") or None,
            )
        )
    return WebDocument("feed", title, tuple(drafts))


def read_web(url: str, content_type: str, charset: str | None, body: bytes) -> WebDocument:
    """Drafts from a fetched URL: a feed's items, a page's article or a document's articles."""
    if content_type in ("", BINARY) and body.startswith(b"%PDF-"):
        content_type = "application/pdf"
    elif content_type == BINARY:
        raise FetchError(
            _("{url} is a binary file, not a feed, web page, PDF or text file.", url=url)
        )
    if is_feed(content_type, body):
        return parse_feed(body, url, content_type)
    if content_type in DOCUMENT_SUFFIXES:
        suffix = DOCUMENT_SUFFIXES[content_type]
        name = url if url.lower().endswith(suffix) else url + suffix
        drafts, failures = parse_document(name, body, url)
        drafts = [d if d.url else replace(d, url=url) for d in drafts]
        title = drafts[0].title if drafts else url
        return WebDocument("file", title, tuple(drafts), tuple(failures))
    draft = parse_html(page_text(body, charset, url), url, url, precise=True)
    return WebDocument("page", draft.title, (draft,))
