"""The embedding models side by side: passages a second, question p50, bytes a passage.

    .venv/bin/python scripts/bench_embedders.py --passages 400 --questions 60

Designs: (a) multilingual-e5-small int8 for everything; (b) all-MiniLM-L6-v2 (fp32 ONNX,
today's default) for English plus an e5 vector per passage. Passages are the RealTime QA
corpus's articles chunked as newsbot chunks them; questions are its quiz questions. Run it
on an otherwise idle machine: the load average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from index.embed.factory import TextEmbedder, open_embedder
from index.ingest.chunking import chunk_text
from index.settings import Settings

BENCH = Path(__file__).resolve().parent.parent.parent / "shared" / "bench" / "realtimeqa"


def _rate(embedder: TextEmbedder, passages: list[str], questions: list[str]) -> tuple[float, float]:
    """(passages a second, question p50 in ms)."""
    embedder.embed_queries(["warm up"])
    start = time.perf_counter()
    embedder.embed_passages(passages)
    rate = len(passages) / (time.perf_counter() - start)
    times = []
    for question in questions:
        began = time.perf_counter()
        embedder.embed_queries([question + " "])  # past the remembered vectors
        times.append((time.perf_counter() - began) * 1000)
    return rate, statistics.median(times)


def main() -> None:
    """Measure both models, then print both designs."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=400)
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--bench", type=Path, default=BENCH)
    args = parser.parse_args()
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    minilm = settings.model_copy(update={"embedding_model": "all-MiniLM-L6-v2"})
    models = {"minilm": open_embedder(minilm)}
    e5 = settings.model_copy(update={"embedding_model": "multilingual-e5-small"})
    models["e5"] = open_embedder(e5)
    counter = models["minilm"]
    passages: list[str] = []
    with (args.bench / "articles.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            text = json.loads(line)["text"]
            drafts = chunk_text(
                text, counter.token_spans, settings.chunk_tokens, settings.chunk_overlap
            )
            passages += [draft.text for draft in drafts]
            if len(passages) >= args.passages:
                break
    passages = passages[: args.passages]
    with (args.bench / "questions.jsonl").open(encoding="utf-8") as lines:
        questions = [json.loads(line)["question"] for line in lines][: args.questions]
    figures = {name: _rate(model, passages, questions) for name, model in models.items()}
    (mini_rate, mini_p50), (e5_rate, e5_p50) = figures["minilm"], figures["e5"]
    both = 1 / (1 / mini_rate + 1 / e5_rate)
    rows = {
        "today (MiniLM fp32)": (mini_rate, mini_p50, 384 * 4),
        "(a) e5 int8 for all": (e5_rate, e5_p50, 384 * 4),
        "(b) MiniLM + e5 vector": (both, mini_p50 + e5_p50, 2 * 384 * 4),
    }
    print(f"load average {os.getloadavg()[0]:.2f}; {len(passages)} passages")
    for name, (rate, p50, size) in rows.items():
        print(f"{name:>24}: {rate:6.1f} passages/s, question embed p50 {p50:5.1f} ms, {size} B")
        print(json.dumps({"design": name, "passages_s": rate, "p50_ms": p50, "bytes": size}))


if __name__ == "__main__":
    main()
