"""What one alert pass costs: N topics against a refresh of M new articles (real news text).

    .venv/bin/python scripts/bench_alerts.py --topics 10000 --articles 100

Builds a throwaway archive from the RealTime QA corpus (--corpus): --base articles first, then
--topics synthetic topics (three to six consecutive words of other articles' titles, or the
corpus' own quiz questions), spread over chats four to a chat, then --articles new articles,
and times the matching pass over the new passages (dry run: nothing recorded). Prints the
figures, the load average, and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from index.alerts.alerts import Alerts
from index.archive import Archive
from index.ingest.files import read_file
from index.settings import Settings

CORPUS = Path("/work/shared/bench/realtimeqa")


def synthetic_topics(titles: list[str], questions: list[str], count: int) -> list[str]:
    """Topics made of real words: pieces of headlines, and quiz questions."""
    rng = random.Random(20261201)
    topics = list(questions[: count // 10])
    while len(topics) < count:
        words = rng.choice(titles).split()
        size = min(len(words), rng.randint(3, 6))
        start = rng.randint(0, len(words) - size)
        topics.append(" ".join(words[start : start + size]))
    return topics


def main() -> None:
    """Build, subscribe, import, time the pass."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=100)
    parser.add_argument("--base", type=int, default=200)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    drafts = list(read_file(args.corpus / "articles.jsonl").drafts)
    with (args.corpus / "questions.jsonl").open() as lines:
        questions = [json.loads(line)["question"] for line in lines]
    base, new = drafts[: args.base], drafts[args.base : args.base + args.articles]
    others = [d.title for d in drafts[args.base + args.articles :] if len(d.title.split()) >= 3]
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(_env_file=None, data_dir=Path(folder))  # type: ignore[call-arg]
        archive = Archive(settings)
        archive.add_drafts(base)
        alerts = Alerts(archive)
        topics = synthetic_topics(others, questions, args.topics)
        start = time.perf_counter()
        vectors = archive.embedder.embed_queries(topics)
        embed_s = time.perf_counter() - start
        for number, (topic, vector) in enumerate(zip(topics, vectors, strict=True)):
            alerts.subscriptions.add(number // 4, number, topic, vector, archive.embedder.name)
        report = archive.add_drafts(new)
        passages = alerts.subscriptions.last_chunk() - (alerts.subscriptions.upto() or 0)
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            deliveries = alerts.pending(commit=False)
            timings.append(time.perf_counter() - start)
        figures = {
            "topics": len(topics),
            "new_articles": report.added,
            "new_passages": passages,
            "pass_ms_best_of_3": round(min(timings) * 1000, 1),
            "pass_ms_first": round(timings[0] * 1000, 1),
            "chats_alerted": len(deliveries),
            "stories_sent": sum(len(d.alerts) for d in deliveries),
            "topic_embedding_ms_each": round(embed_s * 1000 / len(topics), 2),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(),
        }
        alerts.close()
        archive.close()
    for key, value in figures.items():
        print(f"{key:>26}: {value}")
    print(json.dumps({"bench": "alerts", **figures}))


if __name__ == "__main__":
    main()
