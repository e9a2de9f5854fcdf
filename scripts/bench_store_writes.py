"""The database's share of an import: storing articles with their passages and vectors.

The same articles, chunked as an import chunks them, are stored in a fresh archive on each
engine with vectors made up beforehand (no model call is timed), one transaction an article as
the importer does. Prints passages/s a engine and PostgreSQL's rate against SQLite's.
Usage: .venv/bin/python scripts/bench_store_writes.py [--articles 200] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from bench_postgres import BenchServer

from index.embed.factory import open_embedder
from index.ingest.chunking import chunk_text
from index.ingest.files import content_hash, read_file
from index.records import ArticleDraft, ChunkDraft
from index.settings import Settings
from index.storage.database import SQLITE_FILE
from index.storage.store import Store

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "bench" / "realtimeqa"


def prepared(limit: int, corpus: Path) -> list[tuple[ArticleDraft, list[ChunkDraft], np.ndarray]]:
    """The first articles of the corpus, chunked, each with unit vectors of MiniLM's size."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    embedder = open_embedder(settings)
    rng = np.random.default_rng(1)
    found = []
    for draft in read_file(corpus / "articles.jsonl").drafts[:limit]:
        pieces = chunk_text(
            draft.text, embedder.token_spans, settings.chunk_tokens, settings.chunk_overlap
        )
        vectors = rng.standard_normal((len(pieces), embedder.dim)).astype(np.float32)
        found.append((draft, pieces, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)))
    return found


def store_rate(
    target: str | Path, articles: list[tuple[ArticleDraft, list[ChunkDraft], np.ndarray]]
) -> float:
    """Passages a second stored in a fresh archive at `target`."""
    store = Store(target)
    try:
        start = time.perf_counter()
        for draft, pieces, vectors in articles:
            store.add_article(draft, content_hash(draft.text), pieces, None, vectors)
        return sum(len(p) for _, p, _ in articles) / (time.perf_counter() - start)
    finally:
        store.close()


def main() -> None:
    """Store the same articles on both engines and print the rates."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--database-url", default="", help="a server (default: the wheel's)")
    args = parser.parse_args()
    articles = prepared(args.articles, args.corpus)
    with tempfile.TemporaryDirectory() as tmp:
        server = BenchServer(Path(tmp), args.database_url)
        try:
            sqlite = store_rate(Path(tmp) / SQLITE_FILE, articles)
            postgres = store_rate(server.fresh("newsbot_store_writes"), articles)
        finally:
            server.close()
    print(
        json.dumps(
            {
                "bench": "store-writes",
                "articles": len(articles),
                "passages": sum(len(p) for _, p, _ in articles),
                "sqlite_passages_per_s": round(sqlite, 1),
                "postgres_passages_per_s": round(postgres, 1),
                "postgres_vs_sqlite": round(postgres / sqlite, 3),
                "load_average": round(os.getloadavg()[0], 1),
            }
        )
    )


if __name__ == "__main__":
    main()
