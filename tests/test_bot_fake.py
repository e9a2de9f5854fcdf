"""The fake Bot API server answers PTB like Telegram does, refusals included."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, InvalidToken, RetryAfter

from testkit.telegram import FakeTelegram

Call = Callable[[Bot], Awaitable[Any]]


def with_bot(fake: FakeTelegram, call: Call, token: str | None = None) -> Any:
    """Run `call` with a real PTB Bot pointed at the fake server."""

    async def main() -> Any:
        bot = Bot(token or fake.token, base_url=fake.api_url, base_file_url=fake.file_url)
        async with bot:
            return await call(bot)

    return asyncio.run(main())


@pytest.fixture
def fake() -> Any:
    with FakeTelegram() as server:
        yield server


def test_messages_edits_actions_and_callback_answers(fake: FakeTelegram) -> None:
    async def call(bot: Bot) -> Any:
        sent = await bot.send_message(5, "<b>hi</b> &amp; bye", parse_mode="HTML")
        await bot.edit_message_text("<i>edited</i>", 5, sent.message_id, parse_mode="HTML")
        await bot.send_chat_action(5, "typing")
        await bot.answer_callback_query("q1", text="done")
        return sent

    sent = with_bot(fake, call)

    assert sent.text == "hi & bye"
    assert [s.text for s in fake.sent] == ["hi & bye", "edited"]
    assert fake.actions == [(5, "typing")]
    assert fake.callback_answers[0]["text"] == "done"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("x" * 4097, "Message is too long"),
        ("🙂" * 2049, "Message is too long"),
        ("<b>bold", "Can't find end tag"),
        ("<script>x</script>", "Unsupported start tag"),
        ("1 < 2", "can't parse entities"),
        (" ", "Message text is empty"),
    ],
)
def test_refuses_what_telegram_refuses(fake: FakeTelegram, text: str, error: str) -> None:
    with pytest.raises(BadRequest, match=f"(?i){error}"):
        with_bot(fake, lambda bot: bot.send_message(5, text, parse_mode="HTML"))

    assert fake.sent == [] and len(fake.rejected) == 1
    assert with_bot(fake, lambda bot: bot.send_message(5, "x" * 4096)).text == "x" * 4096


def test_refuses_callback_data_over_64_bytes(fake: FakeTelegram) -> None:
    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data=data)]])

    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        with_bot(fake, lambda bot: bot.send_message(5, "x", reply_markup=keyboard("é" * 33)))
    with_bot(fake, lambda bot: bot.send_message(5, "x", reply_markup=keyboard("é" * 32)))

    assert fake.sent[0].buttons == [("b", "é" * 32)]


def test_answers_429_once_when_told(fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    fake.fail_next("sendMessage", 5, 429, "Too Many Requests: retry after 3", retry_after=3)

    with pytest.raises(RetryAfter) as raised:
        with_bot(fake, lambda bot: bot.send_message(5, "x"))
    with_bot(fake, lambda bot: bot.send_message(5, "x"))

    assert raised.value.retry_after == dtm.timedelta(seconds=3)
    assert len(fake.sent) == 1


def test_wrong_token_is_refused(fake: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        with_bot(fake, lambda bot: bot.get_me(), token="1:wrong")


def test_get_file_and_download(fake: FakeTelegram) -> None:
    file_id = fake.add_file("notes.md", b"# Title\n\nbody")

    async def call(bot: Bot) -> bytes:
        file = await bot.get_file(file_id)
        return bytes(await file.download_as_bytearray())

    assert with_bot(fake, call) == b"# Title\n\nbody"
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        with_bot(fake, lambda bot: bot.get_file("nope"))


def test_get_updates_long_polls_until_a_message_arrives(fake: FakeTelegram) -> None:
    async def call(bot: Bot) -> Any:
        waiting = asyncio.create_task(bot.get_updates(timeout=30))
        await asyncio.sleep(0.2)
        await asyncio.to_thread(fake.send, "/ask@newsbot_test_bot hi @someone", 77)
        updates = await waiting
        again = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
        return updates, again

    updates, again = with_bot(fake, call)

    message = updates[0].message
    assert message.text == "/ask@newsbot_test_bot hi @someone"
    assert [e.type for e in message.entities] == ["bot_command", "mention"]
    assert message.parse_entities(["mention"]) and again == ()
