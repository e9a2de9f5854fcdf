"""Timelines, coverage charts and inline answers through the real bot and the fake Bot API."""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from PIL import Image

from bot.app import build_application
from index.archive import Archive
from index.embed.sbert import Embedder
from index.records import ArticleDraft
from index.settings import Settings
from index.stories.chart import DPI, HEIGHT, WIDTH
from testkit.running import RunningBot
from testkit.telegram import FakeTelegram, Sent

users = itertools.count(7000)
TOPIC = "Kestwick harbour bridge"


def bridge(day: date, slug: str, title: str, text: str) -> ArticleDraft:
    """One report of the bridge story."""
    url = f"https://kestwick.example/news/{slug}"
    return ArticleDraft(title, text, url=url, source="Kestwick Courier", published=day)


# Five reports, each telling one event; the dates their sentences name are the events' days.
STORY = (
    bridge(
        date(2025, 3, 4),
        "council-approves-bridge",
        "Council approves the Kestwick harbour bridge",
        "The Kestwick town council voted on Monday to build a harbour bridge across the inner "
        "basin, approving a budget of forty million pounds. Residents had asked for a crossing "
        "for twenty years.",
    ),
    bridge(
        date(2025, 3, 18),
        "first-piles",
        "Work starts on the harbour bridge",
        "Construction crews drove the first steel piles of the Kestwick harbour bridge into the "
        "seabed on March 17. The contractor said the foundations would take a month.",
    ),
    bridge(
        date(2025, 4, 2),
        "storm-damage",
        "Storm floods the harbour bridge site",
        "A spring storm flooded the Kestwick harbour bridge site on Tuesday and swept two cranes "
        "off their barges into the basin. Nobody was hurt, the harbour master said.",
    ),
    bridge(
        date(2025, 4, 23),
        "deck-lifted",
        "Harbour bridge deck lifted into place",
        "Engineers lifted the central steel deck of the Kestwick harbour bridge onto its piers "
        "on April 22, watched by hundreds of people on the quay.",
    ),
    bridge(
        date(2025, 5, 12),
        "bridge-opens",
        "Kestwick harbour bridge opens to traffic",
        "The Kestwick harbour bridge opened to cars and cyclists on Saturday after the mayor cut "
        "a ribbon at the northern end. Work began in March after the council approved the plan.",
    ),
)
EXPECTED_DAYS = ["2025-03-03", "2025-03-17", "2025-04-01", "2025-04-22", "2025-05-10"]
# A syndicated copy of the storm report, published a day later elsewhere: one event still.
COPY = ArticleDraft(
    "Storm floods the harbour bridge site (agency copy)",
    "KESTWICK (Wire) - " + STORY[2].text + " Distributed by Wire.",
    url="https://wire.example/storm-kestwick",
    source="Wire",
    published=date(2025, 4, 3),
)
LONE = bridge(
    date(2025, 6, 2),
    "lighthouse-keeper",
    "Zennor lighthouse keeper retires after forty years",
    "Margaret Trewin, the last keeper of the Zennor lighthouse, retired on Friday after forty "
    "years of tending its lamp through winter gales.",
)


@dataclass
class Desk:
    """The fake server, the archive and the running bot."""

    fake: FakeTelegram
    archive: Archive

    def say(self, text: str, count: int = 1) -> list[Sent]:
        """A new user writes in a private chat; the bot's replies."""
        return self.fake.replies(self.fake.send(text, next(users)), count)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Desk]:
    """An archive of the seeds, the bridge story, its copy and a lone story; the bot on it."""
    with FakeTelegram() as fake:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path_factory.mktemp("stories") / "data",
            telegram_bot_token=fake.token,
            telegram_api_url=fake.api_url,
            telegram_file_url=fake.file_url,
            questions_per_minute=20,
        )
        archive = Archive(settings, embedder=embedder)
        archive.seed()
        archive.add_drafts([*STORY, COPY, LONE])
        with RunningBot(build_application(settings, archive)):
            yield Desk(fake, archive)
        archive.close()
        assert fake.rejected == []


def dated_lines(text: str) -> list[tuple[str, str, int]]:
    """(day, sentence, citation number) of each timeline line."""
    found = re.findall(r"^(\d{4}-\d\d-\d\d) — (.+) \[(\d+)\]$", text, re.MULTILINE)
    return [(day, sentence, int(n)) for day, sentence, n in found]


def cited_titles(text: str) -> dict[int, str]:
    """Citation number to title, from the sources under a timeline."""
    return {int(n): title for n, title in re.findall(r"^\[(\d+)\] (.+)$", text, re.MULTILINE)}


@pytest.mark.parametrize("asked", [f"/timeline {TOPIC}", f"How did the {TOPIC} unfold?"])
def test_a_timeline_is_one_dated_line_per_event_in_order(desk: Desk, asked: str) -> None:
    (reply,) = desk.say(asked)

    lines = dated_lines(reply.text)
    assert [day for day, _, _ in lines] == EXPECTED_DAYS
    titles = cited_titles(reply.text)
    for (_, sentence, n), draft in zip(lines, STORY, strict=True):
        assert sentence in draft.text  # the archive's own sentence, not a headline
        assert titles[n] == draft.title  # cited to the article that says it
    assert reply.text.count("swept two cranes") == 2  # one line and its bold in the source


def test_a_lone_story_is_said_to_be_one(desk: Desk) -> None:
    (timeline,) = desk.say("/timeline Zennor lighthouse keeper")
    (trend,) = desk.say("/trend Zennor lighthouse keeper all")

    assert timeline.text.startswith("Only one story so far on “Zennor lighthouse keeper”")
    assert "2025-05-30 — Margaret Trewin" in timeline.text
    assert trend.upload is None and trend.text.startswith("Only one story so far")


def test_a_chart_arrives_as_a_photo_with_a_caption(desk: Desk) -> None:
    (photo,) = desk.say(f"/trend {TOPIC} all")

    assert photo.upload is not None and len(photo.upload) < 200_000
    image = Image.open(io.BytesIO(photo.upload))
    assert image.format == "PNG" and image.size == (WIDTH * DPI, HEIGHT * DPI)
    assert photo.text.startswith(f"{TOPIC}: 6 articles, 2025-03-04 to 2025-05-12")
    assert "Busiest: " in photo.text


@pytest.mark.parametrize(
    ("asked", "said"),
    [
        ("/timeline", "Name a story: /timeline government shutdown"),
        ("/trend", "Name a topic: /trend government shutdown 90d"),
        ("/trend all", "Name a topic: /trend government shutdown 90d"),
        (f"/trend {TOPIC} 7x", "A period is like 30d, 90d, 1y or all.\nTry: /trend"),
        (f"/timeline {'bridge ' * 40}", "A topic is at most 200 characters."),
        (f"/trend {TOPIC} 30d", f"Nothing on “{TOPIC}” in the last 30d; 6 articles before"),
        ("/trend будівництво мосту через гавань all", "The archive has nothing on"),
    ],
)
def test_bad_topics_and_periods_get_one_line(desk: Desk, asked: str, said: str) -> None:
    (reply,) = desk.say(asked)

    assert reply.text.startswith(said) and reply.upload is None


def test_an_inline_question_gets_the_answer_then_its_sources(desk: Desk) -> None:
    query = desk.fake.inline(f"When did the {TOPIC} open to traffic?", next(users))
    answer = desk.fake.inline_answer(query)

    results = answer["results"]
    assert answer["cache_time"] == 60 and 2 <= len(results) <= 5
    assert results[0]["id"] == "answer" and "opened" in results[0]["title"]
    first = results[0]["input_message_content"]["message_text"]
    assert "Kestwick harbour bridge opens to traffic</a>" in first
    assert results[1]["title"] == "[1] Kestwick harbour bridge opens to traffic"
    assert results[1]["url"] == "https://kestwick.example/news/bridge-opens"


TYPE = "Type a question after my name"


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        ("", TYPE),
        ("   ", TYPE),
        ("?!", TYPE),
        ("<b>" * 2000, TYPE),
        ("bridge " * 200, TYPE),
        ("\u0000\ud800 <script>", "Nothing on that in the archive: try other words"),
    ],
)
def test_an_empty_or_forged_inline_query_gets_a_hint(desk: Desk, typed: str, hint: str) -> None:
    answer = desk.fake.inline_answer(desk.fake.inline(typed, next(users)))

    assert answer["results"] == []
    assert answer["button"]["text"] == hint


def test_html_in_an_inline_question_is_sent_escaped(desk: Desk) -> None:
    typed = f"<i>{TOPIC}</i> & the storm <script>?"
    answer = desk.fake.inline_answer(desk.fake.inline(typed, next(users)))

    first = answer["results"][0]["input_message_content"]["message_text"]
    assert "&lt;i&gt;" in first and "<script>" not in first


def test_help_says_how_to_turn_on_inline_mode(desk: Desk) -> None:
    (reply,) = desk.say("/help")

    assert "/timeline — How a story unfolded" in reply.text
    assert "/setinline at @BotFather" in reply.text
