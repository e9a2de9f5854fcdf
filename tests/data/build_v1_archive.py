"""Writes archive-v1.sqlite3: an archive as newsbot left it at schema version 1 (run once).

    PYTHONPATH=. .venv/bin/python tests/data/build_v1_archive.py

The file is committed; tests open a copy and check it is migrated with nothing lost.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from index.storage.migrations import MIGRATIONS, texts
from index.storage.sqlite_db import statements

TARGET = Path(__file__).with_name("archive-v1.sqlite3")
ADDED = "2025-05-20T08:00:00+00:00"
TEXT = (
    "Zorvath Industries opened a battery plant outside the city on Tuesday. The company "
    "said the plant will employ 800 workers and supply cars built in the region."
)


def main() -> None:
    """Schema 1 only, one feed source with one article of one passage."""
    TARGET.unlink(missing_ok=True)
    db = sqlite3.connect(TARGET, isolation_level=None)
    for statement in statements(texts(MIGRATIONS[0])[0]):
        db.execute(statement)
    db.execute("PRAGMA user_version=1")
    db.execute(
        "INSERT INTO sources(id, kind, url, title, added_at, last_fetch_at) VALUES(?,?,?,?,?,?)",
        (1, "feed", "https://news.test/feed.xml", "News Test", ADDED, ADDED),
    )
    db.execute(
        "INSERT INTO articles(id, source_id, url, title, source_name, published, external_id, "
        "content_hash, text, added_at) VALUES(?,?,?,?,?,?,?,?,?,?)",
        (
            1,
            1,
            "https://news.test/zorvath",
            "Zorvath Industries opens a battery plant",
            "News Test",
            "2025-05-20",
            "z1",
            "v1-hash",
            TEXT,
            ADDED,
        ),
    )
    db.execute("INSERT INTO chunks(article_id, ordinal, text) VALUES(1, 0, ?)", (TEXT,))
    db.close()


if __name__ == "__main__":
    main()
