"""Alert topics, digest times and what was already sent, in the archive's database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from index.storage.database import Database, connect

UPTO_KEY = "alerts_upto"  # meta: the newest chunk id the alert matching has looked at
_COLUMNS = "id, chat_id, user_id, topic, model, after_chunk, created_at, paused"


@dataclass(frozen=True)
class Subscription:
    """A chat's topic: alerts come for stories newer than `after_chunk`."""

    id: int
    chat_id: int
    user_id: int
    topic: str
    model: str
    after_chunk: int
    created_at: str
    paused: bool = False


@dataclass(frozen=True)
class Digest:
    """A chat's daily digest time (HH:MM), the day it was last sent and the passages it covered."""

    chat_id: int
    time: str
    last_sent: date | None
    after_chunk: int


@dataclass(frozen=True)
class Claim:
    """A story about to be alerted to a subscription."""

    subscription_id: int
    story: int
    article_id: int


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _subscription(row: Sequence[object]) -> Subscription:
    number, chat_id, user_id, topic, model, after, created, paused = row[:8]
    return Subscription(
        int(number),  # type: ignore[call-overload]
        int(chat_id),  # type: ignore[call-overload]
        int(user_id),  # type: ignore[call-overload]
        str(topic),
        str(model),
        int(after),  # type: ignore[call-overload]
        str(created),
        bool(paused),
    )


class SubscriptionStore:
    """Subscriptions, digests and sent alerts; its own connection, safe to share between threads.

    The tables come from the archive's migrations, so open the archive's Store first.
    """

    def __init__(self, target: str | Path | Database) -> None:
        self._db = connect(target) if isinstance(target, str | Path) else target

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def _rows(self, sql: str, args: Sequence[object] = ()) -> list[tuple[object, ...]]:
        return self._db.rows(sql, args)

    # subscriptions

    def add(self, chat_id: int, user_id: int, topic: str, vector: np.ndarray, model: str) -> int:
        """Store a topic for alerts on passages added from now on; its id."""
        blob = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
        with self._db.transaction():
            row = self._db.one(
                "INSERT INTO subscriptions(chat_id, user_id, topic, vector, model, after_chunk, "
                "created_at) VALUES(?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (chat_id, user_id, topic, blob, model, self.last_chunk(), _now()),
            )
            # A chat that subscribes again has unblocked the bot.
            self._db.run("UPDATE subscriptions SET paused=0 WHERE chat_id=?", (chat_id,))
        assert row is not None
        return int(row[0])  # type: ignore[call-overload]

    def count_for_user(self, user_id: int) -> int:
        """How many topics a user has subscribed, in every chat."""
        rows = self._rows("SELECT COUNT(*) FROM subscriptions WHERE user_id=?", (user_id,))
        return int(rows[0][0])  # type: ignore[call-overload]

    def for_chat(self, chat_id: int) -> list[Subscription]:
        """A chat's topics, oldest first."""
        rows = self._rows(
            f"SELECT {_COLUMNS} FROM subscriptions WHERE chat_id=? ORDER BY id", (chat_id,)
        )
        return [_subscription(row) for row in rows]

    def every(self) -> list[Subscription]:
        """Every subscription, by chat then id."""
        rows = self._rows(f"SELECT {_COLUMNS} FROM subscriptions ORDER BY chat_id, id")
        return [_subscription(row) for row in rows]

    def active(self, chat_id: int | None = None) -> list[tuple[Subscription, np.ndarray]]:
        """Topics that are not paused (of one chat, or all), each with its stored vector."""
        where = "paused=0" + (" AND chat_id=?" if chat_id is not None else "")
        rows = self._rows(
            f"SELECT {_COLUMNS}, vector FROM subscriptions WHERE {where} ORDER BY id",
            (chat_id,) if chat_id is not None else (),
        )
        return [(_subscription(row), np.frombuffer(row[8], dtype=np.float32)) for row in rows]  # type: ignore[call-overload]

    def revector(self, subscription_id: int, vector: np.ndarray, model: str) -> None:
        """Replace a topic's vector (the archive's model changed)."""
        blob = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
        self._db.run(
            "UPDATE subscriptions SET vector=?, model=? WHERE id=?",
            (blob, model, subscription_id),
        )

    def remove(self, chat_id: int, subscription_id: int | None = None) -> int:
        """Delete one of a chat's topics (or all of them); how many went."""
        sql, args = "DELETE FROM subscriptions WHERE chat_id=?", [chat_id]
        if subscription_id is not None:
            sql, args = sql + " AND id=?", [chat_id, subscription_id]
        return self._db.run(sql, args)

    def pause(self, chat_id: int) -> None:
        """Stop alerts to a chat (it blocked the bot) until it subscribes again."""
        self._db.run("UPDATE subscriptions SET paused=1 WHERE chat_id=?", (chat_id,))

    # passages to match

    def last_chunk(self) -> int:
        """The newest passage id ever given (chunk ids are never reused)."""
        return self._db.last_ids(("chunks",))["chunks"]

    def chunks_after(self, after: int, limit: int) -> list[int]:
        """Ids of passages newer than `after`, oldest first."""
        rows = self._rows("SELECT id FROM chunks WHERE id > ? ORDER BY id LIMIT ?", (after, limit))
        return [int(row[0]) for row in rows]  # type: ignore[call-overload]

    def recent_stories(self, limit: int, before: int, after: int = 0) -> list[tuple[int, str]]:
        """(first chunk id, text) of the latest articles that begin between the two ids."""
        rows = self._rows(
            "SELECT MIN(c.id) AS first, a.text FROM articles a "
            "JOIN chunks c ON c.article_id = a.id GROUP BY a.id "
            "HAVING MIN(c.id) < ? AND MIN(c.id) > ? ORDER BY first DESC LIMIT ?",
            (before, after, limit),
        )
        return [(int(row[0]), str(row[1])) for row in rows]  # type: ignore[call-overload]

    def article_texts(self, article_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
        """(first chunk id, text) by article id."""
        marks = ",".join("?" * len(article_ids))
        rows = self._rows(
            f"SELECT a.id, MIN(c.id), a.text FROM articles a JOIN chunks c ON c.article_id = a.id "
            f"WHERE a.id IN ({marks}) GROUP BY a.id",
            list(article_ids),
        )
        return {int(r[0]): (int(r[1]), str(r[2])) for r in rows}  # type: ignore[call-overload]

    # what was sent

    def upto(self) -> int | None:
        """The newest passage the matching has looked at; None before the first pass."""
        rows = self._rows("SELECT value FROM meta WHERE key=?", (UPTO_KEY,))
        return int(str(rows[0][0])) if rows else None

    def claim(self, claims: Sequence[Claim], upto: int) -> list[Claim]:
        """Record alerts and move the mark to `upto` in one transaction; those new to the table."""
        kept: list[Claim] = []
        with self._db.transaction():
            for claim in claims:
                if self._db.run(
                    "INSERT INTO alerts_sent(subscription_id, story, article_id, sent_at) "
                    "VALUES(?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (claim.subscription_id, claim.story, claim.article_id, _now()),
                ):
                    kept.append(claim)
            larger = self._db.greatest(
                "CAST(meta.value AS INTEGER)", "CAST(excluded.value AS INTEGER)"
            )
            self._db.run(
                "INSERT INTO meta(key, value) VALUES(?, ?) "
                f"ON CONFLICT(key) DO UPDATE SET value=CAST({larger} AS TEXT)",
                (UPTO_KEY, str(upto)),
            )
        return kept

    # digests

    def set_digest(self, chat_id: int, time: str, last_sent: date | None) -> None:
        """A chat's digest time; the digest covers passages added from now on."""
        self._db.run(
            "INSERT INTO digests(chat_id, time, last_sent, after_chunk) VALUES(?, ?, ?, ?) "
            "ON CONFLICT(chat_id) DO UPDATE SET time=excluded.time, "
            "last_sent=excluded.last_sent",
            (chat_id, time, last_sent.isoformat() if last_sent else None, self.last_chunk()),
        )

    def remove_digest(self, chat_id: int) -> bool:
        """Stop a chat's digest; whether it had one."""
        return bool(self._db.run("DELETE FROM digests WHERE chat_id=?", (chat_id,)))

    def digests(self) -> list[Digest]:
        """Every chat's digest."""
        rows = self._rows("SELECT chat_id, time, last_sent, after_chunk FROM digests")
        return [
            Digest(int(r[0]), str(r[1]), date.fromisoformat(str(r[2])) if r[2] else None, int(r[3]))  # type: ignore[call-overload]
            for r in rows
        ]

    def digest_done(self, chat_id: int, day: date, upto: int) -> None:
        """Note a day's digest (sent, or nothing new) and the passages it covered."""
        later = self._db.greatest("after_chunk", "?")
        self._db.run(
            f"UPDATE digests SET last_sent=?, after_chunk={later} WHERE chat_id=?",
            (day.isoformat(), upto, chat_id),
        )
