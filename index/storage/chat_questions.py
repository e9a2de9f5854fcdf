"""The questions asked in each chat, in the archive's database so every replica shares them.

A follow-up ("and France?") is read with its chat's last question, and "More ▸" goes on with
the question its answer was for; with two bots behind a load balancer either may get the
next message. Rows expire: a follow-up looks back FOLLOW_SECONDS, "More ▸" KEPT_SECONDS.
A read-only archive keeps them in this process instead.
"""

from __future__ import annotations

import threading
import time

from index.storage.database import Database

FOLLOW_SECONDS = 3600.0  # a question older than this is not followed up on
KEPT_SECONDS = 86400.0  # rows older than this are pruned as the chat asks on


class ChatQuestions:
    """The `chat_questions` table on the archive's database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._memory: dict[tuple[int, int], tuple[str, float]] = {}  # a read-only archive's
        self._lock = threading.Lock()

    def remember(self, chat_id: int, message_id: int, question: str) -> None:
        """Record the question a message asked (as it was answered)."""
        now = time.time()
        if self._db.read_only:
            with self._lock:
                self._memory[(chat_id, message_id)] = (question, now)
            return
        with self._db.transaction():
            self._db.run(
                "DELETE FROM chat_questions WHERE chat_id=? AND asked < ?",
                (chat_id, now - KEPT_SECONDS),
            )
            self._db.run(
                "INSERT INTO chat_questions(chat_id, message_id, question, asked) "
                "VALUES(?, ?, ?, ?) ON CONFLICT(chat_id, message_id) DO UPDATE SET "
                "question=excluded.question, asked=excluded.asked",
                (chat_id, message_id, question, now),
            )

    def forget(self, chat_id: int, message_id: int) -> None:
        """Drop a message's question (it was not answered after all)."""
        if self._db.read_only:
            with self._lock:
                self._memory.pop((chat_id, message_id), None)
            return
        self._db.run(
            "DELETE FROM chat_questions WHERE chat_id=? AND message_id=?", (chat_id, message_id)
        )

    def last(self, chat_id: int) -> str | None:
        """The chat's latest question, if it was asked within FOLLOW_SECONDS."""
        since = time.time() - FOLLOW_SECONDS
        if self._db.read_only:
            with self._lock:
                mine = [v for k, v in self._memory.items() if k[0] == chat_id and v[1] >= since]
            return max(mine, key=lambda v: v[1])[0] if mine else None
        row = self._db.one(
            "SELECT question FROM chat_questions WHERE chat_id=? AND asked >= ? "
            "ORDER BY asked DESC, message_id DESC LIMIT 1",
            (chat_id, since),
        )
        return None if row is None else str(row[0])

    def asked(self, chat_id: int, message_id: int) -> str | None:
        """The question a message asked, as it was answered, while it is kept."""
        if self._db.read_only:
            with self._lock:
                found = self._memory.get((chat_id, message_id))
            return found[0] if found else None
        row = self._db.one(
            "SELECT question FROM chat_questions WHERE chat_id=? AND message_id=?",
            (chat_id, message_id),
        )
        return None if row is None else str(row[0])
