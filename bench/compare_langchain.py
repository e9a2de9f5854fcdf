"""The same chunks and model through LangChain's FAISS vector store, measured like newsbot.

    .venv/bin/pip install -e '.[compare]'
    .venv/bin/python bench/compare_langchain.py --limit 100 --scale 100000 1000000

Ingest runs newsbot's import (scripts/bench.py's measure, ONNX) and LangChain's on the same
articles in one run, and prints the ratio.

Ingest: LangChain's RecursiveCharacterTextSplitter with the model's tokenizer as length
function (same size, overlap and separators as newsbot, so the same chunks), then
HuggingFaceEmbeddings (sentence-transformers, normalised) into FAISS.from_documents.
Scale: the scale archives scripts/bench.py built, their texts and vectors loaded with
FAISS.from_embeddings. LangChain has no answer composer, so its query time is retrieval
only (similarity_search_with_score, k=5). Prints figures and one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as newsbot's embedder sets it for torch

from bench_query import CORPUS, dated_questions
from langchain_community.embeddings import HuggingFaceEmbeddings
from langchain_community.vectorstores import FAISS
from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter
from transformers import AutoTokenizer

from bench import WORKDIR, corpus_drafts, disk_bytes, emit, percentile, settings_for
from bench import measure_ingest as newsbot_ingest
from index.archive import Archive
from index.embed.factory import open_embedder
from index.embed.sbert import bundled_model_path
from index.ingest.chunking import SEPARATORS


def embeddings() -> HuggingFaceEmbeddings:
    """The bundled all-MiniLM-L6-v2 through LangChain, normalised, batch 32."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return HuggingFaceEmbeddings(
            model_name=str(bundled_model_path()),
            model_kwargs={"device": "cpu", "local_files_only": True},
            encode_kwargs={"normalize_embeddings": True, "batch_size": 32},
        )


def splitter() -> RecursiveCharacterTextSplitter:
    """newsbot's chunking parameters, the usual LangChain way."""
    tokenizer = AutoTokenizer.from_pretrained(str(bundled_model_path()))
    return RecursiveCharacterTextSplitter(
        chunk_size=220,
        chunk_overlap=40,
        length_function=lambda text: len(tokenizer.encode(text, add_special_tokens=False)),
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )


def measure_ingest(limit: int) -> dict[str, object]:
    """Chunks per second of split + embed + FAISS add, on the same articles as newsbot."""
    model, split = embeddings(), splitter()
    drafts = corpus_drafts(limit)
    model.embed_documents(["warm up"] * 32)
    wall, cpu = time.perf_counter(), time.process_time()
    documents = [
        Document(page_content=f"{d.title}\n\n{piece}", metadata={"title": d.title, "url": d.url})
        for d in drafts
        for piece in split.split_text(d.text)
    ]
    store = FAISS.from_documents(documents, model)
    with tempfile.TemporaryDirectory() as tmp:
        store.save_local(tmp)
    ingest_s, ingest_cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "system": "langchain",
        "articles": len(drafts),
        "chunks": len(documents),
        "ingest_chunks_per_s": round(len(documents) / ingest_s, 2),
        "ingest_chunks_per_cpu_s": round(len(documents) / ingest_cpu, 2),
        "load_average": round(os.getloadavg()[0], 1),
    }


def ingest_ratio(newsbot: dict[str, object], langchain: dict[str, object]) -> dict[str, object]:
    """newsbot's ingest rate over LangChain's, by wall time and by CPU time, from one run."""
    figures: dict[str, object] = {}
    for key in ("ingest_chunks_per_s", "ingest_chunks_per_cpu_s"):
        ours, theirs = newsbot[key], langchain[key]
        assert isinstance(ours, float) and isinstance(theirs, float)
        figures[key.replace("ingest_chunks", "ratio")] = round(ours / theirs, 3)
    return figures | {"load_average": [round(load, 2) for load in os.getloadavg()]}


FIRST_ANSWER = """
import json, sys, time, warnings
start = time.perf_counter()
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[1])
import psutil
from langchain_community.vectorstores import FAISS
from compare_langchain import embeddings
store = FAISS.load_local(sys.argv[2], embeddings(), allow_dangerous_deserialization=True)
loaded = time.perf_counter()
store.similarity_search_with_score(sys.argv[3], k=5)
done = time.perf_counter()
print(json.dumps({"open_s": loaded - start, "first_ask_s": done - loaded,
                  "rss_mb": psutil.Process().memory_info().rss / 2**20}))
"""


def first_answer(folder: Path, question: str) -> dict[str, object]:
    """A fresh process loads the saved store and answers one question."""
    start = time.perf_counter()
    command = [sys.executable, "-c", FIRST_ANSWER, str(Path(__file__).parent), str(folder)]
    child = subprocess.run([*command, question], capture_output=True, text=True, check=True)
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    figures["wall_s"] = time.perf_counter() - start
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}


def scale_store(data_dir: Path) -> tuple[FAISS, float]:
    """LangChain's store over a scale archive's texts and vectors; seconds to build it."""
    archive = Archive(settings_for(data_dir, "torch"), check_model=False)
    ids, vectors = archive.vectors().export()
    found = archive.passages()
    texts = [f"{found[i].article.title}\n\n{found[i].chunk.text}" for i in ids.tolist()]
    archive.close()
    began = time.perf_counter()
    # Rows, not .tolist(): a million lists of Python floats took 23 GB.
    pairs = list(zip(texts, vectors, strict=True))
    store = FAISS.from_embeddings(pairs, embeddings())  # type: ignore[arg-type]
    return store, time.perf_counter() - began


def measure_scale(size: int, workdir: Path, count: int) -> None:
    """Query, add and start-up figures of LangChain's store at one archive size."""
    data_dir = workdir / f"mixed-onnx-auto-{size}"
    store, build_s = scale_store(data_dir)
    asked = [question for question, _ in dated_questions(CORPUS, count)]
    store.similarity_search_with_score(asked[0], k=5)
    times = []
    for question in asked:
        start = time.perf_counter()
        store.similarity_search_with_score(question, k=5)
        times.append((time.perf_counter() - start) * 1000)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store.save_local(str(folder))
        figures: dict[str, object] = {
            "system": "langchain",
            "chunks": size,
            "bytes_per_chunk": round(disk_bytes(folder) / size),
            "query_p50_ms": percentile(times, 0.5),
            "query_p95_ms": percentile(times, 0.95),
            "index_build_s": round(build_s, 2),
        }
        figures |= measure_add(store, folder)
        figures["startup"] = first_answer(folder, asked[0])
    emit(f"langchain-scale-{size}", figures)


def measure_add(store: FAISS, folder: Path, trials: int = 3) -> dict[str, object]:
    """Milliseconds to add one article's chunks and persist the store (LangChain rewrites it)."""
    split, times = splitter(), []
    for n, draft in enumerate(corpus_drafts(trials, skip=100)):
        start = time.perf_counter()
        pieces = [f"{draft.title}\n\n{p}" for p in split.split_text(draft.text + f" {n}")]
        store.add_texts(pieces, metadatas=[{"title": draft.title}] * len(pieces))
        store.save_local(str(folder))
        times.append((time.perf_counter() - start) * 1000)
    return {"add_article_ms": round(statistics.median(times), 1)}


def main() -> None:
    """Parse the options and run the measurements asked for."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=100, help="articles for ingest (0: skip)")
    parser.add_argument("--scale", type=int, nargs="*", default=[], help="archive sizes")
    parser.add_argument("--queries", type=int, default=100, help="questions per size")
    parser.add_argument("--workdir", type=Path, default=WORKDIR)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    if args.limit:
        ours = open_embedder(settings_for(args.workdir / "models-home", "onnx"))
        newsbot = newsbot_ingest(ours, args.limit, "onnx")
        langchain = measure_ingest(args.limit)
        emit("newsbot-ingest", newsbot)
        emit("langchain-ingest", langchain)
        emit("ingest-vs-langchain", ingest_ratio(newsbot, langchain))
    for size in args.scale:
        measure_scale(size, args.workdir, args.queries)


if __name__ == "__main__":
    main()
