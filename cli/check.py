"""`newsbot index check`: do SQLite, its vectors, the keyword index and FAISS agree?"""

from __future__ import annotations

import json
import sys

import click

from cli.wiring import archive_errors
from index.archive import Archive
from index.check import CheckReport, check, repair
from index.i18n import _, _n
from index.settings import Settings


def report_json(report: CheckReport, repaired: tuple[str, ...] | None) -> str:
    """The report as one JSON object; `repaired` lists what --repair fixed."""
    payload: dict[str, object] = {
        "ok": report.ok,
        "articles": report.articles,
        "chunks": report.chunks,
        "vectors": report.vectors,
        "waiting": report.waiting,
        "problems": list(report.problems),
        "notes": list(report.notes),
    }
    if repaired is not None:
        payload["repaired"] = list(repaired)
    return json.dumps(payload)


def report_text(report: CheckReport, repaired: tuple[str, ...] | None) -> str:
    """The report for people."""
    lines = [_("Repaired: {problem}", problem=problem) for problem in repaired or ()]
    lines += [_("Note: {note}", note=note) for note in report.notes]
    sizes = ", ".join(
        [
            _n("{n} articles", "{n} articles", report.articles),
            _n("{n} passages", "{n} passages", report.chunks),
            _n("{n} vectors", "{n} vectors", report.vectors),
        ]
    )
    if report.ok:
        return "\n".join([*lines, _("OK: {sizes}; nothing is lost or damaged.", sizes=sizes)])
    lines += [_("Problem: {problem}", problem=problem) for problem in report.problems]
    if repaired is None:
        lines.append(_("Run `newsbot index check --repair` to rebuild the indexes from SQLite."))
    return "\n".join([*lines, _("NOT OK: {sizes}.", sizes=sizes)])


@click.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--repair",
    "fix",
    is_flag=True,
    help="Rebuild the keyword and vector indexes from SQLite (no model).",
)
@click.pass_obj
@archive_errors
def check_command(settings: Settings, as_json: bool, fix: bool) -> None:
    """Check that passages, keyword index and vectors agree; exit status 1 if not."""
    repaired: tuple[str, ...] | None = None
    with Archive(settings, check_model=False) as archive:
        report = check(archive)
        if fix:
            before = report
            report = repair(archive)
            repaired = tuple(p for p in before.problems if p not in report.problems)
    click.echo(report_json(report, repaired) if as_json else report_text(report, repaired))
    if not report.ok:
        sys.exit(1)
