"""A crowd of users asking at once through the fake Bot API server: the load test's run."""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bot.app import build_application
from bot.handlers import APOLOGY
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
    """What the crowd got: replies per user, how long each took, the machine's load after."""

    users: int
    per_user: int
    limit: int
    send_per_second: float
    answers: dict[int, list[str]]
    latencies: list[float]
    seconds: float  # from the first question sent to the last first reply
    cpu_seconds: float  # this process's (bot, server and crowd) from the first question on
    load_average: tuple[float, float, float]

    def figures(self) -> dict[str, object]:
        """The summary a benchmark prints."""
        ordered = sorted(self.latencies)
        texts = [text for user_texts in self.answers.values() for text in user_texts]
        notices = sum(LIMIT_NOTICE in text for text in texts)
        apologies = sum(APOLOGY in text for text in texts)
        answered = len(texts) - notices - apologies
        return {
            "users": self.users,
            "questions_per_user": self.per_user,
            "limit_per_minute": self.limit,
            "replies": len(self.latencies),
            "answers": answered,
            "limit_notices": notices,
            "apologies": apologies,
            "send_per_second": self.send_per_second,
            "answers_per_s": round(answered / self.seconds, 1),
            "p50_s": round(statistics.median(ordered), 3),
            "p95_s": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
            "max_s": round(ordered[-1], 3),
            "wall_s": round(self.seconds, 2),
            "cpu_ms_per_reply": round(1000 * self.cpu_seconds / len(self.latencies), 2),
            "load_average": [round(load, 2) for load in self.load_average],
        }


def crowd(
    data_dir: Path,
    embedder: TextEmbedder,
    users: int,
    per_user: int,
    limit: int,
    send_per_second: float = Settings.model_fields["send_per_second"].default,
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
            send_per_second=send_per_second,
        )
        with Archive(settings, embedder=embedder) as archive:
            archive.seed()
            archive.add_drafts(
                ArticleDraft(title=s.title, text=s.text) for s in map(story, range(per_user - 1))
            )
            with RunningBot(build_application(settings, archive)):
                sent: dict[int, list[tuple[Json, float]]] = {}
                cpu = _cpu_seconds()
                with fake.together():  # all of them in the bot's next getUpdates
                    for user in range(10_000, 10_000 + users):
                        sent[user] = [(fake.send(q, user), time.monotonic()) for q in questions]
                _wait_for_replies(fake, [m for pairs in sent.values() for m, _ in pairs])
                cpu, load_average = _cpu_seconds() - cpu, os.getloadavg()
    replied = {
        user: [(fake.replies_now(message)[0], at) for message, at in pairs]
        for user, pairs in sent.items()
    }
    latencies = [first.at - at for pairs in replied.values() for first, at in pairs]
    first_sent = min(at for pairs in sent.values() for _, at in pairs)
    seconds = max(first.at for pairs in replied.values() for first, _ in pairs) - first_sent
    answers = {user: [first.text for first, _ in pairs] for user, pairs in replied.items()}
    return LoadResult(
        users, per_user, limit, send_per_second, answers, latencies, seconds, cpu, load_average
    )


def _cpu_seconds() -> float:
    """User and system CPU seconds this process has used."""
    times = os.times()
    return times.user + times.system


def _wait_for_replies(fake: FakeTelegram, messages: list[Json]) -> None:
    """Block until the bot has replied to every message."""
    waiting = list(messages)

    def all_replied() -> bool:
        # Replied messages leave the end of the list, so a wake-up looks at few of them.
        while waiting and fake.replies_now(waiting[-1]):
            waiting.pop()
        return not waiting

    fake.wait(all_replied, timeout=600)
