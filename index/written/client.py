"""The one module that speaks to an OpenAI-compatible model: chat completions, whole or streamed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from index.errors import ArchiveError
from index.settings import Settings

# Servers on a laptop (llama.cpp, Ollama) take any key; the client insists on one.
NO_KEY = "not-needed"


class ModelCallFailed(ArchiveError):
    """The model did not give a usable answer; the reason never holds the key."""


@dataclass(frozen=True)
class Message:
    """One chat message for the model."""

    role: str
    content: str


class ModelClient:
    """Chat completions from one model, at most `max_concurrency` at a time, none retried."""

    def __init__(self, settings: Settings) -> None:
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else NO_KEY
        self.model = settings.llm_model
        self.max_tokens = settings.llm_max_tokens
        self.timeout = settings.llm_timeout_seconds
        self._client = AsyncOpenAI(
            base_url=settings.llm_base_url,
            api_key=key,
            timeout=settings.llm_timeout_seconds,
            max_retries=0,
        )
        self._slots = asyncio.Semaphore(settings.llm_max_concurrency)

    @property
    def busy(self) -> bool:
        """Every slot is taken: a new question would queue behind the model."""
        return self._slots.locked()

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()

    async def complete(self, messages: list[Message]) -> str:
        """The whole reply in one response."""
        async with self._slots:
            try:
                response = await self._client.chat.completions.create(
                    model=self.model,
                    messages=as_params(messages),
                    max_tokens=self.max_tokens,
                    temperature=0,
                )
            except Exception as error:
                raise ModelCallFailed(reason(error)) from error
        if not response.choices or not response.choices[0].message.content:
            raise ModelCallFailed("the model sent an empty reply")
        return response.choices[0].message.content

    async def stream(self, messages: list[Message]) -> AsyncGenerator[str, None]:
        """The reply in pieces as the model writes them."""
        async with self._slots:
            try:
                chunks = await self._client.chat.completions.create(
                    model=self.model,
                    messages=as_params(messages),
                    max_tokens=self.max_tokens,
                    temperature=0,
                    stream=True,
                )
                written = False
                async for chunk in chunks:
                    if chunk.choices and chunk.choices[0].delta.content:
                        written = True
                        yield chunk.choices[0].delta.content
            except Exception as error:
                raise ModelCallFailed(reason(error)) from error
        if not written:
            raise ModelCallFailed("the model sent an empty reply")


def as_params(messages: list[Message]) -> list[ChatCompletionMessageParam]:
    """Messages as the client takes them."""
    params: list[ChatCompletionMessageParam] = []
    for message in messages:
        if message.role == "system":
            params.append({"role": "system", "content": message.content})
        else:
            params.append({"role": "user", "content": message.content})
    return params


def reason(error: BaseException) -> str:
    """Why a call failed, in a few words for the log: status, timeout, refusal, bad data."""
    if isinstance(error, openai.APITimeoutError | asyncio.TimeoutError):
        return "the model did not answer in time"
    if isinstance(error, openai.APIConnectionError):
        return "could not connect to the model server"
    if isinstance(error, openai.APIStatusError):
        return f"the model server answered HTTP {error.status_code}"
    if isinstance(error, json.JSONDecodeError | openai.APIResponseValidationError | ValueError):
        return "the model server sent malformed data"
    return f"the model call failed ({type(error).__name__})"
