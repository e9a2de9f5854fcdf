"""Which occurrence of a recurring story a passage tells: older than the latest one cited; pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from index.records import Hit
from index.search.dates import time_range

YEAR_DAYS = 365
_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b")


def _when(hit: Hit) -> date | None:
    """The day the passage's story happened, as far as known: its latest year named, or the
    article's publication date when that is earlier or no year is named."""
    published = hit.article.published
    years = [int(y) for y in _YEAR.findall(hit.chunk.text)]
    if published and years and max(years) < published.year:
        # "the 2023 final" in an article of 2024 tells the older occurrence.
        return date(max(years), 12, 31)
    return published


def staleness(question: str, hits: Sequence[Hit], now: date) -> list[float]:
    """Per hit, how much older (0 to 1 of a year) its story is than the latest one cited.

    A question naming a time ("in 2017", "last year's") leaves the choice to retrieval: none.
    """
    if time_range(question, now) is not None:
        return [0.0] * len(hits)
    days = [_when(hit) for hit in hits]
    known = [day for day in days if day and day <= now]
    if not known:
        return [0.0] * len(hits)
    latest = max(known)
    return [min(1.0, (latest - day).days / YEAR_DAYS) if day else 0.0 for day in days]
