"""Scale archives for scripts/bench.py: the real corpus, then new articles mixed from it.

Past the real passages, each new article pairs two real articles: its n-th passage joins the
first sentences of the first article's n-th passage with the last sentences of a passage of
the second, and its vector is the two passages' vectors weighted by their share of the
characters, plus a little noise, normalised. Titles join half of each title; dates spread
over the corpus's range. No text repeats, so BM25 meets real term statistics, and the
vectors spread as real ones do, so IVF meets natural clusters.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from index.archive import Archive
from index.embed.factory import open_embedder
from index.ingest.files import content_hash
from index.records import ArticleDraft, ChunkDraft
from index.settings import Settings
from index.storage.store import Store

NOISE = 0.05  # the noise vector's length against the unit mixed vector
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def settings_for(data_dir: Path, backend: str, index_type: str = "auto") -> Settings:
    """Default settings on a data dir, ignoring any .env, with all-MiniLM-L6-v2 on `backend`.

    The benchmarks' corpus archive and the scale archives built from its vectors are MiniLM's
    (README, Performance); the default model (multilingual-e5-small) would mislabel them.
    """
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data_dir,
        embedding_model="all-MiniLM-L6-v2",
        embedding_backend=backend,
        index_type=index_type,
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


def sentences(text: str) -> list[str]:
    """A passage's sentences (split after . ! ? and …)."""
    return [part for part in _SENTENCE_END.split(text.strip()) if part]


def mixed_passage(first: str, second: str) -> tuple[str, float]:
    """The first half of one passage's sentences, then the second half of another's; and the
    first passage's share of the characters."""
    head, tail = sentences(first), sentences(second)
    head = head[: max(1, (len(head) + 1) // 2)]
    tail = tail[len(tail) // 2 :] or tail
    text = " ".join(head + tail)
    return text, len(" ".join(head)) / max(1, len(text))


def mixed(
    first: SourceArticle,
    second: SourceArticle,
    number: int,
    days: tuple[date, int],
    rng: np.random.Generator,
) -> SourceArticle:
    """A new article from two real ones: mixed passages, a joined title, a date in range."""
    texts, vectors = [], []
    for n, passage in enumerate(first.chunks):
        other = n % len(second.chunks)
        text, share = mixed_passage(passage, second.chunks[other])
        vector = share * first.vectors[n] + (1 - share) * second.vectors[other]
        vector /= np.linalg.norm(vector)
        noise = rng.normal(0, 1, vector.shape).astype(np.float32)
        vector += NOISE * noise / np.linalg.norm(noise)
        texts.append(text)
        vectors.append(vector / np.linalg.norm(vector))
    one, two = first.draft.title.split(), second.draft.title.split()
    title = " ".join(one[: (len(one) + 1) // 2] + two[len(two) // 2 :])
    start, span = days
    draft = ArticleDraft(
        title=title,
        text="\n\n".join(texts),
        url=f"https://bench.example/mix/{number}",
        source=second.draft.source,
        published=start + timedelta(days=int(rng.integers(0, span + 1))),
    )
    return SourceArticle(draft, tuple(texts), np.asarray(vectors, dtype=np.float32))


def articles(source: list[SourceArticle]) -> Iterator[SourceArticle]:
    """The real articles, then mixed ones without end."""
    yield from source
    rng = np.random.default_rng(0)
    dated = [a.draft.published for a in source if a.draft.published]
    start = min(dated, default=date(2022, 1, 1))
    days = (start, (max(dated, default=start) - start).days)
    number = 0
    while True:
        first, second = rng.choice(len(source), size=2, replace=False)
        number += 1
        yield mixed(source[first], source[second], number, days, rng)


def fill_store(store: Store, source: list[SourceArticle], size: int) -> tuple[np.ndarray, ...]:
    """Store passages up to `size`; returns their (ids, vectors)."""
    ids = np.zeros(size, dtype=np.int64)
    vectors = np.zeros((size, source[0].vectors.shape[1]), dtype=np.float32)
    count = 0
    for article in articles(source):
        if count >= size:
            break
        take = min(len(article.chunks), size - count)
        drafts = [ChunkDraft(n, text) for n, text in enumerate(article.chunks[:take])]
        # Keyed by URL too: two short passages can mix into a text seen before.
        digest = content_hash(f"{article.draft.url}\n{article.draft.text}")
        rows = article.vectors[:take]
        _, stored = store.add_article(article.draft, digest, drafts, vectors=rows)
        ids[count : count + take] = [chunk.id for chunk in stored]
        vectors[count : count + take] = rows
        count += take
    return ids, vectors


def build_scale(data_dir: Path, source: list[SourceArticle], size: int, backend: str) -> float:
    """A data dir of `size` passages with its indexes; returns seconds spent on FAISS."""
    settings = settings_for(data_dir, backend)
    embedder = open_embedder(settings)
    store = Store(data_dir / "archive.sqlite3")
    # Building the fixture, not measuring it: no fsync per article (x2.3 at a million).
    store.db.run("PRAGMA synchronous=OFF")
    _, vectors = fill_store(store, source, size)
    store.set_meta("model", embedder.name)
    store.set_meta("dim", str(vectors.shape[1]))
    store.close()
    archive = Archive(settings, embedder=embedder, check_model=False)
    start = time.perf_counter()
    archive.rebuild_cache()  # FAISS from the vectors in SQLite, saved; no model
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    archive.keywords.rebuild()
    keyword_s = time.perf_counter() - start
    archive.close()
    marker = {"size": size, "build_s": build_s, "keyword_build_s": keyword_s}
    (data_dir / "bench.json").write_text(json.dumps(marker))
    return build_s
