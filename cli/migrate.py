"""`newsbot migrate --to`: the archive copied to PostgreSQL or back to a folder."""

from __future__ import annotations

import click

from cli.wiring import archive_errors, to_stderr
from index import Archive, Settings
from index.i18n import _


@click.command("migrate")
@click.option(
    "--to",
    "target",
    required=True,
    help="postgresql://… (an empty database) or a folder for an SQLite archive.",
)
@click.pass_obj
@archive_errors
def migrate(settings: Settings, target: str) -> None:
    """Copy the archive with its vectors (nothing re-embedded) to another engine."""
    archive = Archive(settings, check_model=False)
    try:
        counts = archive.copy_to(
            target, lambda table, n: to_stderr(_("{table}: {n} rows", table=table, n=n))
        )
    finally:
        archive.close()
    setting = "NEWSBOT_DATABASE_URL" if "://" in target else "NEWSBOT_DATA_DIR"
    click.echo(
        _(
            "Copied {articles} articles and {chunks} passages with their vectors. "
            "Point {setting} at the copy to use it.",
            articles=counts.articles,
            chunks=counts.chunks,
            setting=setting,
        )
    )
