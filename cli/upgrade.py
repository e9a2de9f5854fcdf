"""`newsbot index upgrade`: add what the configured model and analyzer need, keep the rest."""

from __future__ import annotations

import sys

import click
from tqdm import tqdm

from cli.wiring import archive_errors
from index.archive import Archive
from index.i18n import _, _n
from index.settings import Settings
from index.upgrade import model_is_stale, upgrade, upgrade_settings


@click.command("upgrade")
@click.pass_obj
@archive_errors
def upgrade_command(settings: Settings) -> None:
    """Re-embed only for a new model (unset: the default); rebuild a changed keyword index."""
    with Archive.open(upgrade_settings(settings), check_model=False) as archive:
        total = archive.counts().chunks if model_is_stale(archive) else 0
        with tqdm(total=total, desc="Re-embedding", unit=" passages", file=sys.stderr) as bar:
            done = upgrade(archive, progress=bar.update)
        name = archive.embedder.name
    if done.re_embedded:
        n = done.re_embedded
        click.echo(
            _n(
                "Re-embedded {n} passage with {model}.",
                "Re-embedded {n} passages with {model}.",
                n,
                model=name,
            )
        )
    else:
        click.echo(_("The passages' vectors are {model}'s already: kept.", model=name))
    if done.keywords_built:
        click.echo(_("Built the keyword index from the stored passages."))
    for folder in done.removed:
        click.echo(_("Removed the old keyword index {folder}.", folder=folder))
