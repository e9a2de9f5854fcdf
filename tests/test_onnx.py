"""The int8 ONNX embedder: exported once, cached, close to torch, a drop-in for the archive."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, SEED_QUESTION, SEED_TITLE

from index.archive import Archive
from index.embed.factory import Remembering, open_embedder
from index.embed.onnx import OnnxEmbedder
from index.embed.sbert import Embedder
from index.errors import ModelMismatch
from index.ingest.chunking import chunk_text
from index.settings import Settings

SENTENCES = [
    "What did the US offer Ukraine?",
    "The volcano erupted on Tuesday, forcing 3,000 people to leave their homes.",
    "The city council approved a record budget for schools and roads.",
    "Stocks fell sharply after the central bank raised interest rates.",
]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model cache with the exported int8 graph, exported once per test run."""
    cache = tmp_path_factory.mktemp("onnx-cache")
    OnnxEmbedder(cache_dir=cache).embed_queries(["warm up"])
    return cache


@pytest.fixture
def onnx(onnx_cache: Path) -> OnnxEmbedder:
    """An ONNX embedder reading the shared cache."""
    return OnnxEmbedder(cache_dir=onnx_cache)


def test_vectors_match_torch(onnx: OnnxEmbedder, embedder: Embedder) -> None:
    ours = onnx.embed_queries(SENTENCES)
    reference = embedder.embed_queries(SENTENCES)

    assert ours.shape == reference.shape == (4, 384)
    assert ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    assert (ours * reference).sum(axis=1).min() >= 0.98


def test_export_is_cached_and_reused(onnx: OnnxEmbedder, onnx_cache: Path) -> None:
    exported = list(onnx_cache.glob("*.onnx"))
    stamp = exported[0].stat().st_mtime_ns

    onnx.embed_passages(["A second load reads the cached graph."])

    assert len(exported) == 1 and onnx.model_path == exported[0]
    assert exported[0].stat().st_mtime_ns == stamp
    assert list(onnx_cache.iterdir()) == exported


def test_tokens_and_passages_match_torch(onnx: OnnxEmbedder, embedder: Embedder) -> None:
    text = (DATA / "volcano.txt").read_text()

    assert onnx.token_spans(text) == embedder.token_spans(text)
    assert onnx.count_tokens(text) == embedder.count_tokens(text)
    assert chunk_text(text, onnx.token_spans, 60, 10) == chunk_text(
        text, embedder.token_spans, 60, 10
    )


def test_setting_picks_the_backend(settings: Settings) -> None:
    chosen = open_embedder(settings.model_copy(update={"embedding_backend": "onnx"}))
    default = open_embedder(settings)

    assert isinstance(chosen, Remembering) and isinstance(default, Remembering)
    assert isinstance(chosen.inner, OnnxEmbedder)
    assert chosen.inner.model_path.parent == settings.data_dir / "models"
    assert isinstance(default.inner, Embedder)


def test_questions_and_sentences_are_remembered(onnx: OnnxEmbedder) -> None:
    remembering = Remembering(onnx, size=3)
    first = remembering.embed_queries(["Who won?", "Where?"])

    again = remembering.embed_queries(["Where?", "Who won?"])
    sentences = remembering.embed_passages(["A sentence.", "Who won?"], stored=False)
    stored_before = onnx.passages_embedded
    remembering.embed_passages(["A stored passage."])

    assert np.array_equal(again, first[::-1])
    assert sentences.shape == (2, 384)
    assert onnx.passages_embedded == stored_before + 1
    assert len(remembering._seen) == 3


def test_archive_on_onnx_answers_and_asks_for_a_rebuild_on_switch(
    settings: Settings, embedder: Embedder, onnx: OnnxEmbedder
) -> None:
    torch_archive = Archive(settings, embedder=embedder)
    torch_archive.seed()
    torch_archive.import_paths([DATA / "volcano.txt"])
    torch_answer = torch_archive.ask(SEED_QUESTION)

    with pytest.raises(ModelMismatch, match="newsbot index rebuild"):
        Archive(settings, embedder=onnx)
    switched = Archive(settings, embedder=onnx, check_model=False)
    switched.rebuild()
    reopened = Archive(settings, embedder=onnx)

    answer = reopened.ask(SEED_QUESTION)
    assert answer.citations[0].title == SEED_TITLE == torch_answer.citations[0].title
    assert reopened.ask("How many people were evacuated after the eruption?").found
    assert reopened.stats().model.endswith("(onnx int8)")
