"""Timelines, coverage counts and charts as pure functions: days, retellings, spans, periods."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from PIL import Image

from index.records import Article, Chunk, Hit
from index.stories.asks import timeline_topic
from index.stories.chart import DPI, HEIGHT, WIDTH, draw, label
from index.stories.timeline import MAX_EVENTS, build_timeline
from index.stories.trend import BadPeriod, count_coverage, period_days
from index.stories.when import event_day

THURSDAY = date(2025, 10, 2)


@pytest.mark.parametrize(
    ("sentence", "day"),
    [
        ("The government shut down on Oct. 1 after talks failed.", date(2025, 10, 1)),
        ("Senators voted Tuesday to reject the bill again.", date(2025, 9, 30)),
        ("Talks between the leaders broke down yesterday.", date(2025, 10, 1)),
        ("On 28 September the talks broke down for good.", date(2025, 9, 28)),
        ("Trump said last Thursday that he would act.", date(2025, 9, 25)),
        ("The vote was held on Dec. 30 in the old chamber.", None),  # last December: history
        ("Congress approved the budget after a long debate.", THURSDAY),
        ("The Senate will vote on Friday on the new bill.", None),  # a plan
        ("It marks the 15th shutdown since 1981, a record.", None),  # history
        ("The stadium opened on March 3 to large crowds.", None),  # months back: history
    ],
)
def test_the_day_a_sentence_tells_of(sentence: str, day: date | None) -> None:
    assert event_day(sentence, THURSDAY) == day


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("How did the government shutdown unfold?", "the government shutdown"),
        ("timeline of the Artemis II mission", "the Artemis II mission"),
        ("What happened with the tariffs since April?", "the tariffs since April"),
        ("How has the strike developed", "the strike"),
        ("What did the US offer Ukraine?", None),
        ("What happened in Gaza?", None),
    ],
)
def test_questions_asking_for_a_timeline(question: str, topic: str | None) -> None:
    assert timeline_topic(question) == topic


def hit(n: int, day: date, text: str, title: str = "Harbour news", score: float = 1.0) -> Hit:
    """A passage opening article n."""
    article = Article(n, title, f"https://x.example/{n}", "X", day)
    return Hit(Chunk(n * 10, n, 0, text), article, score)


def test_copies_and_retellings_are_one_line_from_the_first_teller() -> None:
    told = (
        "The harbour bridge council vote passed on Monday by nine to two. The mayor said work "
        "would start within weeks, and the contractor has already ordered the steel for the deck."
    )
    first = hit(1, date(2025, 3, 4), told)
    copy = hit(2, date(2025, 3, 5), "Wire copy. " + told + " Distributed by the wire.")
    later = hit(
        3, date(2025, 3, 20), "Crews began building the harbour bridge piers on the north quay."
    )

    timeline = build_timeline("harbour bridge", [copy, later, first], None, 200)

    assert [(e.day, e.n) for e in timeline.events] == [
        (date(2025, 3, 3), 1),
        (date(2025, 3, 20), 2),
    ]
    assert timeline.citations[0].title == "Harbour news" and timeline.citations[0].chunk_id == 10
    assert timeline.stories == 2


def test_a_long_story_is_at_most_twelve_lines_across_its_span() -> None:
    start = date(2025, 1, 1)

    def made_up(n: int, k: int) -> str:  # a word of its own: five letters no other starts with
        return "".join(chr(97 + (n * 3 + k) // 26**i % 26) for i in range(3)) + "ton"

    hits = [
        hit(
            n,
            start + timedelta(days=n),
            f"Crews {made_up(n, 0)} {made_up(n, 1)} {made_up(n, 2)} at the harbour bridge.",
        )
        for n in range(1, 41)
    ]

    events = build_timeline("harbour bridge", hits, None, 200).events

    assert len(events) == MAX_EVENTS
    assert [e.day for e in events] == sorted(e.day for e in events)
    assert events[0].day <= start + timedelta(days=4) and events[-1].day >= start + timedelta(
        days=36
    )


def test_a_quiet_spell_splits_stories_and_the_busier_one_is_told() -> None:
    old = [
        hit(1, date(2019, 5, 1), "The harbour bridge plan was first proposed by the old council.")
    ]
    new = [
        hit(
            n,
            date(2025, 3, n),
            f"The harbour bridge works reached stage {n} of the new plan today.",
        )
        for n in range(2, 6)
    ]

    events = build_timeline("harbour bridge", old + new, None, 200).events

    assert {e.day.year for e in events} == {2025}


@pytest.mark.parametrize(
    ("period", "days"), [("30d", 30), ("90d", 90), ("1y", 365), ("2w", 14), ("all", None)]
)
def test_periods(period: str, days: int | None) -> None:
    assert period_days(period) == days


@pytest.mark.parametrize("period", ["7x", "0d", "d", "forever", "99999y"])
def test_bad_periods(period: str) -> None:
    with pytest.raises(BadPeriod, match="30d, 90d, 1y or all"):
        period_days(period)


def articles(days: list[date]) -> list[tuple[Article, float]]:
    """Matched articles on these days, each with its own headline."""
    return [(Article(n, f"Headline {n}", None, None, day), 0.6) for n, day in enumerate(days)]


def test_coverage_counts_per_day_with_empty_days_and_the_busiest() -> None:
    now = date(2025, 3, 30)
    days = [date(2025, 3, 10)] * 3 + [date(2025, 3, 12)] * 2 + [date(2025, 3, 20), date(2024, 1, 1)]

    trend = count_coverage("bridge", "30d", articles(days), now)

    assert trend.step == "day" and len(trend.points) == 30 and trend.points[-1].start == now
    assert trend.total == 6 and trend.outside == 1
    assert [(p.start, p.count) for p in trend.busiest] == [
        (date(2025, 3, 10), 3),
        (date(2025, 3, 12), 2),
        (date(2025, 3, 20), 1),
    ]


def test_coverage_over_a_long_period_is_weekly_or_monthly() -> None:
    now = date(2025, 12, 31)
    weekly = count_coverage("bridge", "1y", articles([date(2025, 6, 4), date(2025, 6, 6)]), now)
    monthly = count_coverage("bridge", "all", articles([date(2021, 1, 5), date(2025, 6, 6)]), now)

    assert weekly.step == "week" and weekly.busiest[0].start == date(2025, 6, 2)
    assert weekly.busiest[0].count == 2
    assert monthly.step == "month" and monthly.points[0].start == date(2021, 1, 1)


def test_a_chart_is_a_small_png_of_the_expected_size() -> None:
    days = [date(2025, 3, 1) + timedelta(days=n % 20) for n in range(50)]
    trend = count_coverage("harbour bridge 🌉", "all", articles(days), date(2025, 3, 30))

    png = draw(trend)

    assert len(png) < 200_000
    assert Image.open(io.BytesIO(png)).size == (WIDTH * DPI, HEIGHT * DPI)


def test_labels_are_short_and_without_symbols_the_font_lacks() -> None:
    assert label("Bridge opens 🌉 to traffic after twenty years of waiting for it") == (
        "Bridge opens to traffic after twenty…"
    )
