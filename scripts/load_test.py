"""Load benchmark: N users ask M questions each at once through the fake Bot API server.

Prints one JSON object: replies, answers, limit notices, p50/p95/max reply latency, wall time.
The bot runs as in production (PTB's AIORateLimiter keeps it under Telegram's ~30 messages a
second), so with hundreds of replies the flood limit, not the archive, sets the latency.
Usage: .venv/bin/python scripts/load_test.py [--users 100] [--questions 5] [--limit 5]
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

from index.embed.sbert import Embedder  # noqa: E402
from testkit.crowd import crowd  # noqa: E402


def main() -> None:
    """Run the crowd once and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--questions", type=int, default=5, help="questions per user")
    parser.add_argument("--limit", type=int, default=5, help="NEWSBOT_QUESTIONS_PER_MINUTE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        result = crowd(Path(folder) / "data", Embedder(), args.users, args.questions, args.limit)
    print(json.dumps(result.figures()))


if __name__ == "__main__":
    main()
