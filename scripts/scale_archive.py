"""Scale archives for scripts/bench.py: real passages and vectors, then synthetic copies.

A copy is the same text under a new title and URL, with the vector moved by Gaussian noise
to cosine about NOISE_COS from the original.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from index.archive import Archive
from index.embed.factory import open_embedder
from index.ingest.files import content_hash
from index.records import ArticleDraft, ChunkDraft
from index.settings import Settings
from index.storage.store import Store

NOISE_COS = 0.8


def settings_for(data_dir: Path, backend: str, index_type: str = "auto") -> Settings:
    """Default settings on a data dir, ignoring any .env."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=data_dir, embedding_backend=backend, index_type=index_type
    )


@dataclass(frozen=True)
class SourceArticle:
    """A real article's metadata, passages and their vectors."""

    draft: ArticleDraft
    chunks: tuple[str, ...]
    vectors: np.ndarray


def read_source(data_dir: Path, backend: str) -> list[SourceArticle]:
    """Every article of a real archive with its passages and stored vectors."""
    archive = Archive(settings_for(data_dir, backend), check_model=False)
    ids, vectors = archive.vectors().export()
    row = {int(i): n for n, i in enumerate(ids)}
    grouped: dict[int, list[tuple[int, str, int]]] = {}
    drafts: dict[int, ArticleDraft] = {}
    for chunk_id, passage in archive.passages().items():
        if chunk_id not in row:
            continue
        chunk, article = passage.chunk, passage.article
        grouped.setdefault(article.id, []).append((chunk.ordinal, chunk.text, row[chunk_id]))
        drafts[article.id] = ArticleDraft(
            article.title, "", article.url, article.source, article.published
        )
    archive.close()
    found = []
    for article_id in sorted(grouped):
        parts = sorted(grouped[article_id])
        found.append(
            SourceArticle(
                replace(drafts[article_id], text="\n\n".join(t for _, t, _ in parts)),
                tuple(t for _, t, _ in parts),
                vectors[[r for _, _, r in parts]],
            )
        )
    return found


def synthetic(article: SourceArticle, copy: int, rng: np.random.Generator) -> SourceArticle:
    """A copy of a real article: new title and URL, vectors moved to cosine ~NOISE_COS."""
    if copy == 0:
        return article
    draft = article.draft
    scale = np.sqrt(1 / NOISE_COS**2 - 1) / np.sqrt(article.vectors.shape[1])
    moved = article.vectors + rng.normal(0, scale, article.vectors.shape).astype(np.float32)
    moved /= np.linalg.norm(moved, axis=1, keepdims=True)
    return SourceArticle(
        replace(
            draft,
            title=f"{draft.title} (part {copy})",
            text=f"{draft.text}\n\nSynthetic copy {copy}.",
            url=f"https://bench.example/{copy}/{content_hash(draft.text)[:16]}",
        ),
        article.chunks,
        moved,
    )


def fill_store(store: Store, source: list[SourceArticle], size: int) -> tuple[np.ndarray, ...]:
    """Store passages up to `size`; returns their (ids, vectors)."""
    rng = np.random.default_rng(0)
    ids = np.zeros(size, dtype=np.int64)
    vectors = np.zeros((size, source[0].vectors.shape[1]), dtype=np.float32)
    count = copy = 0
    while count < size:
        for original in source:
            if count >= size:
                break
            article = synthetic(original, copy, rng)
            take = min(len(article.chunks), size - count)
            drafts = [ChunkDraft(n, text) for n, text in enumerate(article.chunks[:take])]
            digest = content_hash(article.draft.text)
            rows = article.vectors[:take]
            _, stored = store.add_article(article.draft, digest, drafts, vectors=rows)
            ids[count : count + take] = [chunk.id for chunk in stored]
            vectors[count : count + take] = article.vectors[:take]
            count += take
        copy += 1
    return ids, vectors


def build_scale(data_dir: Path, source: list[SourceArticle], size: int, backend: str) -> float:
    """A data dir of `size` passages; returns seconds spent building the vector index."""
    settings = settings_for(data_dir, backend)
    embedder = open_embedder(settings)
    store = Store(data_dir / "archive.sqlite3")
    # Building the fixture, not measuring it: no fsync per article (x2.3 at a million).
    store._db.execute("PRAGMA synchronous=OFF")
    _, vectors = fill_store(store, source, size)
    store.set_meta("model", embedder.name)
    store.set_meta("dim", str(vectors.shape[1]))
    store.close()
    archive = Archive(settings, embedder=embedder, check_model=False)
    start = time.perf_counter()
    archive.rebuild_cache()  # FAISS from the vectors in SQLite, saved; no model
    build_s = time.perf_counter() - start
    archive.close()
    (data_dir / "bench.json").write_text(json.dumps({"size": size, "build_s": build_s}))
    return build_s
