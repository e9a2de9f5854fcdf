"""Two bot processes on one archive behind a round-robin proxy, updates by webhook."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, SEED_QUESTION, cli_env

from testkit.proxy import RoundRobin
from testkit.telegram import FakeTelegram, Json
from testkit.webhook import SECRET_HEADER

SECRET = "replica-test-secret_0123456789"
USERS = 50
PER_USER = 4
# The engine is a parameter: PostgreSQL is the tests' own server (conftest's `postgres`).
ENGINES = ["sqlite", "postgresql"]


@dataclass
class Cluster:
    """The fake Bot API, the proxy in front of the replicas, and the replicas' processes."""

    fake: FakeTelegram
    proxy: RoundRobin
    ports: list[int]
    bots: list[subprocess.Popen[bytes]]
    logs: list[Path]

    def get(self, replica: int, path: str) -> tuple[int, str]:
        """GET a path on one replica directly: status and body."""
        url = f"http://127.0.0.1:{self.ports[replica]}{path}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode()

    def log(self, replica: int) -> str:
        """What the replica logged so far."""
        return self.logs[replica].read_text()


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(cluster: Cluster, replica: int, timeout: float = 240.0) -> None:
    """Block until the replica answers /healthz with 200; fail with its log if it dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert cluster.bots[replica].poll() is None, cluster.log(replica)
        try:
            if cluster.get(replica, "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"replica {replica} never became healthy:\n{cluster.log(replica)}")


@pytest.fixture(scope="module", params=ENGINES)
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Two replicas on one archive; the first seeds it, the second starts once it is healthy."""
    folder = tmp_path_factory.mktemp("replicas")
    engine = {}
    if request.param == "postgresql":
        engine["NEWSBOT_DATABASE_URL"] = request.getfixturevalue("postgres").new_database()
    ports = [free_port(), free_port()]
    with (
        FakeTelegram() as fake,
        RoundRobin([("127.0.0.1", port) for port in ports]) as proxy,
    ):
        fake.webhook_retry_seconds = 0.05
        env = cli_env(
            folder / "data",
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_URL=fake.api_url,
            TELEGRAM_FILE_URL=fake.file_url,
            NEWSBOT_WEBHOOK_URL=f"http://127.0.0.1:{proxy.port}/telegram",
            NEWSBOT_WEBHOOK_SECRET=SECRET,
            NEWSBOT_QUESTIONS_PER_MINUTE="100",
            PYTHONPATH=str(REPO),
            **engine,
        )
        running = Cluster(fake, proxy, ports, [], [folder / "a.log", folder / "b.log"])
        try:
            for replica, port in enumerate(ports):
                with running.logs[replica].open("wb") as log:
                    running.bots.append(
                        subprocess.Popen(
                            [sys.executable, "-m", "bot"],
                            cwd=folder,
                            env={**env, "NEWSBOT_WEBHOOK_LISTEN": f"127.0.0.1:{port}"},
                            stdout=log,
                            stderr=subprocess.STDOUT,
                        )
                    )
                wait_healthy(running, replica)
            yield running
        finally:
            for bot in running.bots:
                bot.send_signal(signal.SIGTERM)
            for bot in running.bots:
                try:
                    bot.wait(60)
                except subprocess.TimeoutExpired:
                    bot.kill()


def ask_crowd(fake: FakeTelegram, first_user: int) -> list[Json]:
    """USERS users each ask PER_USER questions at once."""
    return [
        fake.send(SEED_QUESTION, user)
        for _ in range(PER_USER)
        for user in range(first_user, first_user + USERS)
    ]


def answered(fake: FakeTelegram, questions: list[Json], timeout: float = 120.0) -> list[int]:
    """Once every question has a reply: how many replies each got."""
    fake.wait(lambda: all(fake.replies_now(q) for q in questions), timeout)
    time.sleep(0.5)  # a duplicate would follow its twin within moments
    return [len(fake.replies_now(q)) for q in questions]


def test_the_webhook_is_set_once_and_refuses_requests_without_the_secret(
    cluster: Cluster,
) -> None:
    fake = cluster.fake
    forged = {
        "update_id": 999_999,
        "message": {
            "message_id": 999_999,
            "date": int(time.time()),
            "chat": {"id": 777, "type": "private", "first_name": "Eve"},
            "from": {"id": 777, "is_bot": False, "first_name": "Eve"},
            "text": SEED_QUESTION,
        },
    }
    statuses = []
    for headers in ({}, {SECRET_HEADER: "guessed"}):
        request = urllib.request.Request(
            f"http://127.0.0.1:{cluster.ports[0]}/telegram",
            json.dumps(forged).encode(),
            {"Content-Type": "application/json", **headers},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        statuses.append(refused.value.code)
        refused.value.close()
    time.sleep(1.0)

    assert statuses == [403, 403]
    assert fake.in_chat(777) == []
    assert [method for method, _ in fake.calls].count("setWebhook") == 1
    assert fake.webhook is not None and fake.webhook.secret == SECRET
    assert "Webhook already set" in cluster.log(1)
    assert SECRET not in cluster.log(0) + cluster.log(1)


def test_two_hundred_questions_from_fifty_users_are_each_answered_once(cluster: Cluster) -> None:
    questions = ask_crowd(cluster.fake, 20_000)

    replies = answered(cluster.fake, questions)

    assert replies == [1] * len(questions)
    firsts = [cluster.fake.replies_now(q)[0].text for q in questions]
    assert all(text.startswith("The USA") for text in firsts)
    assert all(cluster.proxy.forwarded[("127.0.0.1", port)] >= 50 for port in cluster.ports)


def test_health_and_metrics_read_the_replica_and_its_archive(cluster: Cluster) -> None:
    status, body = cluster.get(0, "/healthz")
    metrics_status, metrics = cluster.get(0, "/metrics")

    assert status == 200
    health = json.loads(body)
    assert health["ok"] is True and health["articles"] >= 1 and health["passages"] >= 1
    assert metrics_status == 200
    lines = metrics.splitlines()
    assert f"newsbot_archive_passages {float(health['passages'])}" in lines
    answered_here = next(
        float(line.split()[-1])
        for line in lines
        if line.startswith('newsbot_questions_total{outcome="answered"}')
    )
    assert answered_here >= 50
    assert any(line.startswith('newsbot_answer_seconds_bucket{kind="new",le="') for line in lines)
    assert "newsbot_webhook_refused_total 2.0" in lines
    assert "newsbot_cache_lag_vectors 0.0" in lines


def test_a_follow_up_answered_by_the_other_replica_is_read_in_context(cluster: Cluster) -> None:
    fake, proxy, user = cluster.fake, cluster.proxy, 40_000
    backends = [("127.0.0.1", port) for port in cluster.ports]

    def handled(since: list[int]) -> int:
        """The replica the proxy passed the one update since `since` to."""
        fake.wait(lambda: sum(proxy.forwarded[b] for b in backends) > sum(since), timeout=30)
        return next(n for n, b in enumerate(backends) if proxy.forwarded[b] > since[n])

    before = [proxy.forwarded[b] for b in backends]
    (first,) = fake.replies(fake.send(SEED_QUESTION, user))
    first_by = handled(before)
    before = [proxy.forwarded[b] for b in backends]
    follow_up = fake.send("and France?", user)
    (second,) = fake.replies(follow_up)
    second_by = handled(before)
    fake.press(second, "more:3", user)  # "More ▸" lands on the first replica again
    _, more = fake.replies(follow_up, count=2)

    assert first_by != second_by  # round robin: the follow-up went to the other replica
    assert "Taking it as" not in first.text
    assert second.text.startswith("Taking it as: What did France offer Ukraine?\n"), second.text
    assert "“What did France offer Ukraine?”" in more.text, more.text


def test_a_replica_killed_mid_crowd_loses_nothing_telegram_redelivers(cluster: Cluster) -> None:
    fake = cluster.fake
    assert fake.webhook is not None
    started = time.monotonic()
    questions = ask_crowd(fake, 30_000)
    fake.wait(lambda: sum(bool(fake.replies_now(q)) for q in questions) >= 50, timeout=120)
    before_kill = sum(bool(fake.replies_now(q)) for q in questions)
    killed_at = time.monotonic()
    cluster.bots[1].send_signal(signal.SIGKILL)

    replies = answered(fake, questions)

    redelivered = {a.update_id for a in fake.webhook.attempts if a.status != 200 and a.at > started}
    twice = sum(count > 1 for count in replies)
    last = max(s.at for q in questions for s in fake.replies_now(q))
    print(  # the figures the README quotes
        f"\nreplica killed with {before_kill} of {len(questions)} answered: all "
        f"{len(questions)} answered {last - killed_at:.1f} s after the kill; "
        f"{len(redelivered)} redelivered, {twice} answered twice"
    )
    assert all(count >= 1 for count in replies)
    assert redelivered  # the dead replica's share went to the live one
    assert twice <= len(redelivered)
    assert cluster.get(0, "/healthz")[0] == 200
