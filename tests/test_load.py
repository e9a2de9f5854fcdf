"""Load: 100 users ask 5 questions each at once through the fake Bot API server.

Every question gets a reply: an answer, or the polite per-user limit notice once a user is
over the limit. Reply latency (p50/p95) is printed, never asserted: scripts/load_test.py
runs the same with everyone under the limit and prints the figures as JSON.
"""

from __future__ import annotations

from pathlib import Path

from bot.handlers import APOLOGY
from index.embed.factory import TextEmbedder
from testkit.crowd import LIMIT_NOTICE, crowd
from testkit.stories import SEED_TITLE


def test_a_hundred_users_at_once(tmp_path: Path, embedder: TextEmbedder) -> None:
    result = crowd(tmp_path / "data", embedder, users=100, per_user=5, limit=1)
    print(f"\nload: {result.figures()}")

    assert len(result.latencies) == 500  # every question got a reply
    for texts in result.answers.values():
        answers = [t for t in texts if LIMIT_NOTICE not in t]
        assert len(answers) == 1 and len(texts) == 5  # the limit held, politely
        assert all("[1]" in answer and APOLOGY not in answer for answer in answers), answers
    seed_answers = [t for texts in result.answers.values() for t in texts if SEED_TITLE in t]
    assert seed_answers
