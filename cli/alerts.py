"""`newsbot subscriptions list` and `newsbot alerts --dry-run`: alerts for operators."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict

import click

from cli.wiring import archive_errors
from index import Archive, Settings
from index.alerts.alerts import Alerts
from index.alerts.matching import Delivery
from index.i18n import _, _n


@contextmanager
def opened(settings: Settings) -> Iterator[Alerts]:
    """The archive's alerts, closed at the end."""
    with Archive.open(settings) as archive:
        alerts = Alerts(archive)
        try:
            yield alerts
        finally:
            alerts.close()


def delivery_json(delivery: Delivery) -> dict[str, object]:
    """A chat's alerts as JSON-ready data."""
    return {
        "chat_id": delivery.chat_id,
        "stories": [
            {
                "title": alert.article.title,
                "url": alert.article.url,
                "source": alert.article.source,
                "published": alert.article.published.isoformat()
                if alert.article.published
                else None,
                "sentence": alert.sentence,
                "topics": [{"id": number, "topic": topic} for number, topic in alert.topics],
                "score": round(alert.score, 4),
            }
            for alert in delivery.alerts
        ],
    }


@click.group()
def subscriptions() -> None:
    """Topic alerts that chats have subscribed to."""


@subscriptions.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON.")
@click.pass_obj
@archive_errors
def list_subscriptions(settings: Settings, as_json: bool) -> None:
    """Every chat's topics with their ids, owners and state."""
    with opened(settings) as alerts:
        found = alerts.every()
    if as_json:
        click.echo(json.dumps([asdict(s) for s in found]))
        return
    if not found:
        click.echo(_("No subscriptions yet."))
    for item in found:
        state = _("  (paused)") if item.paused else ""
        click.echo(
            _(
                "#{id} chat {chat} user {user}  {topic}{state}",
                id=item.id,
                chat=item.chat_id,
                user=item.user_id,
                topic=item.topic,
                state=state,
            )
        )


@click.command()
@click.option("--dry-run", is_flag=True, help="Print what the next refresh would send.")
@click.option("--json", "as_json", is_flag=True, help="Print it as JSON.")
@click.pass_obj
@archive_errors
def alerts(settings: Settings, dry_run: bool, as_json: bool) -> None:
    """What the passages added since the last alert pass would send; the bot does the sending."""
    if not dry_run:
        raise click.UsageError(
            _("The bot sends alerts after each refresh; use --dry-run to preview.")
        )
    with opened(settings) as opened_alerts:
        deliveries = opened_alerts.pending(commit=False)
    if as_json:
        click.echo(json.dumps([delivery_json(d) for d in deliveries]))
        return
    if not deliveries:
        click.echo(_("Nothing to send: no new story matches a topic."))
    for delivery in deliveries:
        click.echo(
            _n(
                "chat {chat}: {n} story(ies)",
                "chat {chat}: {n} story(ies)",
                len(delivery.alerts),
                chat=delivery.chat_id,
            )
        )
        for alert in delivery.alerts:
            topics = ", ".join(f"#{number} {topic}" for number, topic in alert.topics)
            click.echo(f"  [{topics}] {alert.article.title}  {alert.article.url or ''}")
            click.echo(f"      {alert.sentence}")
