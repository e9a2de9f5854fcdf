"""Time words in a question ("this week", "in March 2025") as a date range relative to now; pure."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from index.search.time_words import english_time_words


@dataclass(frozen=True)
class DateRange:
    """The days a question's time words point at, both ends included."""

    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def distance(self, day: date) -> int:
        """Days from `day` to the range: 0 inside it."""
        if day < self.start:
            return (self.start - day).days
        return max(0, (day - self.end).days)


MONTHS = {
    name.lower(): number
    for number in range(1, 13)
    for name in (calendar.month_name[number], calendar.month_abbr[number])
}
MONTHS["sept"] = 9
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_WORDS = re.compile(
    r"\b(?P<lead>in|during|since|on|of|early|late|mid|mid-|by|until|last|this)?\s*"
    + _MONTH
    + r"(?:\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\b)?(?:,?\s+(?P<year>(?:19|20)\d\d)\b)?",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(?:in|during|since|of)\s+(?P<year>(?:19|20)\d\d)\b", re.IGNORECASE)
_SPAN = re.compile(
    r"\b(?:(?P<edge>past|last|previous)\s+)?(?P<count>\d+|a|one|two|three|four|five|six|"
    r"seven|eight|nine|ten|few|couple of)\s+(?P<unit>day|week|month|year)s?(?P<ago>\s+ago)?\b",
    re.IGNORECASE,
)
_COUNTS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_COUNTS |= {"seven": 7, "eight": 8, "nine": 9, "ten": 10, "few": 3, "couple of": 2}
UPCOMING_DAYS = 31
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}


def _valid(year: int, month: int, day: int) -> bool:
    return 1 <= day <= calendar.monthrange(year, month)[1]


def _year_range(year: int) -> DateRange:
    return DateRange(date(year, 1, 1), date(year, 12, 31))


def _month_range(year: int, month: int) -> DateRange:
    last = calendar.monthrange(year, month)[1]
    return DateRange(date(year, month, 1), date(year, month, last))


def _near_phrases(now: date) -> tuple[tuple[str, DateRange], ...]:
    """Named periods close to now: today, yesterday, this or last week or month, recently."""
    monday = now - timedelta(days=now.weekday())
    first = now.replace(day=1)
    before = first - timedelta(days=1)
    return (
        (r"\b(today|tonight|this (morning|afternoon|evening))\b", DateRange(now, now)),
        (r"\b(yesterday|last night)\b", DateRange(now - timedelta(1), now - timedelta(1))),
        (r"\b(this|past) weekend\b", DateRange(now - timedelta(7), now)),
        (r"\b(this|past|the last) (week|seven days)\b", DateRange(now - timedelta(7), now)),
        (r"\b(last|previous) week\b", DateRange(monday - timedelta(7), monday - timedelta(1))),
        (r"\b(this|past) month\b", DateRange(first, now)),
        (r"\b(last|previous) month\b", _month_range(before.year, before.month)),
        (
            r"\b(recent(ly)?|lately|latest|currently|these days)\b",
            DateRange(now - timedelta(30), now),
        ),
    )


def _year_phrases(now: date) -> tuple[tuple[str, DateRange], ...]:
    """This year and last year."""
    return (
        (r"\b(this|past) year\b", DateRange(date(now.year, 1, 1), now)),
        (r"\b(last|previous) year\b", _year_range(now.year - 1)),
    )


def _named(text: str, phrases: tuple[tuple[str, DateRange], ...]) -> DateRange | None:
    """The range of the first phrase found, if it is a time word and not a name ("Today" show)."""
    for pattern, span in phrases:
        for found in re.finditer(pattern, text, re.IGNORECASE):
            at = found.start()
            quoted = at > 0 and text[at - 1] in "\"“‘'"
            if quoted or (text[at].isupper() and at > 0 and text[:at].rstrip()[-1:] not in ".?!"):
                continue
            return span
    return None


def _calendar_date(text: str, now: date) -> DateRange | None:
    """'in March 2025', 'March 5', 'in January' (the latest one not after now)."""
    for found in _DATE_WORDS.finditer(text):
        word, lead, day, year = (found.group(g) for g in ("month", "lead", "day", "year"))
        if not (lead or day or year):
            continue
        if word.lower() == "may" and word[0] != "M" and not (day or year):
            continue  # "may" the verb
        month = MONTHS[word.lower().rstrip(".")]
        if year:
            chosen = int(year)
        elif (month, int(day or 1)) <= (now.month, now.day):
            chosen = now.year
        else:
            # A day in the next month is most likely coming up ("the game on February 8").
            upcoming = day and _valid(now.year, month, int(day))
            soon = upcoming and (date(now.year, month, int(day)) - now).days <= UPCOMING_DAYS
            chosen = now.year if soon else now.year - 1
        span = _month_range(chosen, month)
        if day and 1 <= int(day) <= span.end.day:
            exact = date(chosen, month, int(day))
            return DateRange(exact, exact)
        return span
    found_year = _YEAR.search(text)
    if found_year:
        return _year_range(int(found_year.group("year")))
    return None


def _span(text: str, now: date) -> DateRange | None:
    """'past 3 days', 'two weeks ago'."""
    found = _SPAN.search(text)
    if not found or not (found.group("edge") or found.group("ago")):
        return None
    count = found.group("count").lower()
    days = (int(count) if count.isdigit() else _COUNTS[count]) * _UNIT_DAYS[found.group("unit")]
    if found.group("ago"):
        slack = max(1, days // 4)
        return DateRange(now - timedelta(days + slack), now - timedelta(max(0, days - slack)))
    return DateRange(now - timedelta(days), now)


def time_range(question: str, now: date) -> DateRange | None:
    """The date range a question's time words mean, seen from `now`; None when it has none."""
    question = english_time_words(question)
    return (
        _named(question, _near_phrases(now))
        or _calendar_date(question, now)
        or _span(question, now)
        or _named(question, _year_phrases(now))
    )
