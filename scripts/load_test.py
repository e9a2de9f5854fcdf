"""Load benchmark: N users ask M questions each at once through the fake Bot API server.

Prints one JSON object: replies, answers, limit notices, answers a second (from the first
question to the last reply), p50/p95/max reply latency, CPU per answer and the load average.
The bot runs as in production: the embedder EMBEDDING_BACKEND names, which remembers recent
questions (all users ask the same few; `--uncached` embeds each one), and at most
NEWSBOT_SEND_PER_SECOND (30, Telegram's limit) requests a second to chats, so with hundreds of
replies that limit, not the archive, sets the pace; `--send-rate 0` lifts it to measure the
bot and the archive themselves.
Usage: .venv/bin/python scripts/load_test.py [--users 100] [--questions 5] [--limit 5]
       [--send-rate 30] [--uncached]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The ONNX export is kept between runs, where the tests keep theirs.
os.environ.setdefault(
    "NEWSBOT_MODEL_CACHE", str(Path(tempfile.gettempdir()) / "newsbot-test-models")
)

from index.embed.factory import Remembering, open_embedder  # noqa: E402
from index.settings import Settings  # noqa: E402
from testkit.crowd import crowd  # noqa: E402


def main() -> None:
    """Run the crowd once and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--questions", type=int, default=5, help="questions per user")
    parser.add_argument("--limit", type=int, default=5, help="NEWSBOT_QUESTIONS_PER_MINUTE")
    parser.add_argument(
        "--send-rate",
        type=float,
        default=Settings.model_fields["send_per_second"].default,
        help="NEWSBOT_SEND_PER_SECOND; 0 = no limit",
    )
    parser.add_argument("--uncached", action="store_true", help="embed every question")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(_env_file=None, data_dir=Path(folder) / "data")  # type: ignore[call-arg]
        embedder = open_embedder(settings)
        if args.uncached and isinstance(embedder, Remembering):
            embedder = embedder.inner
        result = crowd(
            settings.data_dir, embedder, args.users, args.questions, args.limit, args.send_rate
        )
    print(json.dumps(result.figures()))


if __name__ == "__main__":
    main()
