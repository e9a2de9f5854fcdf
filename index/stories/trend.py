"""Coverage over time: a topic's articles counted per day, week or month of a period; pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from index.errors import ArchiveError
from index.i18n import _
from index.records import Article

PERIODS = {"30d": 30, "90d": 90, "1y": 365, "all": None}
DEFAULT_PERIOD = "90d"
DAILY_UP_TO = 92  # spans up to this many days are counted per day; up to two years per week
WEEKLY_UP_TO = 731
BUSIEST = 3  # points labelled with their top headline
_PERIOD = re.compile(r"^(\d{1,4})([dwmy])$")
_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


class BadPeriod(ArchiveError):
    """A period that is none of 30d, 90d, 1y, all (or another count of days, weeks, months)."""


@dataclass(frozen=True)
class Point:
    """One bar: the first day of its day, week or month, its article count, its top headline."""

    start: date
    count: int
    headline: str


@dataclass(frozen=True)
class Trend:
    """A topic's coverage: points oldest first (empty ones included), its step and total."""

    topic: str
    period: str
    step: str  # "day", "week" or "month"
    points: tuple[Point, ...]
    total: int
    outside: int = 0  # matching articles before the period (when it is not "all")

    @property
    def busiest(self) -> tuple[Point, ...]:
        """The BUSIEST points with articles, most articles first (the earlier on a tie)."""
        ranked = sorted((p for p in self.points if p.count), key=lambda p: (-p.count, p.start))
        return tuple(ranked[:BUSIEST])


def period_days(period: str) -> int | None:
    """Days in a period ("30d", "2w", "6m", "1y"; None for "all"); BadPeriod otherwise."""
    text = period.strip().lower()
    if text == "all":
        return None
    found = _PERIOD.match(text)
    days = int(found.group(1)) * _UNIT_DAYS[found.group(2)] if found else 0
    if not 1 <= days <= 20 * 365:
        raise BadPeriod(_("A period is like 30d, 90d, 1y or all."))
    return days


def step_for(first: date, last: date) -> str:
    """Days for short spans, weeks up to two years, months beyond."""
    span = (last - first).days + 1
    return "day" if span <= DAILY_UP_TO else "week" if span <= WEEKLY_UP_TO else "month"


def bucket(day: date, step: str) -> date:
    """The first day of the day, week (Monday) or month that `day` falls in."""
    if step == "week":
        return day - timedelta(days=day.weekday())
    if step == "month":
        return day.replace(day=1)
    return day


def following(start: date, step: str) -> date:
    """The first day of the next bucket."""
    if step == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=7 if step == "week" else 1)


def count_coverage(
    topic: str, period: str, matched: Sequence[tuple[Article, float]], now: date
) -> Trend:
    """The matched articles (with their scores) counted per bucket of the period up to now."""
    days = period_days(period)
    dated = [(a.published, a, s) for a, s in matched if a.published and a.published <= now]
    first = min((day for day, _, _ in dated), default=now)
    start = now - timedelta(days=days - 1) if days else first
    inside = [(day, a, s) for day, a, s in dated if day >= start]
    end = now if days else max((day for day, _, _ in inside), default=now)
    step = step_for(start, end)
    counts: dict[date, int] = {}
    top: dict[date, tuple[float, str]] = {}
    for day, article, score in inside:
        key = bucket(day, step)
        counts[key] = counts.get(key, 0) + 1
        if key not in top or score > top[key][0]:
            top[key] = (score, article.title)
    points, at = [], bucket(start, step)
    while at <= end:
        points.append(Point(at, counts.get(at, 0), top.get(at, (0.0, ""))[1]))
        at = following(at, step)
    return Trend(topic, period, step, tuple(points), len(inside), len(dated) - len(inside))
