"""Secrets: the bot token stays out of logs and messages, even when requests fail."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import REPO, SEED_QUESTION
from prefork import Prefork
from pydantic import ValidationError
from test_bot_admin import AdminTelegram

from index.settings import Settings, settings_problem

ADMIN = 31337


def test_env_file_is_git_ignored() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", ".env"], cwd=REPO, capture_output=True, text=True
    )
    assert ignored.stdout.strip() == ".env"


def test_settings_never_show_the_token(tmp_path: Path) -> None:
    token = "424242:SecretPartThatMustNotLeak_123"
    settings = Settings(_env_file=None, data_dir=tmp_path, telegram_bot_token=token)  # type: ignore[call-arg]
    with pytest.raises(ValidationError) as bad:
        Settings(_env_file=None, telegram_bot_token=token, top_k="lots")  # type: ignore[call-arg]

    assert "SecretPart" not in repr(settings) and "SecretPart" not in str(settings)
    assert "SecretPart" not in settings_problem(bad.value)


def test_failing_requests_never_log_the_token(prefork: Prefork, tmp_path: Path) -> None:
    """A real bot process at DEBUG: a 500, a 429, a lost file, then the Bot API goes away."""
    log = tmp_path / "bot.log"
    log.touch()
    with AdminTelegram() as fake:
        env = {
            "NEWSBOT_DATA_DIR": str(tmp_path / "data"),
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.api_url,
            "TELEGRAM_FILE_URL": fake.file_url,
            "ADMIN_IDS": str(ADMIN),
            "NEWSBOT_LOG_LEVEL": "DEBUG",
        }
        pid = prefork.start(["bot"], env, log)
        try:
            # Five 500s: every try fails, and the bot logs the lost answer with its traceback.
            fake.fail_next("sendMessage", 501, 500, "Internal Server Error", times=5)
            fake.send(SEED_QUESTION, 501)
            fake.wait(lambda: not fake.failures, timeout=300)
            fake.fail_next("sendMessage", 502, 429, "Too Many Requests: retry after 1", 1)
            fake.replies(fake.send(SEED_QUESTION, 502))
            upload = fake.send_document("notes.txt", b"Title\n\nSome text to import.", ADMIN)
            fake.files.clear()  # the file is gone before the bot can download it
            fake.replies(upload)
        except BaseException:
            os.kill(pid, signal.SIGKILL)
            raise
    # The fake Bot API is gone now: polling fails before the bot is stopped.
    deadline = time.monotonic() + 120  # a hang guard, not a speed test
    while "NetworkError" not in log.read_text(errors="replace") and time.monotonic() < deadline:
        time.sleep(0.2)
    os.kill(pid, signal.SIGTERM)
    prefork.wait(pid)

    said = log.read_text(errors="replace")
    secret = fake.token.split(":", 1)[1]
    assert "NetworkError" in said and "Traceback" in said  # it did log the failures
    assert secret not in said
