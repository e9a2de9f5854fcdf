"""Leases: a named row with a holder and an expiry, so scheduled work runs on one process.

Taking or renewing is one upsert that only wins when the lease is free, expired or already
the caller's, so two processes racing for it cannot both hold it, on either engine.
"""

from __future__ import annotations

import os
import socket
import time

from index.storage.database import Database


def this_process() -> str:
    """The holder name of this process: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Leases:
    """The `leases` table on the archive's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def take(self, name: str, holder: str, seconds: float) -> str:
        """Take or renew a lease for `seconds`; who holds it afterwards (`holder` if we won)."""
        now = time.time()
        self._db.run(
            "INSERT INTO leases(name, holder, expires) VALUES(?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET holder=excluded.holder, expires=excluded.expires "
            "WHERE leases.holder = excluded.holder OR leases.expires < ?",
            (name, holder, now + seconds, now),
        )
        row = self._db.one("SELECT holder FROM leases WHERE name=?", (name,))
        return "" if row is None else str(row[0])

    def release(self, name: str, holder: str) -> None:
        """Give a lease up at once (a process stopping cleanly)."""
        self._db.run("DELETE FROM leases WHERE name=? AND holder=?", (name, holder))

    def ask(self, user_id: int, limit: int, window: float) -> float:
        """Count a question if the user asked fewer than `limit` in the window; else the
        seconds until they may ask again (every process shares the count)."""
        now = time.time()
        with self._db.transaction():
            self._db.run(
                "DELETE FROM question_times WHERE user_id=? AND asked <= ?", (user_id, now - window)
            )
            rows = self._db.rows(
                "SELECT asked FROM question_times WHERE user_id=? ORDER BY asked", (user_id,)
            )
            if len(rows) >= limit:
                return max(1.0, float(rows[0][0]) + window - now)  # type: ignore[arg-type]
            self._db.run("INSERT INTO question_times(user_id, asked) VALUES(?, ?)", (user_id, now))
        return 0.0
