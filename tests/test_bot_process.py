"""The bot as a process: start-up on an empty data dir, a cited answer, signals, no token."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import REPO, SEED_QUESTION, SEED_TITLE, cli_env

from bot.app import HANDLER_MODULES
from testkit.telegram import FakeTelegram


def start_bot(
    fake: FakeTelegram, tmp_path: Path, *command: str, **extra: str
) -> subprocess.Popen[str]:
    """The bot as a process on an empty data dir, polling the fake server, logging at DEBUG."""
    env = cli_env(
        tmp_path / "data",
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_URL=fake.api_url,
        TELEGRAM_FILE_URL=fake.file_url,
        ADMIN_IDS="1000",
        NEWSBOT_LOG_LEVEL="DEBUG",
        PYTHONPATH=str(REPO),
        **extra,
    )
    return subprocess.Popen(
        [sys.executable, *command],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_newsbot_bot_answers_the_seed_question_and_stops_on_sigterm(tmp_path: Path) -> None:
    with FakeTelegram() as fake, start_bot(fake, tmp_path, "-m", "cli", "bot") as bot:
        try:
            question = fake.send(SEED_QUESTION, 4242)
            (reply,) = fake.replies(question, timeout=300)
            bot.send_signal(signal.SIGTERM)
            _, stderr = bot.communicate(timeout=60)
        finally:
            bot.kill()

    assert bot.returncode == 0, stderr
    assert reply.text.startswith("The USA")
    assert f"[1] {SEED_TITLE}\nFinancial Times" in reply.text
    everyone = [c["command"] for c in fake.commands["default"]]
    admins = [c.name for module in HANDLER_MODULES for c in module.ADMIN_COMMANDS]
    assert everyone == [
        "ask",
        "help",
        "start",
        "subscribe",
        "subscriptions",
        "unsubscribe",
        "digest",
        "timeline",
        "trend",
        "language",
    ]
    assert [c["command"] for c in fake.commands["chat:1000"]] == everyone + admins
    assert "Traceback" not in stderr
    assert any(method == "deleteWebhook" for method, _ in fake.calls)
    assert (4242, "typing") in fake.actions
    assert "Answering as @newsbot_test_bot" in stderr
    assert fake.token.split(":")[1] not in stderr
    assert fake.rejected == []


@pytest.mark.parametrize("command", [["-m", "cli", "bot"], ["-m", "bot"]])
def test_bot_without_a_token_says_how_to_get_one(tmp_path: Path, command: list[str]) -> None:
    env = cli_env(tmp_path / "data", PYTHONPATH=str(REPO))

    result = subprocess.run(
        [sys.executable, *command], cwd=tmp_path, env=env, capture_output=True, text=True
    )

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "TELEGRAM_BOT_TOKEN" in lines[0] and "@BotFather" in lines[0]
    assert "make ask" in lines[0]
    assert not (tmp_path / "data").exists()


def test_python_m_bot_stops_on_sigint(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        listen = f"127.0.0.1:{probe.getsockname()[1]}"
    with (
        FakeTelegram() as fake,
        start_bot(fake, tmp_path, "-m", "bot", NEWSBOT_METRICS_LISTEN=listen) as bot,
    ):
        try:
            fake.wait(lambda: any(m == "getUpdates" for m, _ in fake.calls), timeout=300)
            health = httpx.get(f"http://{listen}/healthz", timeout=30)
            bot.send_signal(signal.SIGINT)
            _, stderr = bot.communicate(timeout=60)
        finally:
            bot.kill()

    assert bot.returncode == 0, stderr
    assert "Stopped." in stderr and "Traceback" not in stderr
    assert health.status_code == 200 and health.json()["passages"] > 0  # polling, with /healthz


def test_the_product_never_imports_the_testkit(tmp_path: Path) -> None:
    code = "import sys, bot.app, cli.main; print(sorted(m for m in sys.modules if 'testkit' in m))"
    env = cli_env(tmp_path / "data", PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
