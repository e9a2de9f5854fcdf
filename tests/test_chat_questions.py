"""A chat's questions in the archive: the last one for follow-ups, each for "More ▸", expiring."""

from __future__ import annotations

import time

import pytest

from index.archive import Archive
from index.settings import Settings
from index.storage.chat_questions import FOLLOW_SECONDS, KEPT_SECONDS


@pytest.mark.engines
def test_every_process_reads_the_chats_questions_until_they_expire(
    archive: Archive, settings: Settings
) -> None:
    other = Archive(settings, embedder=archive.embedder)  # a second replica on the same database
    try:
        archive.remember_question(1, 10, "What did France offer Ukraine?")
        archive.remember_question(1, 11, "What did Germany offer Ukraine?")
        archive.remember_question(2, 12, "Who won the match?")
        archive.remember_question(1, 13, "unanswered")
        archive.remember_question(1, 13, None)  # not answered after all: forgotten

        assert other.chat_question(1) == "What did Germany offer Ukraine?"
        assert other.chat_question(1, 10) == "What did France offer Ukraine?"
        assert other.chat_question(2) == "Who won the match?"
        assert other.chat_question(1, 13) is None and other.chat_question(3) is None

        # An hour on, chat 1's questions are too old to follow up, yet "More ▸" still reads them;
        # a day on, the chat's next question prunes them.
        archive.store.db.run(
            "UPDATE chat_questions SET asked = ?", (time.time() - FOLLOW_SECONDS - 1,)
        )
        assert other.chat_question(1) is None
        assert other.chat_question(1, 11) == "What did Germany offer Ukraine?"
        archive.store.db.run(
            "UPDATE chat_questions SET asked = ?", (time.time() - KEPT_SECONDS - 1,)
        )
        other.remember_question(1, 14, "And Poland?")
        kept = archive.store.db.rows("SELECT chat_id, message_id FROM chat_questions ORDER BY 1, 2")
        assert kept == [(1, 14), (2, 12)]
    finally:
        other.close()
