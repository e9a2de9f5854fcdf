"""The `newsbot` command: ask, chat, import, index, bot."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import click
from pydantic import ValidationError
from tqdm import tqdm

from bot.logs import configure_logging
from cli.alerts import alerts, subscriptions
from cli.check import check_command
from cli.evaluate import evaluate
from cli.migrate import migrate
from cli.render import answer_json, answer_text
from cli.sources import sources
from cli.stories import timeline, trend
from cli.upgrade import upgrade_command
from cli.wiring import archive_errors, environment_language, to_stderr
from cli.written import use_llm, write
from index import Archive, Settings
from index.errors import ArchiveError
from index.i18n import _, _n, set_language
from index.search.followup import rewrite_followup
from index.settings import settings_problem
from index.written.write import Written


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """newsbot: answers questions about a news archive with cited snippets."""
    set_language(environment_language())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        settings = Settings()
    except ValidationError as error:
        raise click.ClickException(settings_problem(error)) from error
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    configure_logging(settings.log_level if settings.log_level != "INFO" else "WARNING", key)
    ctx.obj = settings


@main.command()
@click.argument("question", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option("-k", type=click.IntRange(1, 50), default=None, help="Passages to cite.")
@click.option(
    "--date",
    "asked_on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Ask as of this day (YYYY-MM-DD): later articles are left out, 'this week' is its week.",
)
@click.option(
    "--llm/--no-llm",
    default=None,
    help="A written answer from the model at LLM_BASE_URL (default: when it is set).",
)
@click.pass_obj
@archive_errors
def ask(
    settings: Settings,
    question: tuple[str, ...],
    as_json: bool,
    k: int | None,
    asked_on: datetime | None,
    llm: bool | None,
) -> None:
    """Answer QUESTION from the archive, with numbered citations."""
    use_model = use_llm(settings, llm)
    now = asked_on.date() if asked_on else None
    with Archive.open(settings, announce=to_stderr) as archive:
        answer = archive.ask(" ".join(question), k=k, now=now)
        result = write(settings, archive, answer) if use_model else Written(answer, "extractive")
    if result.reason and not as_json:
        click.echo(_("(written answer not used: {reason})", reason=result.reason), err=True)
    click.echo(answer_json(result.answer, result) if as_json else answer_text(result.answer))


@main.command()
@click.pass_obj
@archive_errors
def chat(settings: Settings) -> None:
    """A conversation in the terminal; an empty line or Ctrl-D ends it."""
    with Archive.open(settings, announce=to_stderr) as archive:
        converse(archive)


def converse(archive: Archive) -> None:
    """Questions from the terminal until an empty line or Ctrl-D; follow-ups read in context."""
    click.echo(_("Ask about the news archive. An empty line or Ctrl-D ends the chat."))
    previous: str | None = None
    while True:
        try:
            question = input("\n? ")
        except (EOFError, KeyboardInterrupt):
            break
        if not question.strip():
            break
        # A follow-up ("and France?") is read with the question before it.
        standalone = rewrite_followup(previous, question)
        if standalone != " ".join(question.split()):
            click.echo(_("(taking it as: {question})", question=standalone))
        try:
            click.echo(answer_text(archive.ask(standalone)))
            previous = standalone
        except ArchiveError as error:
            click.echo(str(error))


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_obj
@archive_errors
def import_(settings: Settings, paths: tuple[Path, ...]) -> None:
    """Import articles from files and folders (.txt, .md, .html, .json, .jsonl)."""
    with (
        Archive.open(settings) as archive,
        tqdm(desc=_("Importing"), unit=_(" articles"), disable=None, file=sys.stderr) as bar,
    ):
        report = archive.import_paths(paths, progress=bar.update)
    for failure in report.failures:
        click.echo(_("failed: {where}: {why}", where=failure.where, why=failure.why), err=True)
    if report.added == 0 and report.duplicates:
        click.echo(
            _n(
                "Nothing new: {n} article(s) already in the archive.",
                "Nothing new: {n} article(s) already in the archive.",
                report.duplicates,
            )
        )
    else:
        click.echo(_("Imported: {summary}", summary=report.summary()))
    if report.failures and not report.added and not report.duplicates:
        sys.exit(1)


@main.group()
def index() -> None:
    """Rebuild or inspect the vector index."""


index.add_command(check_command)
index.add_command(upgrade_command)


@index.command()
@click.pass_obj
@archive_errors
def rebuild(settings: Settings) -> None:
    """Re-embed every passage into a new index and swap it in when whole."""
    with Archive.open(settings, check_model=False) as archive:
        total = archive.counts().chunks
        with tqdm(total=total, desc=_("Re-embedding"), unit=_(" passages"), file=sys.stderr) as bar:
            count = archive.rebuild(progress=bar.update)
    click.echo(
        _n(
            "Rebuilt the index: {n} passages with {model}.",
            "Rebuilt the index: {n} passages with {model}.",
            count,
            model=archive.embedder.name,
        )
    )


@index.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_obj
@archive_errors
def stats(settings: Settings, as_json: bool) -> None:
    """Articles, passages, model, dimension, index type and bytes on disk."""
    with Archive(settings, check_model=False) as archive:
        figures = asdict(archive.stats())
    if as_json:
        click.echo(json.dumps(figures))
    else:
        for key, value in figures.items():
            click.echo(f"{key:>14}: {value}")


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.pass_obj
@archive_errors
def backup(settings: Settings, folder: Path) -> None:
    """Copy the archive, vectors included, into FOLDER while the bot may run (see README)."""
    archive = Archive(settings, check_model=False)
    try:
        target = archive.backup(folder)
        counts = archive.counts()
    finally:
        archive.close()
    passages = _n("{n} passages", "{n} passages", counts.chunks)
    click.echo(
        _n(
            "Backed up {n} articles and {passages} with their vectors: {target}",
            "Backed up {n} articles and {passages} with their vectors: {target}",
            counts.articles,
            passages=passages,
            target=target,
        )
    )


@main.command()
def bot() -> None:
    """Run the Telegram bot (needs TELEGRAM_BOT_TOKEN)."""
    from bot.app import main as run_bot

    sys.exit(run_bot())


main.add_command(sources)
main.add_command(migrate)
main.add_command(subscriptions)
main.add_command(alerts)
main.add_command(evaluate)
main.add_command(timeline)
main.add_command(trend)
