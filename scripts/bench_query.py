"""A question's cost on a real archive, stage by stage, against the bare model's floor.

    .venv/bin/python scripts/bench_query.py --data-dir DIR [--questions N] [--translated FILE]

DIR holds an imported archive (e.g. the RealTime QA corpus that `newsbot eval` imports).
Each question is asked on its own quiz date. The floor is what LangChain's FAISS store does
per query: sentence-transformers (torch) embeds the question and an exact FAISS search over
the same vectors returns 10 ids; it composes nothing. Run it on an otherwise idle machine:
the load average is printed beside the figures. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import faiss
import numpy as np
from sentence_transformers import SentenceTransformer

from index import Archive, Settings
from index.embed.sbert import bundled_model_path
from index.search.answer import select_hits

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "bench" / "realtimeqa"


def dated_questions(corpus: Path, count: int) -> list[tuple[str, date]]:
    """The first `count` quiz questions with the day each was asked."""
    rows = [json.loads(line) for line in (corpus / "questions.jsonl").open(encoding="utf-8")]
    return [(row["question"], date.fromisoformat(row["date"])) for row in rows[:count]]


def translated_questions(corpus: Path, translations: Path) -> list[tuple[str, date]]:
    """Translated questions (JSON Lines: id, question), each on its English question's day."""
    rows = [json.loads(line) for line in (corpus / "questions.jsonl").open(encoding="utf-8")]
    days = {str(row["id"]): date.fromisoformat(row["date"]) for row in rows}
    asked = [json.loads(line) for line in translations.open(encoding="utf-8") if line.strip()]
    return [(row["question"], days[str(row["id"])]) for row in asked]


def p(values: list[float], share: float) -> float:
    """The share-th percentile, rounded to 0.01."""
    return round(float(np.percentile(values, share * 100)), 2)


def ms_since(start: float) -> float:
    """Milliseconds since a perf_counter reading."""
    return (time.perf_counter() - start) * 1000


def floor_times(archive: Archive, asked: list[tuple[str, date]]) -> list[float]:
    """Bare sentence-transformers (torch) embedding plus exact FAISS search, k=10."""
    _, vectors = archive.vectors().export()
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(np.ascontiguousarray(vectors, dtype=np.float32))
    model = SentenceTransformer(str(bundled_model_path()), device="cpu")
    model.encode(["warm up"], normalize_embeddings=True)
    times = []
    for question, _ in asked:
        start = time.perf_counter()
        query = model.encode([question], normalize_embeddings=True)
        exact.search(np.asarray(query, dtype=np.float32), 10)
        times.append(ms_since(start))
    return times


def newsbot_times(archive: Archive, asked: list[tuple[str, date]]) -> dict[str, list[float]]:
    """Whole answers (`Archive.ask`), then each stage on its own."""
    model = getattr(archive.embedder, "inner", archive.embedder)  # past the remembering
    stages: dict[str, list[float]] = {"ask": [], "embed": [], "vector": [], "keyword": []}
    stages["compose"] = []
    archive.ask("warm up the caches", now=asked[0][1])
    for question, day in asked:
        start = time.perf_counter()
        archive.ask(question, now=day)
        stages["ask"].append(ms_since(start))
        start = time.perf_counter()
        model.embed_queries([question])
        stages["embed"].append(ms_since(start))
        ranking = archive.rank(question, now=day)  # the question's vector is remembered now
        stages["vector"].append(ranking.timings.dense)
        stages["keyword"].append(ranking.timings.keyword)
        settings = archive.settings
        hits = select_hits(list(ranking.hits), settings.top_k, settings.passages_per_article)
        start = time.perf_counter()
        archive.retriever.compose(question, hits, day)
        stages["compose"].append(ms_since(start))
    return stages


def main() -> None:
    """Parse the options, measure, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="an imported archive")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="RealTime QA JSONL folder")
    parser.add_argument("--questions", type=int, default=120, help="questions to ask")
    parser.add_argument(
        "--translated", type=Path, help="ask these translations (../shared/bench/xling) instead"
    )
    args = parser.parse_args()
    settings = Settings(_env_file=None, data_dir=args.data_dir)  # type: ignore[call-arg]
    asked = (
        translated_questions(args.corpus, args.translated)[: args.questions]
        if args.translated
        else dated_questions(args.corpus, args.questions)
    )
    archive = Archive.open(settings)
    try:
        stages = newsbot_times(archive, asked)
        floor = floor_times(archive, asked)
        figures: dict[str, object] = {
            "bench": "query",
            "passages": archive.counts().chunks,
            "backend": settings.embedding_backend,
            "questions": len(asked),
        }
    finally:
        archive.close()
    for name, values in stages.items():
        figures[f"{name}_p50_ms"] = p(values, 0.5)
    figures["ask_p95_ms"] = p(stages["ask"], 0.95)
    figures["floor_p50_ms"] = p(floor, 0.5)
    figures["ask_vs_floor"] = round(p(stages["ask"], 0.5) / p(floor, 0.5), 3)
    figures["load_average"] = [round(load, 2) for load in os.getloadavg()]
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
