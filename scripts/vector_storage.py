"""What keeping vectors in SQLite costs: bytes per passage, float16 recall, FAISS rebuild time.

1. Real articles (the RealTime QA corpus) embedded once, stored as the archive stores them;
   bytes on disk per passage, and the real questions searched over float32 and over the
   float16 copies SQLite holds (recall@10 of float16 against float32, top-1 agreement).
2. A synthetic archive of random unit vectors: FAISS built from SQLite (no model), the
   per-question freshness check, and 1,000 passages appended by "another process".
Usage: .venv/bin/python scripts/vector_storage.py [--articles 300] [--passages 100000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index.archive import Archive
from index.embed.sbert import Embedder
from index.ingest.chunking import chunk_text, embedding_text
from index.ingest.files import content_hash, read_file
from index.records import ArticleDraft, ChunkDraft
from index.settings import Settings
from index.storage.store import Store
from index.storage.vector_rows import STORED

CORPUS = Path("/work/shared/bench/realtimeqa")


def disk_bytes(data_dir: Path) -> int:
    """Bytes of the archive's files (SQLite checkpointed, FAISS)."""
    return sum(p.stat().st_size for p in data_dir.iterdir() if p.is_file())


def real_archive(folder: Path, articles: int) -> dict[str, object]:
    """Store real articles with their vectors; bytes per passage and float16 recall."""
    settings = Settings(_env_file=None, data_dir=folder)  # type: ignore[call-arg]
    embedder = Embedder()
    store = Store(folder / "archive.sqlite3")  # stored as imports store them, timed alone
    drafts = read_file(CORPUS / "articles.jsonl").drafts[:articles]
    exact: list[np.ndarray] = []
    started = time.perf_counter()
    for draft in drafts:
        if store.has_article(draft.url, content_hash(draft.text)):
            continue
        pieces = chunk_text(
            draft.text, embedder.token_spans, settings.chunk_tokens, settings.chunk_overlap
        )
        vectors = embedder.embed_passages([embedding_text(draft.title, p.text) for p in pieces])
        store.add_article(draft, content_hash(draft.text), pieces, vectors=vectors)
        exact.append(vectors)
    store.set_meta("model", embedder.name)
    store.set_meta("dim", str(embedder.dim))
    store.close()
    embed_s = time.perf_counter() - started
    archive = Archive(settings, embedder=embedder)
    archive.vectors()  # FAISS built from SQLite and saved
    archive.close()
    passages = sum(len(v) for v in exact)
    full = np.concatenate(exact)
    half = full.astype(STORED).astype(np.float32)
    lines = (CORPUS / "questions.jsonl").read_text().splitlines()
    questions = [json.loads(line)["question"] for line in lines]
    queries = embedder.embed_queries(questions)
    truth = np.argsort(-queries @ full.T, axis=1)[:, :10]
    found = np.argsort(-queries @ half.T, axis=1)[:, :10]
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    return {
        "articles": len(exact),
        "passages": passages,
        "embed_s": round(embed_s, 1),
        "bytes_per_passage": round(disk_bytes(folder) / passages),
        "sqlite_bytes_per_passage": round((folder / "archive.sqlite3").stat().st_size / passages),
        "faiss_bytes_per_passage": round((folder / "vectors.faiss").stat().st_size / passages),
        "vector_bytes_fp16": full.shape[1] * STORED.itemsize,
        "questions": len(questions),
        "fp16_recall_at_10": round(float(recall), 4),
        "fp16_top1_same": round(float(np.mean(found[:, 0] == truth[:, 0])), 4),
        "fp16_max_abs_error": float(np.abs(half - full).max()),
    }


def synthetic_archive(folder: Path, passages: int, dim: int = 384) -> dict[str, object]:
    """Random unit vectors in SQLite: FAISS rebuild, freshness check, appends."""
    rng = np.random.default_rng(0)
    store = Store(folder / "archive.sqlite3")
    store.db.run("PRAGMA synchronous=OFF")  # building the fixture, not measuring it
    per_article = 10

    def add(count: int, offset: int) -> None:
        for n in range(0, count, per_article):
            vectors = rng.normal(size=(per_article, dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            chunks = [ChunkDraft(i, f"passage {offset + n + i}") for i in range(per_article)]
            draft = ArticleDraft(title=f"article {offset + n}", text=f"text {offset + n}")
            store.add_article(draft, f"h{offset + n}", chunks, vectors=vectors)

    add(passages, 0)
    store.set_meta("model", "synthetic")
    store.set_meta("dim", str(dim))
    settings = Settings(_env_file=None, data_dir=folder)  # type: ignore[call-arg]
    archive = Archive(settings, embedder=Embedder(), check_model=False)
    started, cpu = time.perf_counter(), time.process_time()
    index = archive.rebuild_cache()
    rebuild_s, rebuild_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    for _ in range(100):
        archive.vectors()
    check_ms = (time.perf_counter() - started) * 10
    add(1000, passages)
    started = time.perf_counter()
    archive.vectors()
    append_ms = (time.perf_counter() - started) * 1000
    return {
        "passages": passages,
        "index": index.kind,
        "rebuild_from_sqlite_s": round(rebuild_s, 2),
        "rebuild_from_sqlite_cpu_s": round(rebuild_cpu_s, 2),
        "freshness_check_ms": round(check_ms, 3),
        "append_1000_ms": round(append_ms, 1),
    }


def main() -> None:
    """Run both parts and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--passages", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as real, tempfile.TemporaryDirectory() as synthetic:
        result = {"real": real_archive(Path(real), args.articles)} if args.articles else {}
        result["synthetic"] = synthetic_archive(Path(synthetic), args.passages)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
