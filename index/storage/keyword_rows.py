"""What the keyword index reads from SQLite: passages after an id, and the log of removals.

SQLite is the truth; the keyword index is a cache of `chunks.text` in its own folder. Triggers
log every removed or rewritten passage in `chunk_deletions` in the same transaction as the
change, so a writer catching up after a crash knows what to drop without comparing every id.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from index.storage.database import Database

READ_BATCH = 20_000


@dataclass(frozen=True)
class KeywordStamp:
    """Where the keyword index stands against SQLite.

    `last_id`: the newest passage it holds; `deletions`: the last removal-log entry applied.
    """

    last_id: int
    deletions: int


class KeywordRows:
    """Passages and the removal log, read on Store's connection for the keyword index."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def stamp(self) -> KeywordStamp:
        """The highest chunk id and removal-log entry the database ever gave out."""
        ids = self._db.last_ids(("chunks", "chunk_deletions"))
        return KeywordStamp(ids["chunks"], ids["chunk_deletions"])

    def deletions_after(self, seq: int) -> tuple[int, list[int]]:
        """(the last entry read, chunk ids removed or rewritten) since removal-log entry `seq`."""
        rows = self._db.rows(
            "SELECT seq, chunk_id FROM chunk_deletions WHERE seq > ? ORDER BY seq", (seq,)
        )
        return (int(rows[-1][0]) if rows else seq), [int(row[1]) for row in rows]  # type: ignore[call-overload]

    def count_deletions_after(self, seq: int) -> int:
        """How many removal-log entries follow `seq`."""
        return int(
            self._db.rows("SELECT COUNT(*) FROM chunk_deletions WHERE seq > ?", (seq,))[0][0]
        )  # type: ignore[call-overload]

    def count_after(self, last_id: int) -> int:
        """How many passages have an id above `last_id` (a range scan of the key)."""
        return int(self._db.rows("SELECT COUNT(*) FROM chunks WHERE id > ?", (last_id,))[0][0])  # type: ignore[call-overload]

    def texts_after(self, last_id: int) -> Iterator[list[tuple[int, str]]]:
        """(chunk id, text) of the passages above `last_id`, in id order, in batches."""
        while True:
            rows = self._db.rows(
                "SELECT id, text FROM chunks WHERE id > ? ORDER BY id LIMIT ?",
                (last_id, READ_BATCH),
            )
            if not rows:
                return
            yield [(int(row[0]), str(row[1])) for row in rows]  # type: ignore[call-overload]
            last_id = int(rows[-1][0])  # type: ignore[call-overload]

    def texts(self, ids: Sequence[int]) -> list[tuple[int, str]]:
        """(chunk id, text) of those passages that are still stored."""
        found: list[tuple[int, str]] = []
        for start in range(0, len(ids), 900):
            part = [int(i) for i in ids[start : start + 900]]
            marks = ",".join("?" * len(part))
            found += self._db.rows(f"SELECT id, text FROM chunks WHERE id IN ({marks})", part)  # type: ignore[arg-type]
        return found

    def prune(self, upto: int) -> None:
        """Forget removal-log entries the keyword index has applied."""
        self._db.run("DELETE FROM chunk_deletions WHERE seq <= ?", (upto,))
