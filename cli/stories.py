"""`newsbot timeline TOPIC [--json]` and `newsbot trend TOPIC --out chart.png`."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from cli.render import citation_line, citations_json
from cli.wiring import archive_errors, to_stderr
from index import Archive, Settings
from index.i18n import _, _n
from index.stories.timeline import Timeline
from index.stories.trend import DEFAULT_PERIOD


def timeline_json(timeline: Timeline) -> str:
    """{"topic", "stories", "events": [{"date", "text", "n"}], "citations": [...]} as JSON."""
    citations = citations_json(timeline.citations)
    events = [{"date": e.day.isoformat(), "text": e.text, "n": e.n} for e in timeline.events]
    body = {"topic": timeline.topic, "stories": timeline.stories, "events": events}
    return json.dumps({**body, "citations": citations}, ensure_ascii=False, indent=2)


def timeline_text(timeline: Timeline) -> str:
    """Dated lines, oldest first, then the numbered sources; or why there are none."""
    if not timeline.events:
        return _("The archive has no dated events on “{topic}”.", topic=timeline.topic)
    lines = []
    if timeline.stories < 2 or len(timeline.events) < 2:
        lines.append(_("Only one story so far on “{topic}”:", topic=timeline.topic))
    lines += [f"{e.day.isoformat()}  {e.text} [{e.n}]" for e in timeline.events]
    return "\n".join([*lines, "", *(citation_line(c) for c in timeline.citations)])


@click.command()
@click.argument("topic", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
@click.pass_obj
@archive_errors
def timeline(settings: Settings, topic: tuple[str, ...], as_json: bool) -> None:
    """How TOPIC unfolded: one dated line per event, oldest first, with sources."""
    with Archive.open(settings, announce=to_stderr) as archive:
        found = archive.timeline(" ".join(topic))
    click.echo(timeline_json(found) if as_json else timeline_text(found))


@click.command()
@click.argument("topic", nargs=-1, required=True)
@click.option("--period", default=DEFAULT_PERIOD, show_default=True, help="30d, 90d, 1y or all.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PNG to write."
)
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The period's last day, YYYY-MM-DD (default: today), for an archive of past news.",
)
@click.pass_obj
@archive_errors
def trend(
    settings: Settings, topic: tuple[str, ...], period: str, out: Path, until: datetime | None
) -> None:
    """A chart of TOPIC's articles per day, week or month over the period, as a PNG."""
    with Archive.open(settings, announce=to_stderr) as archive:
        found = archive.trend(" ".join(topic), period, now=until.date() if until else None)
        if found.total < 2:
            raise click.ClickException(
                _("Only one story so far on “{topic}”.", topic=found.topic)
                if found.total == 1
                else _("Nothing on “{topic}” in that period.", topic=found.topic)
            )
        out.write_bytes(archive.chart(found))
    click.echo(
        _n(
            "{n} article on “{topic}”; chart written to {path}.",
            "{n} articles on “{topic}”; chart written to {path}.",
            found.total,
            topic=found.topic,
            path=out,
        )
    )
