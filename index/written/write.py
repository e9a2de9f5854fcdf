"""A written answer: the model writes from the cited passages, and only checked sentences stay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace

from index.embed.factory import TextEmbedder
from index.records import Answer, Sentence
from index.written.check import Checker, Verdict, complete_sentences, parse_sentence
from index.written.client import ModelCallFailed, ModelClient
from index.written.prompt import build_messages

log = logging.getLogger(__name__)

Progress = Callable[[Answer], Awaitable[None]]


@dataclass(frozen=True)
class Written:
    """What was sent: the written answer ("llm") or the extractive one, and what was dropped."""

    answer: Answer
    mode: str
    dropped: tuple[Verdict, ...] = ()
    reason: str = ""
    text: str = ""  # what the model wrote, unchecked: for logs and the smoke test only


# Runs a check (a model call) off the event loop: the bot passes its bounded archive executor.
Offload = Callable[..., Awaitable[Verdict]]


class Writing:
    """Sentences checked as they arrive; `answer` holds only the supported ones."""

    def __init__(
        self, checker: Checker, extractive: Answer, progress: Progress | None, offload: Offload
    ) -> None:
        self.checker = checker
        self.extractive = extractive
        self.progress = progress
        self.offload = offload
        self.kept: list[Sentence] = []
        self.dropped: list[Verdict] = []
        self.pending = ""
        self.text = ""

    @property
    def answer(self) -> Answer:
        """The supported sentences so far under the extractive answer's citations."""
        return replace(self.extractive, sentences=tuple(self.kept))

    async def add(self, piece: str) -> None:
        """More text from the model; each finished sentence is checked, then shown if it holds."""
        self.text += piece
        finished, self.pending = complete_sentences(self.pending + piece)
        for raw in finished:
            await self.judge(raw)

    async def judge(self, raw: str) -> None:
        """Check one sentence off the event loop; keep it, or note why it was dropped."""
        verdict = await self.offload(self.checker.check, parse_sentence(raw))
        if verdict.supported_by is None:
            self.dropped.append(verdict)
            return
        self.kept.append(Sentence(verdict.sentence.text, verdict.supported_by))
        if self.progress is not None:
            await self.progress(self.answer)

    async def finish(self) -> None:
        """The model is done: the last sentence needs no successor to count as finished."""
        rest, self.pending = self.pending, ""
        if rest.strip():
            await self.judge(rest)


async def write_answer(
    client: ModelClient,
    embedder: TextEmbedder,
    extractive: Answer,
    passages: Mapping[int, str],
    *,
    stream: bool = True,
    progress: Progress | None = None,
    offload: Offload = asyncio.to_thread,
) -> Written:
    """The model's answer with unsupported sentences dropped; the extractive one when it fails."""
    if not extractive.found or not passages:
        return Written(extractive, "extractive", reason="nothing clears the relevance floor")
    if client.busy:
        return fallback(extractive, "every model slot is busy")
    writing = Writing(Checker(embedder, passages), extractive, progress, offload)
    messages = build_messages(extractive.question, passages)
    try:
        async with asyncio.timeout(client.timeout):
            if stream:
                async with contextlib.aclosing(client.stream(messages)) as pieces:
                    async for piece in pieces:
                        await writing.add(piece)
            else:
                await writing.add(await client.complete(messages))
            await writing.finish()
    except TimeoutError:
        return fallback(extractive, "the model did not answer in time", writing)
    except ModelCallFailed as error:
        return fallback(extractive, str(error), writing)
    if not writing.kept:
        return fallback(extractive, "no written sentence is supported", writing)
    return Written(writing.answer, "llm", tuple(writing.dropped), text=writing.text)


def fallback(extractive: Answer, reason: str, writing: Writing | None = None) -> Written:
    """The extractive answer, with the reason logged."""
    log.warning("Written answer not used, sending the extractive one: %s", reason)
    if writing is None:
        return Written(extractive, "extractive", reason=reason)
    return Written(extractive, "extractive", tuple(writing.dropped), reason, writing.text)
