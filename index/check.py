"""Checks that SQLite, its vectors, the keyword index and the FAISS cache agree; repairs them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.archive import Archive
from index.errors import ReadOnlyArchive
from index.i18n import _, _n
from index.storage.faults import damaged, free_bytes
from index.storage.keywords import FOLDER
from index.storage.vector_files import remove_path
from index.upgrade import upgrade_notes

LOW_SPACE = 4 * 1024 * 1024  # bytes free below which the disk counts as full


@dataclass(frozen=True)
class CheckReport:
    """What `check` found: sizes, problems (none when all is well) and notes (work waiting)."""

    articles: int
    chunks: int
    vectors: int
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    waiting: int = 0  # passages stored without a vector yet; the next writer embeds them

    @property
    def ok(self) -> bool:
        """Whether nothing is lost or damaged (work merely waiting is fine)."""
        return not self.problems


def _some(ids: Sequence[int] | np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(i)) for i in ids[:limit])
    return shown + (", …" if len(ids) > limit else "")


def _meta_problems(archive: Archive, vectors: int) -> list[str]:
    stored = archive.store.get_meta("model")
    if stored and stored != archive.embedder.name:
        return [
            _(
                "The index was built with {stored!r} but EMBEDDING_MODEL is "
                "{model!r}: set it back or run `newsbot index rebuild`.",
                stored=stored,
                model=archive.embedder.name,
            )
        ]
    if vectors and not stored:
        return [_("The archive does not record which model embedded its passages.")]
    return []


def _vector_problems(archive: Archive) -> list[str]:
    """Stored vectors of the wrong size for the archive's dimension."""
    dim = archive.store.get_meta("dim")
    wrong = archive.store.vectors.bad_lengths(int(dim)) if dim else 0
    if not wrong:
        return []
    return [
        _n(
            "{n} stored vector(s) are not {dim}-dimensional.",
            "{n} stored vector(s) are not {dim}-dimensional.",
            wrong,
            dim=dim,
        )
    ]


def _cache_notes(archive: Archive) -> tuple[list[str], list[str]]:
    """(problems, notes) of the FAISS file against the vectors in SQLite."""
    name = archive.vector_path().name
    if not archive.vector_path().exists():
        return [], [_("{name} is not built yet; the next reader builds it from SQLite.", name=name)]
    if archive.cache.file_footer() is None:
        return [
            _(
                "The vector index {name} is damaged (FAISS cannot read it). Run `newsbot index "
                "check --repair` to rebuild it from SQLite (no model needed).",
                name=name,
            )
        ], []
    pending = archive.cache.pending()
    if pending < 0:
        return [], [
            _("{name} is older than SQLite; the next reader rebuilds it from SQLite.", name=name)
        ]
    if pending:
        return [], [
            _n(
                "{n} passage(s) stored since {name} was written; readers add them.",
                "{n} passage(s) stored since {name} was written; readers add them.",
                pending,
                name=name,
            )
        ]
    return [], []


def _keyword_notes(archive: Archive) -> tuple[list[str], list[str]]:
    """(problems, notes) of the keyword index against the passages in SQLite."""
    keywords = archive.keywords
    if not keywords.exists():
        return [], [
            _(
                "The keyword index {folder} is not built yet; the next writer builds it.",
                folder=FOLDER,
            )
        ]
    if keywords.damaged():
        return [
            _(
                "The keyword index {folder} is damaged or does not match the passages. Run "
                "`newsbot index check --repair` to rebuild it from SQLite (no model needed).",
                folder=FOLDER,
            )
        ], []
    added, removed = keywords.behind()
    if added or removed:
        return [], [
            _(
                "The keyword index lacks {added} new passage(s) and {removed} removal(s); "
                "the next import, refresh or bot start applies them.",
                added=added,
                removed=removed,
            )
        ]
    return [], []


def _waiting_notes(archive: Archive, missing: np.ndarray) -> list[str]:
    notes = []
    if len(missing):
        notes.append(
            _n(
                "{n} passage(s) wait for their vector (passage ids {ids}); "
                "the next import, refresh or bot start embeds them.",
                "{n} passage(s) wait for their vector (passage ids {ids}); "
                "the next import, refresh or bot start embeds them.",
                len(missing),
                ids=_some(missing),
            )
        )
    rebuilt = archive.store.vectors.count("rebuild_vectors")
    if rebuilt:
        notes.append(
            _n(
                "An interrupted `newsbot index rebuild` re-embedded {n} passage(s); "
                "running it again resumes there.",
                "An interrupted `newsbot index rebuild` re-embedded {n} passage(s); "
                "running it again resumes there.",
                rebuilt,
            )
        )
    notes += [
        _("{name} was left by a killed process; the next writer removes it.", name=stale.name)
        for stale in archive.temp_files()
    ]
    return notes


def _storage_problems(archive: Archive) -> tuple[list[str], list[str]]:
    """(problems, notes) of the disk and the process: no space, read-only, failed writes."""
    problems = [
        _("{what} could not be written: {error}", what=_(fault.where), error=fault.error)
        for fault in archive.health.faults()
    ]
    free = free_bytes(archive.data_dir)
    if free < LOW_SPACE:
        problems.append(
            _(
                "disk full: {free} bytes free on the disk holding {path}; imports stop there "
                "and the indexes are kept in memory. Free space; nothing committed is lost.",
                free=free,
                path=archive.data_dir,
            )
        )
    notes = []
    if isinstance(archive.refusal, ReadOnlyArchive):
        notes.append(
            _(
                "The archive is read-only ({path} cannot be written): questions are answered "
                "from indexes built in memory; imports and changes are refused.",
                path=archive.data_dir,
            )
        )
    return problems, notes


def check(archive: Archive) -> CheckReport:
    """Compare passages, vectors, keyword index, FAISS file, model; WriterBusy while one writes.

    SQLite's own pages are checked first (quick_check): a damaged file is restored from a
    backup, and nothing else in it can be trusted.
    """
    with archive.write_lock(wait=False):
        damage = archive.store.quick_check()
        if damage:
            detail = "; ".join(damage[:3])
            return CheckReport(0, 0, 0, (str(damaged(Path(archive.store.location), detail)),))
        storage_problems, storage_notes = _storage_problems(archive)
        counts = archive.store.counts()
        vectors = archive.store.vectors.count()
        missing = archive.store.vectors.missing()
        problems = _meta_problems(archive, vectors) + _vector_problems(archive)
        cache_problems, notes = _cache_notes(archive)
        keyword_problems, keyword_notes = _keyword_notes(archive)
        problems += cache_problems + keyword_problems + storage_problems
        notes += (
            keyword_notes
            + _waiting_notes(archive, missing)
            + storage_notes
            + upgrade_notes(archive)
        )
    return CheckReport(
        counts.articles, counts.chunks, vectors, tuple(problems), tuple(notes), len(missing)
    )


def repair(archive: Archive) -> CheckReport:
    """Rebuild the keyword index and the FAISS file from SQLite, without the model."""
    if archive.refusal is not None:
        raise archive.refusal
    if archive.store.get_meta("model") not in (None, archive.embedder.name):
        return check(archive)  # switching models is `newsbot index rebuild`, on purpose
    with archive.write_lock():
        for stale in archive.temp_files():
            remove_path(stale)
        archive.update_keywords()  # rebuilt from SQLite when damaged
        archive.cache.rebuild()
    return check(archive)
