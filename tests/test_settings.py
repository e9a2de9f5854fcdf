"""Settings: every field documented in .env.example, ids parsed, ranges enforced."""

from __future__ import annotations

import pytest
from conftest import REPO
from pydantic import ValidationError

from index.settings import Settings


def test_env_example_lists_every_setting() -> None:
    example = (REPO / ".env.example").read_text()
    names = {
        line.split("=", 1)[0] for line in example.splitlines() if "=" in line and line[0] != "#"
    }

    assert names == {field.alias for field in Settings.model_fields.values()}


def test_admin_ids_are_numeric_and_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "12345, 678")

    assert Settings(_env_file=None).admin_ids == {12345, 678}  # type: ignore[call-arg]


def test_username_is_not_an_admin_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "@someone")

    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_out_of_range_values_are_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, top_k=0)  # type: ignore[call-arg]


def test_token_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:SECRET")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert "SECRET" not in repr(settings)
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == "123:SECRET"
