"""A crowd of users asking at once through the fake Bot API server: the load test's run."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bot.app import build_application
from index.archive import Archive
from index.embed.factory import TextEmbedder
from index.records import ArticleDraft
from index.settings import Settings
from testkit.running import RunningBot
from testkit.stories import SEED_QUESTION, story
from testkit.telegram import FakeTelegram, Json

LIMIT_NOTICE = "which is my limit"


@dataclass(frozen=True)
class LoadResult:
    """What the crowd got: replies per user, and how long each reply took."""

    users: int
    per_user: int
    limit: int
    answers: dict[int, list[str]]
    latencies: list[float]
    seconds: float

    def figures(self) -> dict[str, object]:
        """The summary a benchmark prints."""
        ordered = sorted(self.latencies)
        answered = sum(1 for texts in self.answers.values() for t in texts if LIMIT_NOTICE not in t)
        return {
            "users": self.users,
            "questions_per_user": self.per_user,
            "limit_per_minute": self.limit,
            "replies": len(self.latencies),
            "answers": answered,
            "limit_notices": len(self.latencies) - answered,
            "p50_s": round(statistics.median(ordered), 3),
            "p95_s": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
            "max_s": round(ordered[-1], 3),
            "wall_s": round(self.seconds, 2),
        }


def crowd(
    data_dir: Path, embedder: TextEmbedder, users: int, per_user: int, limit: int
) -> LoadResult:
    """Start a bot over a small archive, let every user send all questions at once, wait."""
    questions = [SEED_QUESTION] + [story(n).question for n in range(per_user - 1)]
    with FakeTelegram() as fake:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=data_dir,
            telegram_bot_token=fake.token,
            telegram_api_url=fake.api_url,
            telegram_file_url=fake.file_url,
            questions_per_minute=limit,
        )
        with Archive(settings, embedder=embedder) as archive:
            archive.seed()
            archive.add_drafts(
                ArticleDraft(title=s.title, text=s.text) for s in map(story, range(per_user - 1))
            )
            with RunningBot(build_application(settings, archive)):
                started = time.monotonic()
                sent: dict[int, list[tuple[Json, float]]] = {}
                with fake.together():  # all of them in the bot's next getUpdates
                    for user in range(10_000, 10_000 + users):
                        sent[user] = [(fake.send(q, user), time.monotonic()) for q in questions]
                latencies = _wait_for_replies(fake, [m for pairs in sent.values() for m in pairs])
                seconds = time.monotonic() - started
                answers = {
                    user: [fake.replies_now(message)[0].text for message, _ in pairs]
                    for user, pairs in sent.items()
                }
    return LoadResult(users, per_user, limit, answers, latencies, seconds)


def _wait_for_replies(fake: FakeTelegram, sent: list[tuple[Json, float]]) -> list[float]:
    """Seconds from each message to the bot's first reply to it, noted as replies arrive."""
    waiting = dict(enumerate(sent))
    latencies: list[float] = []

    def progress() -> bool:
        for key, (message, at) in list(waiting.items()):
            if fake.replies_now(message):
                latencies.append(time.monotonic() - at)
                del waiting[key]
        return not waiting

    fake.wait(progress, timeout=600)
    return latencies
