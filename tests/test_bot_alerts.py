"""Alerts and digests through the real bot, the fake Bot API server and the test web."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from web_server import FERRY, HONEY, TELESCOPES, Story, WebServer, web_settings

from bot.app import build_application
from index.alerts.alerts import Alerts
from index.archive import Archive
from index.embed.sbert import Embedder
from index.settings import Settings
from testkit.running import RunningBot
from testkit.telegram import FakeTelegram, Sent

ADMIN = 4242
users = itertools.count(6000)
GROUP = -100500
BEES = Story(
    "urban-bees",
    "City beekeepers put hives on office roofs",
    (
        "Beekeepers in the city centre now keep more than two hundred hives on the flat roofs "
        "of office blocks, and the honey is sold in the lobbies below. The bees feed on lime "
        "trees in the parks and on balcony flowers.",
    ),
)
FERRIES = Story(
    "ferry-two",
    "Electric ferry completes its first winter crossing",
    (
        "The battery-powered ferry on the island route finished its first winter without a "
        "single cancelled crossing, charging at each quay in under ten minutes.",
    ),
)
MARKET = Story(
    "market",
    "Harbour market reopens after the storm",
    (
        "The fish market on the harbour front reopened on Saturday, three weeks after the "
        "autumn storm flooded its hall. Traders said the new floor drains had been tested with "
        "fire hoses and that the cold stores were running again.",
    ),
)

GLACIER = Story(
    "glacier",
    "Alpine glacier lost a record share of its ice this summer",
    (
        "Glaciologists measuring the Alpine glacier above the valley said it lost a record "
        "share of its ice this summer, as the melt season began early and ended late.",
    ),
)


@dataclass
class Desk:
    """The fake Telegram, the test web, the archive and the bot's alerts."""

    fake: FakeTelegram
    web: WebServer
    archive: Archive
    alerts: Alerts

    def say(self, text: str, user_id: int, chat_id: int | None = None) -> Sent:
        """A user writes; the bot's reply."""
        return self.fake.replies(self.fake.send(text, user_id, chat_id))[-1]

    def refresh(self) -> str:
        """The admin refreshes every feed; once the alerts pass is over, the reply."""
        answer = self.say("/refresh", ADMIN).text
        store = self.alerts.subscriptions
        deadline = time.monotonic() + 60
        while store.upto() != store.last_chunk():
            assert time.monotonic() < deadline, "the alerts pass did not run"
            time.sleep(0.1)
        time.sleep(0.5)  # the pass has claimed its alerts; let the sends go out
        return answer

    def alerts_to(self, chat_id: int) -> list[Sent]:
        """The alert messages a chat got."""
        return [s for s in self.fake.in_chat(chat_id) if s.text.startswith("🔔")]


def alert_settings(fake: FakeTelegram, tmp: Path) -> Settings:
    """The fake server, the test web allowed, one admin, digests checked every half second."""
    return web_settings(
        tmp,
        telegram_bot_token=fake.token,
        telegram_api_url=fake.api_url,
        telegram_file_url=fake.file_url,
        admin_ids=frozenset({ADMIN}),
        digest_check_seconds=0.5,
    )


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Desk]:
    """One bot with the live feed as a source."""
    with FakeTelegram() as fake, WebServer() as web:
        settings = alert_settings(fake, tmp_path_factory.mktemp("alerts"))
        archive = Archive(settings, embedder=embedder)
        application = build_application(settings, archive)
        with RunningBot(application):
            desk = Desk(fake, web, archive, application.bot_data.alerts)
            added = desk.say("/addsource " + web.url("/live.xml"), ADMIN).text
            assert "1 article(s) added" in added
            yield desk
        archive.close()


def test_help_lists_the_alert_commands(desk: Desk) -> None:
    shown = desk.say("/help", next(users)).text

    assert "/subscribe — Alert this chat to new stories on a topic" in shown
    assert "/digest — A daily digest at a time" in shown


def test_a_matching_story_alerts_its_subscriber_once(desk: Desk) -> None:
    reader, other = next(users), next(users)
    subscribed = desk.say("/subscribe beekeeping and honey harvests", reader).text
    number = int(subscribed.split("#", 1)[1].split(" ", 1)[0])
    desk.say("/subscribe football transfers", other)
    desk.web.publish(HONEY)
    desk.web.publish(TELESCOPES)

    refreshed = desk.refresh()
    desk.fake.wait(lambda: bool(desk.alerts_to(reader)))  # the alert goes out after the reply
    first = desk.alerts_to(reader)
    desk.refresh()
    again = desk.alerts_to(reader)
    removed = desk.say(f"/unsubscribe {number}", reader).text
    desk.web.publish(BEES)
    desk.refresh()

    assert "Live desk: 2 article(s) added" in refreshed
    assert "Nothing in the archive matches it yet" in subscribed
    assert len(first) == 1
    assert f'<a href="{desk.web.url("/live/honey")}">{HONEY.title}</a>' in first[0].html
    assert "biggest heather honey harvest" in first[0].text
    assert f"Topic: #{number} beekeeping and honey harvests" in first[0].text
    assert first[0].buttons == [("🔕 beekeeping and honey…", f"alert:del:{number}")]
    assert again == first  # a second refresh sends nothing
    assert removed == f"Removed topic #{number}; no more alerts for it."
    assert desk.alerts_to(reader) == first  # nothing after /unsubscribe
    assert desk.alerts_to(other) == []
    assert not any(TELESCOPES.title in s.text for s in desk.fake.sent if "🔔" in s.text)


def test_a_chat_that_blocked_the_bot_is_paused_not_retried(desk: Desk) -> None:
    reader = next(users)
    desk.say("/subscribe electric ferries", reader)
    desk.fake.blocked.add(reader)
    desk.web.publish(FERRY)

    desk.refresh()
    tries = [c for c in desk.fake.calls if c[0] == "sendMessage" and c[1]["chat_id"] == reader]
    desk.web.publish(FERRIES)
    desk.refresh()
    later = [c for c in desk.fake.calls if c[0] == "sendMessage" and c[1]["chat_id"] == reader]
    desk.fake.blocked.discard(reader)
    listed = desk.say("/subscriptions", reader).text

    assert len(tries) == 2  # the /subscribe reply, then the one refused alert
    assert later == tries
    assert "electric ferries (paused: the bot was blocked)" in listed


def test_only_group_admins_change_a_groups_topics(desk: Desk) -> None:
    boss, member = next(users), next(users)
    desk.fake.group_admins[GROUP] = {boss}

    refused = desk.say("/subscribe rail strikes", member, GROUP).text
    added = desk.say("/subscribe rail strikes", boss, GROUP).text
    listed = desk.fake.replies(desk.fake.send("/subscriptions", member, GROUP))[-1]
    number = added.split("#", 1)[1].split(" ", 1)[0]
    desk.fake.press(listed, f"alert:del:{number}", member)
    desk.fake.wait(lambda: any("administrators" in str(a) for a in desk.fake.callback_answers))

    assert refused == "Only this group's administrators can change its topics and digest."
    assert added.startswith("Subscribed: #")
    assert f"#{number} rail strikes" in listed.text
    assert listed.buttons == [(f"🗑 #{number} rail strikes", f"alert:del:{number}")]
    assert [s.topic for s in desk.alerts.topics(GROUP)] == ["rail strikes"]


def test_bad_input_gets_a_one_line_usage(desk: Desk) -> None:
    user = next(users)
    usage = "Send it like this: /subscribe electric ferries (a topic of 1 to 200 characters)."

    assert desk.say("/subscribe", user).text == usage
    assert desk.say("/subscribe " + "x" * 201, user).text.startswith("A topic is at most 200")
    assert desk.say("/unsubscribe 999", user).text.startswith("There is no topic #999")
    assert desk.say("/unsubscribe soon", user).text.startswith("Send it like this: /unsub")
    assert desk.say("/digest 25:99", user).text.startswith("Send it like this: /digest 07:30")
    for n in range(20):
        assert desk.say(f"/subscribe topic number {n}", user).text.startswith("Subscribed")
    assert desk.say("/subscribe one too many", user).text.startswith("You have 20 topics")
    assert desk.say("/unsubscribe all", user).text == "Removed all 20 topics of this chat."


def test_a_digest_a_minute_ahead_arrives_once(desk: Desk) -> None:
    reader = next(users)
    if datetime.now(UTC).second >= 45:  # leave time to import before the minute turns
        time.sleep(61 - datetime.now(UTC).second)
    due = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%H:%M")

    set_reply = desk.say(f"/digest {due}", reader).text
    desk.web.publish(MARKET)
    desk.refresh()
    desk.fake.wait(lambda: any(s.text.startswith("📰") for s in desk.fake.in_chat(reader)), 90)
    time.sleep(2)
    digests = [s for s in desk.fake.in_chat(reader) if s.text.startswith("📰")]

    assert set_reply.startswith(f"Daily digest at {due} (UTC)")
    assert len(digests) == 1
    assert "top stories in the archive" in digests[0].text
    assert MARKET.title in digests[0].text


def test_a_restart_keeps_the_topics_and_sends_nothing_twice(
    tmp_path: Path, embedder: Embedder
) -> None:
    reader = next(users)
    with FakeTelegram() as fake, WebServer() as web:
        settings = alert_settings(fake, tmp_path)
        archive = Archive(settings, embedder=embedder)
        for run in range(2):
            application = build_application(settings, archive)
            with RunningBot(application):
                desk = Desk(fake, web, archive, application.bot_data.alerts)
                if run == 0:
                    desk.say("/addsource " + web.url("/live.xml"), ADMIN)
                    desk.say("/subscribe beekeeping", reader)
                    web.publish(HONEY)
                desk.refresh()
                listed = desk.say("/subscriptions", reader).text
        archive.close()

    assert "beekeeping" in listed
    assert len(desk.alerts_to(reader)) == 1


def test_an_alert_telegram_fails_to_take_is_retried_and_arrives_once(desk: Desk) -> None:
    reader = next(users)
    desk.say("/subscribe glacier melt in the Alps", reader)
    desk.fake.fail_next("sendMessage", reader, 502, "Bad Gateway")
    desk.fake.fail_next("sendMessage", reader, answer="drop")
    desk.web.publish(GLACIER)

    desk.refresh()
    desk.fake.wait(lambda: bool(desk.alerts_to(reader)))
    time.sleep(0.5)  # a second copy would follow within moments

    (alert,) = desk.alerts_to(reader)
    assert GLACIER.title in alert.text
