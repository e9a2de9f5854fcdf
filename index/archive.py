"""The archive: SQLite and FAISS kept in step, with imports, answers and rebuilds."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from index.embed.factory import TextEmbedder, open_embedder
from index.errors import IndexUnreadable, ModelMismatch, WriterBusy
from index.ingest.chunking import chunk_text, embedding_text
from index.ingest.files import content_hash, read_paths
from index.ingest.urls import canonical_url
from index.records import Answer, ArticleDraft, ImportReport
from index.search.retrieve import Retriever
from index.settings import Settings
from index.storage.store import Store
from index.storage.vectors import VectorIndex, delta_path, file_stamp

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
FLUSH_PASSAGES = 256
SAVE_EVERY_PASSAGES = 4096


@dataclass(frozen=True)
class Stats:
    """How big the archive is and how it is indexed."""

    articles: int
    chunks: int
    vectors: int
    model: str
    dim: int | None
    index_type: str
    bytes_on_disk: int


def model_fingerprint(name: str) -> str:
    """A short stable tag for a model, used in the vector file's name."""
    return hashlib.sha256(name.encode()).hexdigest()[:12]


def _is_web_url(url: str) -> bool:
    """Only http(s) links are kept: a javascript: or file: link must never reach a reader."""
    return url.strip().lower().startswith(("http://", "https://"))


def _valid_text(draft: ArticleDraft) -> ArticleDraft:
    """The draft without lone surrogates (a JSON "\\ud800"): SQLite and the model refuse them."""

    def valid(value: str | None) -> str | None:
        return None if value is None else value.encode("utf-8", "replace").decode("utf-8")

    return replace(
        draft,
        title=valid(draft.title) or "",
        text=valid(draft.text) or "",
        url=valid(draft.url),
        source=valid(draft.source),
        external_id=valid(draft.external_id),
    )


class Archive:
    """Opens the data dir; every front end talks to the archive through this."""

    def __init__(
        self,
        settings: Settings,
        embedder: TextEmbedder | None = None,
        *,
        check_model: bool = True,
    ) -> None:
        self.settings = settings
        self.data_dir = settings.data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.embedder = embedder or open_embedder(settings)
        self.store = Store(self.data_dir / "archive.sqlite3")
        stored = self.store.get_meta("model")
        if check_model and stored and stored != self.embedder.name:
            raise ModelMismatch(
                f"The index was built with {stored!r} but EMBEDDING_MODEL and "
                f"EMBEDDING_BACKEND give {self.embedder.name!r}. Run `newsbot index rebuild` "
                "to re-embed the archive with the new model, or set them back."
            )
        self._vectors: VectorIndex | None = None
        self._vectors_stamp: tuple[int, ...] | None = None
        self.retriever = Retriever(settings, self.store, self.vectors, self.embedder)

    def close(self) -> None:
        """Release the database."""
        self.store.close()

    # vectors on disk

    def vector_path(self, model: str | None = None) -> Path:
        """The FAISS file of a model (the configured one by default)."""
        return self.data_dir / f"vectors-{model_fingerprint(model or self.embedder.name)}.faiss"

    def _stamp(self) -> tuple[int, ...] | None:
        path = self.vector_path()
        return file_stamp(path) if path.exists() else None

    def vectors(self) -> VectorIndex:
        """The current index, re-read when another process has replaced the file."""
        stamp = self._stamp()
        if self._vectors is None or (stamp is not None and stamp != self._vectors_stamp):
            if stamp is None:
                self._vectors = VectorIndex.empty(self.embedder.dim)
            else:
                self._vectors = self._load(self.vector_path(), self._vectors)
            self._vectors_stamp = stamp
        return self._vectors

    @staticmethod
    def _load(path: Path, previous: VectorIndex | None = None) -> VectorIndex:
        for _ in range(5):
            try:
                return VectorIndex.load(path, previous)
            except FileNotFoundError:
                continue  # a writer swapped the index and its delta while we read them
            except (RuntimeError, ValueError, KeyError, OSError, zipfile.BadZipFile) as error:
                raise IndexUnreadable(
                    f"The vector index {path.name} is damaged (FAISS cannot read it). "
                    "Run `newsbot index check --repair` to rebuild it from the articles."
                ) from error
        return VectorIndex.load(path, previous)

    def _save(self, vectors: VectorIndex) -> None:
        if vectors.fit(self.settings.index_type):
            log.info("Rebuilt the vector index as %s for %d passages", vectors.kind, len(vectors))
        vectors.save(self.vector_path())
        self._vectors, self._vectors_stamp = vectors, self._stamp()

    @contextmanager
    def write_lock(self, wait: bool = True) -> Iterator[None]:
        """Hold the one-writer lock; without `wait`, WriterBusy if another process holds it."""
        with open(self.data_dir / "write.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as error:
                raise WriterBusy(
                    "Another import, refresh or rebuild is writing to the archive; "
                    "try again when it has finished."
                ) from error
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def temp_files(self) -> list[Path]:
        """Half-written index files; with the write lock held, left by a killed writer."""
        return sorted(self.data_dir.glob(".vectors-*.tmp"))

    @contextmanager
    def _writing(self, wait: bool = True) -> Iterator[VectorIndex]:
        """One writer at a time across processes; readers go on with the old index."""
        with self.write_lock(wait):
            self._drop_temp_files()
            yield self.vectors()

    def _drop_temp_files(self) -> None:
        for stale in self.temp_files():
            log.info("Removing %s, left by a writer that was killed", stale.name)
            stale.unlink(missing_ok=True)

    def _embed_into(self, vectors: VectorIndex, pending: list[tuple[int, str]]) -> None:
        if not pending:
            return
        ids = np.array([chunk_id for chunk_id, _ in pending], dtype=np.int64)
        vectors.add(ids, self.embedder.embed_passages([text for _, text in pending]))
        if self.store.get_meta("model") is None:
            self.store.set_meta("model", self.embedder.name)
            self.store.set_meta("dim", str(vectors.dim))

    # keeping SQLite and FAISS in step

    def sync(self, wait: bool = False) -> int:
        """Embed passages that have no vector yet and drop vectors of deleted passages.

        Without `wait`, a sync while another process writes is skipped: that writer synced
        when it opened the archive, and a reader must not wait for a long import.
        """
        try:
            with self._writing(wait) as vectors:
                return self._catch_up(vectors)
        except WriterBusy:
            log.info("Another writer is at work; skipping the catch-up")
            return 0

    def _catch_up(self, vectors: VectorIndex) -> int:
        ids, copies = np.unique(vectors.ids(), return_counts=True)
        # An id stored twice is dropped whole and embedded again below.
        vector_ids = ids[copies == 1]
        chunk_ids = self.store.chunk_ids()
        missing = np.setdiff1d(chunk_ids, vector_ids, assume_unique=True)
        extra = np.concatenate(
            [np.setdiff1d(vector_ids, chunk_ids, assume_unique=True), ids[copies > 1]]
        )
        if len(missing) == 0 and len(extra) == 0:
            if vectors.fit(self.settings.index_type):  # NEWSBOT_INDEX_TYPE changed
                self._save(vectors)
            return 0
        log.info("Catching up: %d passages to embed, %d to drop", len(missing), len(extra))
        vectors.remove(extra)
        for start in range(0, len(missing), FLUSH_PASSAGES):
            rows = self.store.embedding_texts(missing[start : start + FLUSH_PASSAGES].tolist())
            self._embed_into(vectors, [(i, embedding_text(t, c)) for i, t, c in rows])
        self._save(vectors)
        return int(len(missing) + len(extra))

    # imports

    def add_drafts(
        self,
        drafts: Iterable[ArticleDraft],
        source_id: int | None = None,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Store new articles, embed only their passages, and save the index."""
        added = duplicates = chunks = 0
        failures: list[tuple[str, str]] = []
        with self._writing() as vectors:
            pending: list[tuple[int, str]] = []
            unsaved = 0
            for raw in drafts:
                if progress:
                    progress(1)
                draft = _valid_text(raw)
                url = canonical_url(draft.url) if draft.url and _is_web_url(draft.url) else None
                digest = content_hash(draft.text)
                if self.store.has_article(url, digest):
                    duplicates += 1
                    continue
                pieces = chunk_text(
                    draft.text,
                    self.embedder.token_spans,
                    self.settings.chunk_tokens,
                    self.settings.chunk_overlap,
                )
                if not pieces:
                    failures.append((draft.title or "untitled", "no text to index"))
                    continue
                article, stored = self.store.add_article(
                    replace(draft, url=url), digest, pieces, source_id
                )
                added += 1
                chunks += len(stored)
                pending += [(c.id, embedding_text(article.title, c.text)) for c in stored]
                if len(pending) >= FLUSH_PASSAGES:
                    self._embed_into(vectors, pending)
                    unsaved += len(pending)
                    pending = []
                    if unsaved >= SAVE_EVERY_PASSAGES:
                        self._save(vectors)
                        unsaved = 0
            self._embed_into(vectors, pending)
            if added:
                self._save(vectors)
        return ImportReport(added, duplicates, chunks, tuple(failures))

    def import_paths(self, paths: Iterable[Path], progress: Progress | None = None) -> ImportReport:
        """Import files and folders; unreadable files are reported, not fatal."""
        report = ImportReport()
        for result in read_paths(paths):
            report += ImportReport(failures=result.failures)
            report += self.add_drafts(result.drafts, progress=progress)
        return report

    def needs_seeds(self) -> bool:
        """Whether the archive is new and empty, so `seed` would import the samples."""
        return not self.store.get_meta("seeded") and not self.store.counts()[0]

    def seed(self) -> ImportReport | None:
        """Import the bundled sample articles into a new, empty archive (once)."""
        if not self.needs_seeds():
            return None
        report = self.import_paths([self.settings.seeds_dir])
        self.store.set_meta("seeded", "1")
        return report

    def remove_chunks(self, chunk_ids: list[int]) -> None:
        """Drop vectors of chunks already deleted from SQLite."""
        with self._writing() as vectors:
            vectors.remove(np.array(chunk_ids, dtype=np.int64))
            self._save(vectors)

    # answers

    def ask(self, question: str, k: int | None = None, offset: int = 0) -> Answer:
        """An answer built from the archive's own sentences, with numbered citations."""
        return self.retriever.ask(question, k, offset)

    def passages(self, answer: Answer) -> dict[int, str]:
        """The whole text of each cited passage, by citation number (for a written answer)."""
        found = self.store.hits([citation.chunk_id for citation in answer.citations])
        return {c.n: found[c.chunk_id][0].text for c in answer.citations if c.chunk_id in found}

    # whole-index work

    def rebuild(self, progress: Progress | None = None) -> int:
        """Re-embed every passage into a new index and swap it in; the old one serves meanwhile."""
        with self.write_lock():
            self._drop_temp_files()
            fresh = VectorIndex.empty(self.embedder.dim)
            for rows in self.store.iter_embedding_texts(self.embedder.batch_size):
                ids = np.array([row[0] for row in rows], dtype=np.int64)
                fresh.add(
                    ids, self.embedder.embed_passages([embedding_text(t, c) for _, t, c in rows])
                )
                if progress:
                    progress(len(rows))
            previous = self.store.get_meta("model")
            self._save(fresh)
            self.store.set_meta("model", self.embedder.name)
            self.store.set_meta("dim", str(fresh.dim))
            if previous and previous != self.embedder.name:
                self.vector_path(previous).unlink(missing_ok=True)
                delta_path(self.vector_path(previous)).unlink(missing_ok=True)
            return len(fresh)

    def stats(self) -> Stats:
        """Counts, model and size on disk."""
        articles, chunks = self.store.counts()
        path = self.vector_path()
        vectors = self.vectors() if path.exists() else None
        size = sum(
            p.stat().st_size
            for p in self.data_dir.iterdir()
            if p.is_file() and not p.name.startswith(".")
        )
        dim = self.store.get_meta("dim")
        return Stats(
            articles=articles,
            chunks=chunks,
            vectors=len(vectors) if vectors else 0,
            model=self.store.get_meta("model") or self.embedder.name,
            dim=int(dim) if dim else None,
            index_type=vectors.kind if vectors else "none",
            bytes_on_disk=size,
        )
