"""Copies an archive's rows to another database (SQLite to PostgreSQL or back), vectors too.

Nothing is re-embedded: vectors travel as the same float16 values. The copy is one transaction
on the target, so a copy that fails or is killed leaves the target as empty as it was.
Logs and caches (removal log, leases, question times, chats' recent questions, an unfinished
rebuild) stay behind: the target's caches are built from its rows on open.
"""

from __future__ import annotations

from collections.abc import Callable

from index.errors import ArchiveError
from index.records import Counts
from index.storage.store import Store

BATCH = 50_000  # rows read and written at a time: COPY on PostgreSQL
# (table, columns, key); key None: copied whole (small tables). Parents before children.
TABLES: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("meta", ("key", "value"), None),
    ("sources", ("id", "kind", "url", "title", "added_at", "last_fetch_at", "last_error",
                 "etag", "last_modified"), "id"),
    ("articles", ("id", "source_id", "url", "title", "source_name", "published",
                  "external_id", "content_hash", "text", "added_at"), "id"),
    ("chunks", ("id", "article_id", "ordinal", "text"), "id"),
    ("chunk_vectors", ("chunk_id", "vector"), "chunk_id"),
    ("subscriptions", ("id", "chat_id", "user_id", "topic", "vector", "model", "after_chunk",
                       "created_at", "paused"), "id"),
    ("digests", ("chat_id", "time", "last_sent", "after_chunk"), None),
    ("alerts_sent", ("subscription_id", "story", "article_id", "sent_at"), None),
    ("chat_languages", ("chat_id", "language", "chosen"), None),
)  # fmt: skip
SEQUENCES = ("sources", "articles", "chunks", "subscriptions")


def copy_archive(
    source: Store, target: Store, progress: Callable[[str, int], None] | None = None
) -> Counts:
    """Copy every row of `source` into the empty archive `target`; the counts copied."""
    if target.counts().articles or target.list_sources():
        raise ArchiveError(
            f"{target.db.location} already holds an archive; copy into an empty database or folder."
        )
    if source.schema_version != target.schema_version:
        raise ArchiveError("Both archives must be opened by the same newsbot version.")
    with target.db.transaction():
        target.db.run("DELETE FROM meta")  # the new archive's own marks, replaced by the source's
        for table, columns, key in TABLES:
            copied = _copy_table(source, target, table, columns, key)
            if progress:
                progress(table, copied)
        target.db.carry_ids(SEQUENCES)
    return target.counts()


def _copy_table(
    source: Store, target: Store, table: str, columns: tuple[str, ...], key: str | None
) -> int:
    names = ", ".join(columns)
    vector = columns.index("vector") if table == "chunk_vectors" else -1
    copied, after = 0, -1
    while True:
        if key is None:
            rows = source.db.rows(f"SELECT {names} FROM {table}")
        else:
            rows = source.db.rows(
                f"SELECT {names} FROM {table} WHERE {key} > ? ORDER BY {key} LIMIT ?",
                (after, BATCH),
            )
        if vector >= 0:
            rows = [(*row[:vector], target.db.vector(row[vector])) for row in rows]  # type: ignore[arg-type]
        target.db.copy_rows(table, columns, rows)
        copied += len(rows)
        if key is None or len(rows) < BATCH:
            return copied
        after = int(rows[-1][columns.index(key)])  # type: ignore[call-overload]
