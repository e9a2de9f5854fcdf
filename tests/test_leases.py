"""Leases and the shared question limit, on both engines: scheduled work runs on one process."""

from __future__ import annotations

import time

import pytest

from index.settings import Settings
from index.storage.leases import Leases
from index.storage.store import Store

pytestmark = pytest.mark.engines


def _store(settings: Settings) -> Store:
    return Store(settings.database_url or settings.data_dir / "archive.sqlite3")


def test_one_holder_at_a_time_and_a_lapsed_lease_changes_hands(settings: Settings) -> None:
    first, second = _store(settings), _store(settings)
    try:
        one, other = Leases(first.db), Leases(second.db)

        assert one.take("scheduler", "a:1", 0.5) == "a:1"
        assert other.take("scheduler", "b:2", 0.5) == "a:1"
        assert one.take("scheduler", "a:1", 0.5) == "a:1"  # renewing keeps it
        time.sleep(0.6)  # the holder died: its lease lapses
        assert other.take("scheduler", "b:2", 30) == "b:2"
        assert one.take("scheduler", "a:1", 30) == "b:2"
        other.release("scheduler", "b:2")
        assert one.take("scheduler", "a:1", 30) == "a:1"
    finally:
        first.close()
        second.close()


def test_the_question_limit_is_shared_between_processes(settings: Settings) -> None:
    first, second = _store(settings), _store(settings)
    try:
        one, other = Leases(first.db), Leases(second.db)

        assert one.ask(7, 2, 60) == 0
        assert other.ask(7, 2, 60) == 0
        assert 58 < one.ask(7, 2, 60) <= 60  # the third in a minute, asked of either
        assert other.ask(8, 2, 60) == 0  # another user is not held back
        time.sleep(0.05)
        assert other.ask(7, 2, 0.04) == 0  # once the window has passed
    finally:
        first.close()
        second.close()
