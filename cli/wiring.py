"""What every command shares: known errors as a one-line message, notes on stderr, sources."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import click

from index import Archive, Settings
from index.errors import ArchiveError
from index.sources.fetch import Fetcher
from index.sources.sources import Sources

P = ParamSpec("P")
T = TypeVar("T")


def environment_language() -> str | None:
    """The language the environment asks for, in gettext's order (LANGUAGE first, LANG last)."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "").split(":")[0]
        if value:
            return value
    return None


def archive_errors(command: Callable[P, T]) -> Callable[P, T]:
    """Known archive errors become a one-line message and exit status 1 (put under @command)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except ArchiveError as error:
            raise click.ClickException(str(error)) from error

    return run


def to_stderr(message: str) -> None:
    """Tell the user something on stderr, away from the answer on stdout."""
    click.echo(message, err=True)


@contextmanager
def opened_sources(settings: Settings) -> Iterator[Sources]:
    """The archive's sources with a fetcher, both closed at the end."""
    with Archive.open(settings) as archive:
        fetcher = Fetcher(settings)
        try:
            yield Sources(archive, fetcher)
        finally:
            fetcher.close()
