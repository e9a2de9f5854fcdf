"""`newsbot sources add|list|remove|refresh`: feeds, pages and files from the shell."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from cli.wiring import archive_errors, opened_sources
from index.i18n import _, _n
from index.ingest.urls import is_web_url
from index.records import ImportReport, Source
from index.settings import Settings
from index.sources.sources import SourceResult

SHOWN_FAILURES = 10


def source_json(source: Source) -> str:
    """The source as one JSON object, times in ISO 8601."""
    return json.dumps(asdict(source), default=lambda value: value.isoformat())


def source_line(source: Source) -> str:
    """'#id kind  N articles  fetched …  url', then the title and last error."""
    fetched = source.last_fetch_at.isoformat() if source.last_fetch_at else _("never")
    lines = [
        _n(
            "#{id} {kind:<5} {n:>5} articles  {fetched}  {url}",
            "#{id} {kind:<5} {n:>5} articles  {fetched}  {url}",
            source.articles,
            id=source.id,
            kind=source.kind,
            fetched=fetched,
            url=source.url,
        )
    ]
    if source.title and source.title != source.url:
        lines.append(f"    {source.title}")
    if source.last_error:
        lines.append(_("    last error: {error}", error=source.last_error))
    return "\n".join(lines)


def echo_failures(report: ImportReport) -> None:
    """The first few per-item failures, on stderr."""
    for failure in report.failures[:SHOWN_FAILURES]:
        click.echo(_("failed: {where}: {why}", where=failure.where, why=failure.why), err=True)
    if len(report.failures) > SHOWN_FAILURES:
        more = len(report.failures) - SHOWN_FAILURES
        click.echo(_n("… and {n} more failures.", "… and {n} more failures.", more), err=True)


def echo_result(result: SourceResult) -> None:
    """What one add or refresh did."""
    echo_failures(result.report)
    click.echo(result.summary())


@click.group()
def sources() -> None:
    """Add, list, remove and refresh sources (RSS/Atom feeds, web pages, files)."""


@sources.command()
@click.argument("url")
@click.pass_obj
@archive_errors
def add(settings: Settings, url: str) -> None:
    """Add a feed, page or document URL (or a local file) and import what it holds."""
    path = Path(url)
    with opened_sources(settings) as book:
        if not is_web_url(url) and path.is_file():
            result = book.add_file(path.name, path.read_bytes())
        else:
            result = book.add(url)
    source = result.source
    click.echo(
        _("Added source #{id} ({kind}): {url}", id=source.id, kind=source.kind, url=source.url)
    )
    echo_result(result)


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the sources as JSON lines.")
@click.pass_obj
@archive_errors
def list_(settings: Settings, as_json: bool) -> None:
    """Every source: id, kind, articles, last fetch, URL and last error."""
    with opened_sources(settings) as book:
        found = book.list_sources()
    for source in found:
        click.echo(source_json(source) if as_json else source_line(source))
    if not found and not as_json:
        click.echo(_("No sources yet. Add one with `newsbot sources add URL`."))


@sources.command()
@click.argument("source_id", type=int)
@click.pass_obj
@archive_errors
def remove(settings: Settings, source_id: int) -> None:
    """Remove a source and its articles from the archive and the index."""
    with opened_sources(settings) as book:
        source = book.remove(source_id)
    click.echo(
        _n(
            "Removed source #{id} ({url}) and its {n} article(s).",
            "Removed source #{id} ({url}) and its {n} article(s).",
            source.articles,
            id=source.id,
            url=source.url,
        )
    )


@sources.command()
@click.argument("source_id", type=int, required=False)
@click.pass_obj
@archive_errors
def refresh(settings: Settings, source_id: int | None) -> None:
    """Fetch new items now: one source, or every feed."""
    with opened_sources(settings) as book:
        results = [book.refresh(source_id)] if source_id else book.refresh_all()
    for result in results:
        echo_result(result)
    if not results:
        click.echo(_("No feeds to refresh."))
    if any(result.error for result in results):
        sys.exit(1)
