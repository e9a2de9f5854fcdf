"""The ONNX embedder: exported once, cached; fp32 gives torch's vectors, int8 a model of its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, SEED_QUESTION, SEED_TITLE

from index.archive import Archive
from index.embed.factory import Remembering, open_embedder
from index.embed.onnx import OnnxEmbedder, Precision
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
    """A model cache with the exported fp32 and int8 graphs, exported once per test run."""
    cache = tmp_path_factory.mktemp("onnx-cache")
    OnnxEmbedder(cache_dir=cache).embed_queries(["warm up"])
    OnnxEmbedder(cache_dir=cache, precision="int8").embed_queries(["warm up"])
    return cache


@pytest.fixture
def onnx(onnx_cache: Path) -> OnnxEmbedder:
    """An fp32 ONNX embedder reading the shared cache."""
    return OnnxEmbedder(cache_dir=onnx_cache)


@pytest.fixture
def onnx_int8(onnx_cache: Path) -> OnnxEmbedder:
    """An int8 ONNX embedder reading the shared cache."""
    return OnnxEmbedder(cache_dir=onnx_cache, precision="int8")


@pytest.mark.parametrize(("precision", "least_cosine"), [("fp32", 0.9999), ("int8", 0.98)])
def test_vectors_match_torch(
    onnx_cache: Path, minilm: Embedder, precision: Precision, least_cosine: float
) -> None:
    ours = OnnxEmbedder(cache_dir=onnx_cache, precision=precision).embed_queries(SENTENCES)
    reference = minilm.embed_queries(SENTENCES)

    assert ours.shape == reference.shape == (4, 384)
    assert ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    assert (ours * reference).sum(axis=1).min() >= least_cosine


def test_fp32_shares_the_archive_of_torch(
    settings: Settings, minilm: Embedder, onnx: OnnxEmbedder
) -> None:
    torch_archive = Archive(settings, embedder=minilm)
    torch_archive.seed()
    torch_archive.close()

    reopened = Archive(settings, embedder=onnx)
    reopened.import_paths([DATA / "volcano.txt"])

    assert onnx.name == minilm.name
    assert reopened.ask(SEED_QUESTION).citations[0].title == SEED_TITLE
    assert reopened.ask("How many people were evacuated after the eruption?").found


def test_export_is_cached_and_reused(onnx: OnnxEmbedder, onnx_cache: Path) -> None:
    exported = sorted(onnx_cache.glob("*.onnx"))
    stamps = [path.stat().st_mtime_ns for path in exported]

    onnx.embed_passages(["A second load reads the cached graph."])

    assert len(exported) == 2 and onnx.model_path in exported
    assert [path.stat().st_mtime_ns for path in exported] == stamps
    assert sorted(onnx_cache.iterdir()) == exported


def test_tokens_and_passages_match_torch(onnx: OnnxEmbedder, minilm: Embedder) -> None:
    text = (DATA / "volcano.txt").read_text()

    assert onnx.token_spans(text) == minilm.token_spans(text)
    assert onnx.count_tokens(text) == minilm.count_tokens(text)
    assert chunk_text(text, onnx.token_spans, 60, 10) == chunk_text(
        text, minilm.token_spans, 60, 10
    )


def test_setting_picks_the_backend(settings: Settings) -> None:
    settings = settings.model_copy(update={"embedding_model": "all-MiniLM-L6-v2"})
    default = open_embedder(settings)
    quantised = open_embedder(settings.model_copy(update={"embedding_backend": "onnx-int8"}))
    plain = open_embedder(settings.model_copy(update={"embedding_backend": "torch"}))

    assert isinstance(default, Remembering) and isinstance(quantised, Remembering)
    assert isinstance(default.inner, OnnxEmbedder) and default.inner.precision == "fp32"
    assert isinstance(quantised.inner, OnnxEmbedder) and quantised.inner.precision == "int8"
    assert default.inner.model_path.parent == settings.model_cache_dir
    unset = open_embedder(settings.model_copy(update={"model_cache_dir": None}))
    assert isinstance(unset, Remembering) and isinstance(unset.inner, OnnxEmbedder)
    assert unset.inner.model_path.parent == settings.data_dir / "models"
    assert isinstance(plain, Remembering) and isinstance(plain.inner, Embedder)


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


def test_archive_on_int8_answers_and_asks_for_a_rebuild_on_switch(
    settings: Settings, minilm: Embedder, onnx_int8: OnnxEmbedder
) -> None:
    onnx = onnx_int8
    torch_archive = Archive(settings, embedder=minilm)
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
