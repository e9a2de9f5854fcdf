"""The vector index: exact or IVF by size and setting, removal, footed saves, type switches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SEED_QUESTION, SEED_TITLE

from index.archive import Archive
from index.embed.sbert import Embedder
from index.settings import Settings
from index.storage.vector_files import Footer
from index.storage.vector_rows import VectorStamp
from index.storage.vectors import FLAT_LIMIT, VectorIndex, wanted_kind


def clustered(count: int, seed: int = 0, dim: int = 64) -> np.ndarray:
    """Normalised vectors around the same 40 topics, like passage embeddings."""
    centres = np.random.default_rng(0).normal(size=(40, dim))
    rng = np.random.default_rng(seed)
    points = centres[rng.integers(0, 40, count)] + rng.normal(0, 0.9, (count, dim))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def ivf() -> VectorIndex:
    """An IVF index over 4,000 clustered vectors with ids 1..4000."""
    index = VectorIndex.empty(64)
    index.add(np.arange(1, 4001), clustered(4000))
    index.rebuild_as("ivf")
    return index


def test_exact_while_small_then_ivf_with_a_margin() -> None:
    assert wanted_kind("auto", FLAT_LIMIT - 1, "flat") == "flat"
    assert wanted_kind("auto", FLAT_LIMIT, "flat") == "ivf"
    assert wanted_kind("auto", FLAT_LIMIT - 1, "ivf") == "ivf"
    assert wanted_kind("auto", FLAT_LIMIT // 2 - 1, "ivf") == "flat"
    assert wanted_kind("flat", 10 * FLAT_LIMIT, "ivf") == "flat"
    assert wanted_kind("ivf", 10, "flat") == "ivf"


def test_ivf_keeps_recall_at_10_against_exact(ivf: VectorIndex) -> None:
    queries = clustered(100, seed=1)
    exact = VectorIndex.empty(64)
    exact.add(*ivf.export())

    found = ivf.search(queries, 10)[1]
    truth = exact.search(queries, 10)[1]

    assert ivf.kind == "IndexIVFFlat"
    assert ivf.nprobe is not None and ivf.nprobe < 64
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.95


def test_removed_vectors_stay_gone_in_ivf(ivf: VectorIndex, tmp_path: Path) -> None:
    vectors = dict(zip(*ivf.export(), strict=True))
    gone = np.array([5, 6, 7])

    assert ivf.remove(gone) == 3
    ivf.save(tmp_path / "v.faiss", VectorStamp(0, 4000))
    reloaded = VectorIndex.load(tmp_path / "v.faiss")[0]

    for index in (ivf, reloaded):
        ids = index.search(np.stack([vectors[5], vectors[6]]), 5)[1]
        assert not set(ids.ravel()) & {5, 6, 7}
        assert len(index) == 3997


def test_a_saved_index_names_the_state_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "v.faiss"
    index = VectorIndex.empty(64)
    index.add(np.arange(1, 1001), clustered(1000))

    index.save(path, VectorStamp(generation=3, last_id=1000))
    loaded, footer = VectorIndex.load(path)

    assert footer == Footer(VectorStamp(3, 1000), 1000)
    assert set(loaded.ids().tolist()) == set(range(1, 1001))


def test_a_damaged_or_foreign_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v.faiss"
    index = VectorIndex.empty(64)
    index.add(np.arange(1, 101), clustered(100))
    index.save(path, VectorStamp(0, 100))
    whole = path.read_bytes()

    for damaged in (whole[:200] + whole[-32:], whole[:-32], b"not an index"):
        path.write_bytes(damaged)
        with pytest.raises(ValueError):
            VectorIndex.load(path)


def test_switching_the_index_type_keeps_answers(
    archive: Archive, settings: Settings, embedder: Embedder
) -> None:
    before = archive.ask(SEED_QUESTION)
    embedded = embedder.passages_embedded

    as_ivf = Archive(settings.model_copy(update={"index_type": "ivf"}), embedder=embedder)
    as_ivf.sync()
    ivf_answer = as_ivf.ask(SEED_QUESTION)
    assert as_ivf.stats().index_type == "IndexIVFFlat"
    as_flat = Archive(settings, embedder=embedder)
    as_flat.sync()

    assert as_flat.stats().index_type == "IndexFlatIP"
    assert embedder.passages_embedded == embedded
    assert ivf_answer.citations[0].title == SEED_TITLE
    assert ivf_answer.text == before.text == as_flat.ask(SEED_QUESTION).text
