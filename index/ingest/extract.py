"""Reads documents (text, Markdown, HTML, JSON, JSON Lines, PDF) into article drafts; no I/O."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import PurePath

import pypdf
import trafilatura
from pypdf.errors import PyPdfError

from index.errors import ImportFailed
from index.i18n import _
from index.records import ArticleDraft, Failure

SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl", ".pdf"})
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)


def parse_date(value: object) -> date | None:
    """A date from ISO 8601 or RFC 822 text, or None when there is none."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError):
        return None


def decode(data: bytes, name: str) -> str:
    """Text from bytes: UTF-8 (with or without BOM), else Latin-1; binary is refused."""
    if b"\x00" in data[:8192]:
        raise ImportFailed(_("{name} looks like a binary file, not text.", name=name))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def parse_text(text: str, name: str) -> ArticleDraft:
    """Plain text: a short first line followed by a blank line is the title."""
    text = _clean(text)
    first, _gap, rest = text.partition("\n\n")
    if rest and len(first) <= 300 and "\n" not in first:
        return ArticleDraft(title=first.strip(), text=rest.strip())
    return ArticleDraft(title=PurePath(name).stem, text=text)


def parse_markdown(text: str, name: str) -> ArticleDraft:
    """Markdown with optional front matter (title, url, source, published, id)."""
    text = _clean(text)
    meta: dict[str, str] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        for line in match.group(1).splitlines():
            key, sep, value = line.partition(":")
            if sep:
                meta[key.strip().lower()] = value.strip().strip("\"'")
        text = text[match.end() :].strip()
    if meta.get("title"):
        title = meta["title"]
    elif text.startswith("# "):
        heading, _newline, text = text.partition("\n")
        title, text = heading[2:].strip(), text.strip()
    else:
        plain = parse_text(text, name)
        title, text = plain.title, plain.text
    return ArticleDraft(
        title=title,
        text=text,
        url=meta.get("url") or None,
        source=meta.get("source") or None,
        published=parse_date(meta.get("published") or meta.get("date")),
        external_id=meta.get("id") or None,
    )


def parse_html(
    html: str, name: str, url: str | None = None, *, precise: bool = False
) -> ArticleDraft:
    """The main text, title, date and site of a web page, without navigation or footers."""
    # precise: for pages from the web, where a page of links must not pass for an article.
    document = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        favor_precision=precise,
    )
    text = getattr(document, "text", None) if document is not None else None
    if not text or len(text.strip()) < 40:
        raise ImportFailed(_("{name}: no article text found on the page.", name=name))
    title = (getattr(document, "title", None) or PurePath(name).stem).strip()
    body = _clean(text)
    if body.startswith(title):
        body = body[len(title) :].strip()
    return ArticleDraft(
        title=title,
        text=body,
        url=url,
        source=getattr(document, "sitename", None) or None,
        published=parse_date(getattr(document, "date", None)),
    )


def parse_pdf(data: bytes, name: str) -> ArticleDraft:
    """A PDF's text layer; the title from its metadata, else the first short line."""
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        text = _clean("\n\n".join(page.extract_text() or "" for page in reader.pages))
        title = str((reader.metadata.title if reader.metadata else None) or "").strip()
    except (PyPdfError, ValueError, KeyError, TypeError) as error:
        raise ImportFailed(
            _("{name}: not a readable PDF ({error}).", name=name, error=error)
        ) from error
    if not text:
        raise ImportFailed(
            _("{name}: the PDF has no text layer (a scan?); nothing to import.", name=name)
        )
    if title:
        return ArticleDraft(title=title, text=text)
    return parse_text(text, name)


def parse_record(record: object) -> ArticleDraft:
    """One JSON object with url, title, text, published, source and optional id."""
    if not isinstance(record, dict):
        raise ImportFailed(_("not a JSON object"))
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ImportFailed(_("missing 'text'"))
    title = record.get("title")
    url = record.get("url")
    return ArticleDraft(
        title=title.strip() if isinstance(title, str) and title.strip() else text.strip()[:80],
        text=_clean(text),
        url=url.strip() if isinstance(url, str) and url.strip() else None,
        source=str(record["source"]) if record.get("source") else None,
        published=parse_date(record.get("published")),
        external_id=str(record["id"]) if record.get("id") is not None else None,
    )


def parse_records(lines: Iterable[str], name: str) -> tuple[list[ArticleDraft], list[Failure]]:
    """JSON Lines: every good line becomes a draft; a bad one is reported by its line number."""
    drafts: list[ArticleDraft] = []
    failures: list[Failure] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            drafts.append(parse_record(json.loads(line)))
        except json.JSONDecodeError as error:
            failures.append(
                Failure(f"{name}:{number}", _("not valid JSON ({reason})", reason=error.msg))
            )
        except (RecursionError, ValueError):
            # Nested thousands deep, or a number of thousands of digits: hostile, not news.
            failures.append(
                Failure(f"{name}:{number}", _("not valid JSON (nested too deep or too long)"))
            )
        except ImportFailed as error:
            failures.append(Failure(f"{name}:{number}", str(error)))
    return drafts, failures


def parse_document(
    name: str, data: bytes, url: str | None = None
) -> tuple[list[ArticleDraft], list[Failure]]:
    """Drafts and per-record failures from a document, by its file name's suffix."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ImportFailed(
            _(
                "{name}: unsupported file type; use {suffixes}.",
                name=PurePath(name).name,
                suffixes=", ".join(sorted(SUFFIXES)),
            )
        )
    if suffix == ".pdf":
        return [parse_pdf(data, name)], []
    text = decode(data, name)
    if suffix == ".jsonl":
        return parse_records(text.splitlines(), name)
    if suffix == ".json":
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as error:
            raise ImportFailed(
                _(
                    "{name}: not valid JSON ({reason}, line {line}).",
                    name=name,
                    reason=error.msg,
                    line=error.lineno,
                )
            ) from error
        except (RecursionError, ValueError) as error:
            raise ImportFailed(
                _("{name}: not valid JSON (nested too deep or too long).", name=name)
            ) from error
        items = loaded if isinstance(loaded, list) else [loaded]
        return parse_records((json.dumps(item) for item in items), name)
    if suffix in (".html", ".htm"):
        drafts = [parse_html(text, name, url)]
    elif suffix in (".md", ".markdown"):
        drafts = [parse_markdown(text, name)]
    else:
        drafts = [parse_text(text, name)]
    if not drafts[0].text.strip():
        raise ImportFailed(_("{name} is empty.", name=name))
    return drafts, []
