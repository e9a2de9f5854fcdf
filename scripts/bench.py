"""newsbot's speed: ingest against the model's own rate, and answers per archive size.

    .venv/bin/python scripts/bench.py --limit 100                        # ingest only
    .venv/bin/python scripts/bench.py --limit 0 --sizes corpus 100000 1000000
    .venv/bin/python scripts/bench.py --engine postgres [--vector-search database] --sizes …

`corpus` is the RealTime QA corpus as imported (--source, e.g. the data dir `newsbot eval`
imported into). Larger sizes keep those real articles and add new ones mixed from their
sentences (scripts/scale_archive.py); they are built once under --workdir and reused. Each
size is measured in one run against the floor: bare sentence-transformers (torch) embedding
plus an exact FAISS search over as many vectors (what LangChain's FAISS store does per
query). Run it on an otherwise idle machine; the load average is printed beside the figures.
Prints figures and one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
from bench_postgres import BenchServer
from bench_query import dated_questions, floor_times, newsbot_times
from scale_archive import SourceArticle, build_scale, read_source, settings_for

from index.archive import FLUSH_PASSAGES, Archive
from index.embed.factory import TextEmbedder, open_embedder
from index.ingest.chunking import chunk_text, embedding_text
from index.ingest.files import read_file
from index.records import ArticleDraft
from index.storage.database_vectors import DatabaseVectors
from index.storage.keywords import FOLDER
from index.storage.store import Store
from index.storage.vectors import VectorIndex

REPO = Path(__file__).resolve().parent.parent
# Paths beside the repository by default (the RealTime QA corpus lives in ../shared).
CORPUS = REPO.parent / "shared" / "bench" / "realtimeqa"
SOURCE = REPO.parent / "bench-data" / "rtqa"
WORKDIR = REPO.parent / "bench-data" / "scale"


def corpus_drafts(limit: int, skip: int = 0, corpus: Path = CORPUS) -> list[ArticleDraft]:
    """The first `limit` articles of the corpus after `skip`."""
    return list(read_file(corpus / "articles.jsonl").drafts[skip : skip + limit])


def emit(kind: str, figures: dict[str, object]) -> None:
    """Print figures for people, then one JSON line."""
    print(f"\n== {kind}")
    for key, value in figures.items():
        print(f"{key:>28}: {value}")
    print(json.dumps({"bench": kind, **figures}))


# ingest against the model


def measure_ingest(
    embedder: TextEmbedder, limit: int, backend: str, corpus: Path = CORPUS
) -> dict[str, object]:
    """Chunks per second of the model alone and of a whole import, on the same articles."""
    drafts = corpus_drafts(limit, corpus=corpus)
    passages = [
        embedding_text(d.title, c.text)
        for d in drafts
        for c in chunk_text(d.text, embedder.token_spans, 220, 40)
    ]
    embedder.embed_passages(passages[:32])  # load and warm up
    wall, cpu = time.perf_counter(), time.process_time()
    for at in range(0, len(passages), FLUSH_PASSAGES):
        embedder.embed_passages(passages[at : at + FLUSH_PASSAGES])
    model_s, model_cpu = time.perf_counter() - wall, time.process_time() - cpu
    with tempfile.TemporaryDirectory() as tmp:
        archive = Archive(settings_for(Path(tmp), backend), embedder=embedder)
        wall, cpu = time.perf_counter(), time.process_time()
        report = archive.add_drafts(drafts)
        ingest_s, ingest_cpu = time.perf_counter() - wall, time.process_time() - cpu
        archive.close()
    return {
        "backend": backend,
        "articles": len(drafts),
        "chunks": report.chunks,
        "model_chunks_per_s": round(len(passages) / model_s, 2),
        "ingest_chunks_per_s": round(report.chunks / ingest_s, 2),
        "ingest_vs_model": round((report.chunks / ingest_s) / (len(passages) / model_s), 3),
        # CPU seconds (all threads): steadier than wall time on a shared machine.
        "model_chunks_per_cpu_s": round(len(passages) / model_cpu, 2),
        "ingest_chunks_per_cpu_s": round(report.chunks / ingest_cpu, 2),
        "load_average": round(os.getloadavg()[0], 1),
    }


# measurements on a scale archive

FIRST_ANSWER = """
import json, sys, time
start = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import psutil
from index.archive import Archive
from index.settings import Settings
settings = Settings(_env_file=None, data_dir=sys.argv[2], embedding_backend=sys.argv[3],
                    index_type=sys.argv[4])
archive = Archive(settings)
opened = time.perf_counter()
archive.sync()
synced = time.perf_counter()
found = archive.ask(sys.argv[5]).found
done = time.perf_counter()
print(json.dumps({"open_s": opened - start, "sync_s": synced - opened,
                  "first_ask_s": done - synced, "found": found,
                  "rss_mb": psutil.Process().memory_info().rss / 2**20}))
"""


def first_answer(data_dir: Path, backend: str, index_type: str, question: str) -> dict:
    """A fresh process: imports, opens the archive, catches up and answers one question."""
    start = time.perf_counter()
    command = [sys.executable, "-c", FIRST_ANSWER, str(REPO), str(data_dir), backend, index_type]
    child = subprocess.run([*command, question], capture_output=True, text=True, check=True)
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    figures["wall_s"] = time.perf_counter() - start
    return {
        key: round(value, 3) if isinstance(value, float) else value
        for key, value in figures.items()
    }


def percentile(values: list[float], share: float) -> float:
    """The share-th percentile, in the same unit, rounded."""
    return round(float(np.percentile(values, share * 100)), 2)


def measure_queries(archive: Archive, corpus: Path, count: int) -> dict[str, object]:
    """Answer times by stage, each question on its quiz date, against the floor in one run."""
    asked = dated_questions(corpus, count)
    stages = newsbot_times(archive, asked)
    floor = floor_times(archive, asked)
    figures: dict[str, object] = {
        f"{name}_p50_ms": percentile(v, 0.5) for name, v in stages.items()
    }
    figures["ask_p95_ms"] = percentile(stages["ask"], 0.95)
    figures["floor_p50_ms"] = percentile(floor, 0.5)
    figures["ask_vs_floor"] = round(percentile(stages["ask"], 0.5) / percentile(floor, 0.5), 3)
    vectors = archive.vectors()
    figures |= {"index_type": vectors.kind, "nprobe": vectors.nprobe}
    if isinstance(vectors, DatabaseVectors):
        figures |= database_recall(vectors, archive.embedder.embed_queries([q for q, _ in asked]))
    elif vectors.family != "flat":
        figures |= measure_recall(vectors, archive.embedder.embed_queries([q for q, _ in asked]))
    return figures


def recall_at_10(index: VectorIndex, queries: np.ndarray, truth: np.ndarray) -> float:
    """Share of the exact top 10 that the index finds."""
    found = index.search(queries, 10)[1]
    overlap = [len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]
    return round(float(np.mean(overlap)), 4)


def database_recall(vectors: DatabaseVectors, queries: np.ndarray) -> dict[str, object]:
    """Recall@10 of pgvector's HNSW index against exact search, and its time a query."""
    exact = VectorIndex.empty(vectors.dim)
    exact.add(*vectors.export())
    truth = exact.search(queries, 10)[1]
    times = []
    for row in range(len(queries)):
        start = time.perf_counter()
        vectors.search(queries[row : row + 1], 100)
        times.append((time.perf_counter() - start) * 1000)
    found = vectors.search(queries, 10)[1]
    overlap = [len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]
    return {
        "recall_at_10_vs_exact": round(float(np.mean(overlap)), 4),
        "hnsw_search_p50_ms": percentile(times, 0.5),
    }


def measure_recall(vectors: VectorIndex, queries: np.ndarray) -> dict[str, object]:
    """Recall@10 of an IVF index against exact search, as set and for other nprobe values."""
    exact = VectorIndex.empty(vectors.dim)
    exact.add(*vectors.export())
    truth = exact.search(queries, 10)[1]
    del exact
    chosen, curve = vectors.nprobe or 1, {}
    for lists in (4, 8, 16, 32, 64, 128):
        vectors.nprobe = lists
        start = time.perf_counter()
        for row in range(len(queries)):
            vectors.search(queries[row : row + 1], 100)
        per_query = (time.perf_counter() - start) * 1000 / len(queries)
        curve[lists] = {"recall": recall_at_10(vectors, queries, truth), "ms": round(per_query, 2)}
    vectors.nprobe = chosen
    return {"recall_at_10_vs_exact": recall_at_10(vectors, queries, truth), "nprobe_curve": curve}


def measure_add(archive: Archive, trials: int = 3, corpus: Path = CORPUS) -> dict[str, object]:
    """Milliseconds to add one new real article (chunk, embed, store, index, save)."""
    times, chunks = [], []
    for n, draft in enumerate(corpus_drafts(trials, skip=100, corpus=corpus)):
        marker = f"{time.time_ns()}-{n}"
        fresh = replace(draft, url=f"https://bench.example/new/{marker}", text=draft.text + marker)
        start = time.perf_counter()
        report = archive.add_drafts([fresh])
        times.append((time.perf_counter() - start) * 1000)
        chunks.append(report.chunks)
    return {"add_article_ms": round(statistics.median(times), 1), "add_article_chunks": chunks}


def reindex(data_dir: Path, backend: str, index_type: str) -> None:
    """Rebuild a built archive's vector index from its stored vectors (after tuning)."""
    settings = settings_for(data_dir, backend, index_type)
    archive = Archive(settings, check_model=False)
    start = time.perf_counter()
    archive.rebuild_cache()
    build_s = time.perf_counter() - start
    archive.close()
    marker = json.loads((data_dir / "bench.json").read_text())
    (data_dir / "bench.json").write_text(json.dumps(marker | {"build_s": build_s}))


def disk_bytes(data_dir: Path) -> int:
    """Bytes of the archive: SQLite, its WAL, the FAISS cache and the keyword index."""
    files = [p for p in data_dir.iterdir() if p.is_file() and p.suffix != ".json"]
    keywords = data_dir / FOLDER
    files += list(keywords.iterdir()) if keywords.is_dir() else []
    return sum(p.stat().st_size for p in files)


def scale_dir(args: argparse.Namespace, size: int, source: list[SourceArticle]) -> Path:
    """The data dir of a scale archive, built first if it is not there yet."""
    data_dir = args.workdir / f"mixed-{args.backend}-{args.index_type}-{size}"
    marker = data_dir / "bench.json"
    if marker.exists() and args.reindex:
        reindex(data_dir, args.backend, args.index_type)
    if not marker.exists():
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        start = time.perf_counter()
        build_scale(data_dir, source, size, args.backend)
        print(f"built {data_dir} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return data_dir


def on_postgres(
    server: BenchServer, args: argparse.Namespace, size: str, data_dir: Path
) -> tuple[Path, dict[str, object]]:
    """The SQLite archive's copy in PostgreSQL, made the archive of what follows (through the
    environment, which Settings and the first-answer process read); its own cache folder."""
    sqlite = settings_for(data_dir, args.backend, args.index_type).model_copy(
        update={"database_url": "", "vector_search": "cache"}
    )
    url, copy_s = server.copied(f"newsbot_{size}", sqlite)
    os.environ["NEWSBOT_DATABASE_URL"] = url
    # Only the copy searches pgvector: the SQLite source and scale archives keep FAISS.
    os.environ["NEWSBOT_VECTOR_SEARCH"] = args.vector_search
    cache_dir = args.workdir / f"postgres-caches-{args.backend}-{size}"
    cache_dir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, object] = {"engine": "postgres", "vector_search": args.vector_search}
    figures["database_bytes"] = server.size(url)
    if copy_s is not None:
        figures["migrate_s"] = round(copy_s, 2)
    if args.vector_search == "database":  # built here, once, not inside the start-up timing
        store = Store(url)
        try:
            start = time.perf_counter()
            store.db.index_vectors(int(store.get_meta("dim") or 0))
            figures["hnsw_build_s"] = round(time.perf_counter() - start, 2)
        finally:
            store.close()
    return cache_dir, figures


def measure_size(
    args: argparse.Namespace,
    size: str,
    source: list[SourceArticle],
    server: BenchServer | None = None,
) -> None:
    """Measure answers on the corpus or on a scale archive of `size` passages."""
    built_dir = data_dir = args.source if size == "corpus" else scale_dir(args, int(size), source)
    engine: dict[str, object] = {"engine": "sqlite"}
    if server is not None:
        data_dir, engine = on_postgres(server, args, size, data_dir)
    settings = settings_for(data_dir, args.backend, args.index_type)
    open_embedder(settings).embed_queries(["export the ONNX model here once, untimed"])
    question = dated_questions(args.corpus, 1)[0][0]
    startup = first_answer(data_dir, args.backend, args.index_type, question)
    archive = Archive.open(settings)
    chunks = archive.counts().chunks
    figures: dict[str, object] = {"size": size, "chunks": chunks, "backend": args.backend}
    stored = disk_bytes(data_dir) + int(engine.get("database_bytes", 0))  # type: ignore[call-overload]
    figures |= engine
    figures["bytes_per_chunk"] = round(stored / chunks)
    figures |= measure_queries(archive, args.corpus, args.queries)
    if size != "corpus":  # the corpus archive is also the evaluation's: add nothing to it
        figures |= measure_add(archive, corpus=args.corpus)
        built = json.loads((built_dir / "bench.json").read_text())
        figures |= {k: round(v, 2) for k, v in built.items() if k.endswith("_s")}
    figures["startup"] = startup
    figures["load_average"] = [round(load, 2) for load in os.getloadavg()]
    archive.close()
    emit(f"answers-{size}", figures)


def main() -> None:
    """Parse the options and run the measurements asked for."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=100, help="articles for ingest (0: skip)")
    parser.add_argument(
        "--sizes", nargs="*", default=[], help="'corpus' and/or passage counts, e.g. 100000"
    )
    parser.add_argument("--backend", choices=["onnx", "torch", "onnx-int8"], default="onnx")
    parser.add_argument("--index-type", choices=["auto", "flat", "ivf"], default="auto")
    parser.add_argument("--queries", type=int, default=120, help="questions per size")
    parser.add_argument("--reindex", action="store_true", help="rebuild built vector indexes")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="RealTime QA JSONL folder")
    parser.add_argument("--source", type=Path, default=SOURCE, help="its imported archive")
    parser.add_argument("--workdir", type=Path, default=WORKDIR, help="scale archives")
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--database-url", default="", help="postgres: a server to use (default: the wheel's)"
    )
    parser.add_argument(
        "--vector-search", choices=["cache", "database"], default="cache", help="postgres only"
    )
    args = parser.parse_args()
    for name in ("NEWSBOT_DATABASE_URL", "NEWSBOT_VECTOR_SEARCH"):
        os.environ.pop(name, None)
    server = BenchServer(args.workdir, args.database_url) if args.engine == "postgres" else None
    try:
        if args.limit:
            embedder = open_embedder(settings_for(args.workdir / "models-home", args.backend))
            if server is not None:
                os.environ["NEWSBOT_DATABASE_URL"] = server.fresh("newsbot_ingest")
            figures = measure_ingest(embedder, args.limit, args.backend, args.corpus)
            emit("ingest", figures | {"engine": args.engine})
            os.environ.pop("NEWSBOT_DATABASE_URL", None)
        if args.sizes:
            source = [] if args.sizes == ["corpus"] else read_source(args.source, args.backend)
            for size in args.sizes:
                measure_size(args, size, source, server)
                os.environ.pop("NEWSBOT_DATABASE_URL", None)
                os.environ.pop("NEWSBOT_VECTOR_SEARCH", None)
    finally:
        if server is not None:
            server.close()


if __name__ == "__main__":
    main()
