"""SQLite rows as records, and the timestamps the store writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from index.records import Article, Source


def now() -> str:
    """The time in UTC, ISO 8601 to the second, as stored."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def source_row(row: Sequence[object]) -> Source:
    """A source from (id, kind, url, title, added, fetched, error, article count)."""
    fetched = row[5]
    return Source(
        id=int(row[0]),  # type: ignore[call-overload]
        kind=row[1],  # type: ignore[arg-type]
        url=str(row[2]),
        title=str(row[3]),
        added_at=datetime.fromisoformat(str(row[4])),
        last_fetch_at=datetime.fromisoformat(fetched) if isinstance(fetched, str) else None,
        last_error=row[6],  # type: ignore[arg-type]
        articles=int(row[7]),  # type: ignore[call-overload]
    )


def article_row(row: Sequence[object]) -> Article:
    """An article from (id, title, url, source name, published, source id)."""
    published = row[4]
    return Article(
        id=int(row[0]),  # type: ignore[call-overload]
        title=str(row[1]),
        url=row[2],  # type: ignore[arg-type]
        source=row[3],  # type: ignore[arg-type]
        published=date.fromisoformat(published) if isinstance(published, str) else None,
        source_id=row[5],  # type: ignore[arg-type]
    )
