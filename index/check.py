"""Checks that SQLite, the keyword index and FAISS agree, and repairs them from SQLite."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.archive import Archive
from index.errors import IndexUnreadable


@dataclass(frozen=True)
class CheckReport:
    """What `check` found: sizes, and one sentence per problem (none when all is well)."""

    articles: int
    chunks: int
    vectors: int
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether everything agrees."""
        return not self.problems


def _some(ids: Sequence[int] | np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(i)) for i in ids[:limit])
    return shown + (", …" if len(ids) > limit else "")


def _vector_problems(archive: Archive, chunk_ids: np.ndarray) -> tuple[int, list[str]]:
    """(vectors, problems) of the FAISS file against the passages in SQLite."""
    if not archive.vector_path().exists():
        # No file yet: nothing is indexed (and the model need not load to say so).
        return 0, [f"{len(chunk_ids)} passage(s) have no vector."] if len(chunk_ids) else []
    try:
        vectors = archive.vectors()
    except IndexUnreadable as error:
        return 0, [str(error)]
    problems: list[str] = []
    ids, copies = np.unique(vectors.ids(), return_counts=True)
    missing = np.setdiff1d(chunk_ids, ids, assume_unique=True)
    extra = np.setdiff1d(ids, chunk_ids, assume_unique=True)
    if len(missing):
        problems.append(f"{len(missing)} passage(s) have no vector (passage ids {_some(missing)}).")
    if len(extra):
        problems.append(f"{len(extra)} vector(s) belong to no passage (ids {_some(extra)}).")
    if (copies > 1).any():
        twice = ids[copies > 1]
        problems.append(f"{len(twice)} passage(s) have more than one vector (ids {_some(twice)}).")
    stored_dim = archive.store.get_meta("dim")
    if stored_dim and int(stored_dim) != vectors.dim:
        problems.append(f"The index holds {vectors.dim}-d vectors, the archive says {stored_dim}.")
    return len(vectors), problems


def _meta_problems(archive: Archive, chunks: int) -> list[str]:
    stored = archive.store.get_meta("model")
    if stored and stored != archive.embedder.name:
        return [
            f"The index was built with {stored!r} but EMBEDDING_MODEL is "
            f"{archive.embedder.name!r}: set it back or run `newsbot index rebuild`."
        ]
    if chunks and not stored:
        return ["The archive does not record which model embedded its passages."]
    return []


def check(archive: Archive) -> CheckReport:
    """Compare passages, keyword index, vectors and model; WriterBusy while another writes."""
    with archive.write_lock(wait=False):
        counts = archive.store.counts()
        problems = _meta_problems(archive, counts.chunks)
        vectors, found = _vector_problems(archive, archive.store.chunk_ids())
        problems += found
        if not archive.store.keyword_index_ok():
            problems.append("The keyword index does not match the passages.")
        problems += [
            f"{stale.name} is a half-written index left by a killed writer."
            for stale in archive.temp_files()
        ]
    return CheckReport(counts.articles, counts.chunks, vectors, tuple(problems))


def repair(archive: Archive) -> CheckReport:
    """Bring the keyword index and the vectors back in step with SQLite; articles stay."""
    if archive.store.get_meta("model") not in (None, archive.embedder.name):
        return check(archive)  # switching models is `newsbot index rebuild`, on purpose
    try:
        readable = archive.vectors().dim == archive.embedder.dim
    except IndexUnreadable:
        readable = False
    if not archive.store.keyword_index_ok():
        archive.store.rebuild_keyword_index()
    if readable:
        archive.sync(wait=True)
    else:
        archive.rebuild()
    return check(archive)
