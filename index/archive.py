"""The archive: passages and their vectors in SQLite, FAISS as their cache; imports, answers."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from index.embed.factory import TextEmbedder, open_embedder
from index.errors import ArchiveError, ModelMismatch, WriterBusy
from index.ingest.chunking import chunk_text, embedding_text
from index.ingest.files import content_hash, read_paths
from index.ingest.urls import canonical_url
from index.records import Answer, ArticleDraft, ChunkDraft, ImportReport
from index.search.retrieve import Retriever
from index.settings import Settings
from index.storage.legacy import import_legacy_vectors, legacy_files
from index.storage.store import Store
from index.storage.vector_cache import VectorCache
from index.storage.vectors import VectorIndex

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
FLUSH_PASSAGES = 256  # passages embedded in one model call before their articles are stored


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


@dataclass(frozen=True)
class _Prepared:
    """An article ready to store: its draft (canonical URL), content hash and passages."""

    draft: ArticleDraft
    digest: str
    pieces: list[ChunkDraft]


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
        if legacy_files(self.data_dir):
            with self.write_lock():
                import_legacy_vectors(self.store, self.data_dir)
        self.cache = VectorCache(
            self.store, self.data_dir / "vectors.faiss", settings.index_type, self._model_dim
        )
        self.retriever = Retriever(settings, self.store, self.vectors, self.embedder)

    def close(self) -> None:
        """Release the database."""
        self.store.close()

    def _model_dim(self) -> int:
        """The dimension before any vector is stored: the archive's record, or the model's."""
        stored = self.store.get_meta("dim")
        return int(stored) if stored else self.embedder.dim

    def vector_path(self) -> Path:
        """The FAISS file: a cache of the vectors in SQLite."""
        return self.cache.path

    def vectors(self) -> VectorIndex:
        """The FAISS index, first brought up to date with SQLite (appended to or rebuilt)."""
        return self.cache.current()

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
        """Half-written index files of processes that were killed while saving."""
        return self.cache.stale_temp_files()

    @contextmanager
    def _writing(self, wait: bool = True) -> Iterator[None]:
        """One writer at a time across processes; readers go on meanwhile."""
        with self.write_lock(wait):
            for stale in self.temp_files():
                log.info("Removing %s, left by a process that was killed", stale.name)
                stale.unlink(missing_ok=True)
            yield

    def _record_model(self) -> None:
        if self.store.get_meta("model") is None:
            self.store.set_meta("model", self.embedder.name)
            self.store.set_meta("dim", str(self.embedder.dim))

    # keeping SQLite and FAISS in step

    def sync(self, wait: bool = False) -> int:
        """Embed passages stored without a vector (by an older archive), and refresh FAISS.

        Without `wait`, a sync while another process writes is skipped: a reader must not
        wait for a long import, and every question catches up with SQLite anyway.
        """
        try:
            with self._writing(wait):
                embedded = self._embed_missing()
                self.cache.save_if_behind()
                return embedded
        except WriterBusy:
            log.info("Another writer is at work; skipping the catch-up")
            return 0

    def _embed_missing(self) -> int:
        missing = self.store.vectors.missing()
        if len(missing):
            log.info("Embedding %d passages stored without a vector", len(missing))
            self._record_model()
        for start in range(0, len(missing), FLUSH_PASSAGES):
            rows = self.store.embedding_texts(missing[start : start + FLUSH_PASSAGES].tolist())
            vectors = self.embedder.embed_passages([embedding_text(t, c) for _, t, c in rows])
            self.store.vectors.add([row[0] for row in rows], vectors)
        return len(missing)

    # imports

    def add_drafts(
        self,
        drafts: Iterable[ArticleDraft],
        source_id: int | None = None,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Store new articles, each with its passages' vectors in the same transaction."""
        report = ImportReport()
        with self._writing():
            batch: list[_Prepared] = []
            seen: set[str] = set()
            for raw in drafts:
                if progress:
                    progress(1)
                prepared = self._prepare(_valid_text(raw), seen)
                if isinstance(prepared, ImportReport):
                    report += prepared
                    continue
                batch.append(prepared)
                if sum(len(item.pieces) for item in batch) >= FLUSH_PASSAGES:
                    report += self._store_batch(batch, source_id)
                    batch = []
            report += self._store_batch(batch, source_id)
            if report.added:
                self.cache.save_if_behind()
        return report

    def _prepare(self, draft: ArticleDraft, seen: set[str]) -> _Prepared | ImportReport:
        """The article's passages, or a report of why it is skipped (a duplicate, no text)."""
        url = canonical_url(draft.url) if draft.url and _is_web_url(draft.url) else None
        digest = content_hash(draft.text)
        if digest in seen or url in seen or self.store.has_article(url, digest):
            return ImportReport(duplicates=1)
        pieces = chunk_text(
            draft.text,
            self.embedder.token_spans,
            self.settings.chunk_tokens,
            self.settings.chunk_overlap,
        )
        if not pieces:
            return ImportReport(failures=((draft.title or "untitled", "no text to index"),))
        seen.update(key for key in (digest, url) if key)
        return _Prepared(replace(draft, url=url), digest, pieces)

    def _store_batch(self, batch: list[_Prepared], source_id: int | None) -> ImportReport:
        """Embed the batch's passages in one model call, then store each article with them."""
        if not batch:
            return ImportReport()
        texts = [embedding_text(i.draft.title, p.text) for i in batch for p in i.pieces]
        vectors = self.embedder.embed_passages(texts)
        self._record_model()
        start = 0
        for item in batch:
            end = start + len(item.pieces)
            self.store.add_article(
                item.draft, item.digest, item.pieces, source_id, vectors[start:end]
            )
            start = end
        return ImportReport(added=len(batch), chunks=len(texts))

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
        """Refresh FAISS after chunks (and, by cascade, their vectors) left SQLite."""
        if chunk_ids:
            with self._writing():
                self.cache.save_if_behind()

    # answers

    def ask(self, question: str, k: int | None = None, offset: int = 0) -> Answer:
        """An answer built from the archive's own sentences, with numbered citations."""
        return self.retriever.ask(question, k, offset)

    # whole-index work

    def rebuild(self, progress: Progress | None = None) -> int:
        """Re-embed every passage (resuming a killed rebuild) and swap the vectors in whole."""
        with self._writing():
            name = self.embedder.name
            if self.store.get_meta("rebuild_model") != name:
                self.store.vectors.clear_rebuild()
                self.store.set_meta("rebuild_model", name)
            missing = self.store.vectors.missing("rebuild_vectors")
            if progress:
                progress(self.store.counts()[1] - len(missing))
            step = self.embedder.batch_size
            for start in range(0, len(missing), step):
                rows = self.store.embedding_texts(missing[start : start + step].tolist())
                vectors = self.embedder.embed_passages([embedding_text(t, c) for _, t, c in rows])
                self.store.vectors.add([row[0] for row in rows], vectors, "rebuild_vectors")
                if progress:
                    progress(len(rows))
            self.store.vectors.swap_in_rebuild(name, self.embedder.dim)
            return len(self.cache.rebuild())

    def backup(self, folder: Path) -> Path:
        """An online, consistent copy of the archive (SQLite's backup API) in an empty folder."""
        target = folder / "archive.sqlite3"
        if target.exists():
            raise ArchiveError(f"{folder} already holds an archive; back up into a new folder.")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self.store.backup(target)
        except OSError as error:
            raise ArchiveError(f"Cannot write the backup to {folder}: {error}") from error
        return target

    def stats(self) -> Stats:
        """Counts, model and size on disk."""
        articles, chunks = self.store.counts()
        vectors = self.vectors() if self.store.vectors.count() else None
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
