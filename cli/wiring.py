"""What every command shares: opening the archive, and known errors as a one-line message."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import click

from index.archive import Archive
from index.errors import ArchiveError
from index.settings import Settings
from index.sources.fetch import Fetcher
from index.sources.sources import Sources

P = ParamSpec("P")
T = TypeVar("T")


def archive_errors(command: Callable[P, T]) -> Callable[P, T]:
    """Known archive errors become a one-line message and exit status 1 (put under @command)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except ArchiveError as error:
            raise click.ClickException(str(error)) from error

    return run


def open_archive(settings: Settings, *, check_model: bool = True, quiet: bool = False) -> Archive:
    """Open the archive, import the bundled seeds into an empty one, and catch up vectors."""
    archive = Archive(settings, check_model=check_model)
    if archive.needs_seeds():
        if not quiet:
            click.echo(
                f"Empty archive: importing the sample articles in {settings.seeds_dir} …", err=True
            )
        report = archive.seed()
        if report and not quiet:
            click.echo(f"Seeds: {report.summary()}", err=True)
    if check_model:
        archive.sync()
    return archive


@contextmanager
def opened_sources(settings: Settings) -> Iterator[Sources]:
    """The archive's sources with a fetcher, both closed at the end."""
    archive = open_archive(settings, quiet=True)
    fetcher = Fetcher(settings)
    try:
        yield Sources(archive, fetcher)
    finally:
        fetcher.close()
        archive.close()
