"""The day a news sentence says something happened, read against its article's date; pure."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from index.search.dates import MONTHS

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
# "Oct. 1", "October 1, 2025", "1 October 2025"
_MONTH_DAY = re.compile(
    rf"\b(?P<month>{_MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<year>(?:19|20)\d\d))?"
    rf"|\b(?P<day2>\d{{1,2}})\s+(?P<month2>{_MONTH})\.?(?:\s+(?P<year2>(?:19|20)\d\d))?\b",
    re.IGNORECASE,
)
_WEEKDAYS = {name.lower(): n for n, name in enumerate(calendar.day_name)}
_WEEKDAY = re.compile(
    r"\b(?P<last>last\s+)?(?P<name>" + "|".join(calendar.day_name) + r")\b(?!,?\s+\w+\s+\d)"
)
_RELATIVE = re.compile(
    r"\b(?P<word>yesterday|today|tonight|this morning|this afternoon|this evening|"
    r"last night|overnight)\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_FUTURE = re.compile(
    r"\b(will|plans? to|is set to|are set to|is expected to|are expected to|is scheduled|"
    r"are scheduled|is due to|are due to|next (week|month|year))\b",
    re.IGNORECASE,
)
_BACK = {"yesterday": 1, "last night": 1}
# A story's own days: a named date further back than this is history retold, not this story.
HISTORY_DAYS = 120


def named_day(sentence: str, published: date) -> date | None:
    """The day the sentence names ("on Oct. 1", "last Tuesday", "yesterday"), if any.

    Only days up to the article's date count: a day after it is a plan, not an event.
    """
    found = _MONTH_DAY.search(sentence)
    if found:
        word = (found.group("month") or found.group("month2")).lower()
        day = int(found.group("day") or found.group("day2"))
        year_text = found.group("year") or found.group("year2")
        month = MONTHS[word]
        if word == "may" and not found.group(0)[0].isupper():
            found = None  # "may 3" in running text is the verb and a number
        else:
            year = int(year_text) if year_text else published.year
            if not year_text and (month, day) > (published.month, published.day):
                year -= 1  # "on Dec. 30" in a January article
            if 1 <= day <= calendar.monthrange(year, month)[1]:
                named = date(year, month, day)
                return named if named <= published else None
    weekday = _WEEKDAY.search(sentence)
    if weekday:
        back = (published.weekday() - _WEEKDAYS[weekday.group("name").lower()]) % 7
        if weekday.group("last") and back == 0:
            back = 7
        return published - timedelta(days=back)
    relative = _RELATIVE.search(sentence)
    if relative:
        return published - timedelta(days=_BACK.get(relative.group("word").lower(), 0))
    return None


def event_day(sentence: str, published: date) -> date | None:
    """The sentence's event day: the day it names, else its article's; None for history or plans.

    A sentence naming another year, or a day long before the article, retells history; one
    that says what will happen tells a plan. Neither is an event of the story on that day.
    """
    if _FUTURE.search(sentence):
        return None
    named = named_day(sentence, published)
    if named is not None:
        return named if (published - named).days <= HISTORY_DAYS else None
    if any(int(year) != published.year for year in _YEAR.findall(sentence)):
        return None
    return published
