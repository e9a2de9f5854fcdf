"""A written answer in Telegram: one message grows by checked sentences, then gets its sources."""

from __future__ import annotations

import asyncio
import functools
import logging
import time

from telegram import InlineKeyboardMarkup, Message, ReplyParameters
from telegram.error import BadRequest, TelegramError

from bot import metrics, render
from bot.context import Context, run_archive
from bot.sending import deliver, retried
from index.records import Answer
from index.written.write import write_answer

log = logging.getLogger(__name__)

EDIT_EVERY_SECONDS = 1.0  # Telegram allows about one edit a second per chat


class GrowingReply:
    """One reply message, edited at most once a second; the final edit adds the sources."""

    def __init__(self, asked: Message, note: str) -> None:
        self.asked = asked
        self.note = note
        self.sent: Message | None = None
        self.shown = ""
        self.last_edit = 0.0

    def html(self, body: str) -> str:
        """The note, if any, above the body."""
        return f"{self.note}\n\n{body}" if self.note else body

    async def show(self, answer: Answer) -> None:
        """The checked sentences so far, unless the last edit was under a second ago."""
        if time.monotonic() - self.last_edit < EDIT_EVERY_SECONDS:
            return
        text = render.split_html(self.html(render.text(answer.text) + " …"))[0]
        await self.put(text)

    async def put(self, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
        """Send the first version, or edit the message to `text`."""
        if text == self.shown and keyboard is None:
            return
        chat_id = self.asked.chat.id
        if self.sent is None:  # with the retries and fallbacks every answer gets
            self.sent = await deliver(
                self.asked.get_bot(),
                chat_id,
                text,
                reply_markup=keyboard,
                reply_parameters=ReplyParameters(
                    self.asked.message_id, allow_sending_without_reply=True
                ),
                message_thread_id=(
                    self.asked.message_thread_id if self.asked.is_topic_message else None
                ),
            )
        else:
            sent = self.sent
            try:
                await retried(chat_id, lambda: sent.edit_text(text, reply_markup=keyboard))
            except BadRequest as error:  # "message is not modified" and the like
                log.warning("Could not edit the growing reply: %s", error)
        self.shown, self.last_edit = text, time.monotonic()

    async def finish(self, parts: list[str], keyboard: InlineKeyboardMarkup | None) -> None:
        """The whole answer: the first part into the message, the rest as new replies."""
        wait = EDIT_EVERY_SECONDS - (time.monotonic() - self.last_edit)
        if self.sent is not None and wait > 0:
            await asyncio.sleep(wait)
        for number, part in enumerate(parts, start=1):
            if number > 1:  # the rest of a long answer goes out as new replies
                self.sent, self.shown = None, ""
            await self.put(part, keyboard if number == len(parts) else None)


async def send_written(
    asked: Message, extractive: Answer, context: Context, note: str, k: int
) -> None:
    """The model's checked answer, growing as it is written; the extractive one if it fails."""
    data = context.bot_data
    assert data.writer is not None
    passages = await run_archive(context, data.archive.cited_passages, extractive)
    reply = GrowingReply(asked, note)
    try:
        written = await write_answer(
            data.writer,
            data.archive.embedder,
            extractive,
            passages,
            progress=reply.show,
            offload=functools.partial(run_archive, context),
        )
    except TelegramError as error:  # an edit failed mid-way: the final answer still goes out
        log.warning("Streaming the written answer failed: %s", error)
        written_answer = extractive
    else:
        written_answer = written.answer
        if written.mode != "llm":
            metrics.MODEL_FALLBACKS.labels(reason=metrics.fallback_reason(written.reason)).inc()
    body = render.answer_html(written_answer)
    parts = render.split_html(reply.html(body))
    await reply.finish(parts, render.answer_keyboard(written_answer, 0, k))
