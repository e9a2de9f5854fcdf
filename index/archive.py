"""The archive: passages and their vectors in SQLite, FAISS as their cache; imports, answers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import date
from pathlib import Path

from index.embed.factory import TextEmbedder, followed_model, open_embedder
from index.errors import ArchiveError, DiskFull, ModelMismatch, StorageFault, WriterBusy
from index.health import CATCH_UP, IMPORT, KEYWORD_INDEX, OPENING, VECTOR_INDEX, Health
from index.i18n import _
from index.importing import FLUSH_PASSAGES, Importer, Progress, record_model, stopped
from index.ingest.chunking import embedding_text
from index.ingest.files import read_paths
from index.records import (
    Answer,
    ArticleDraft,
    ArticleKey,
    Counts,
    Hit,
    ImportReport,
    Stats,
)
from index.search.retrieve import Ranking, Retriever
from index.settings import Settings
from index.storage.chat_questions import ChatQuestions
from index.storage.database import SQLITE_FILE, archive_target, is_url
from index.storage.database_vectors import DatabaseVectors
from index.storage.faults import read_only, translate, translated, writable
from index.storage.keywords import FOLDER, KeywordIndex
from index.storage.leases import Leases, this_process
from index.storage.legacy import import_legacy_vectors, legacy_files
from index.storage.store import Store
from index.storage.transfer import copy_archive
from index.storage.vector_cache import VectorCache
from index.storage.vector_files import remove_path
from index.storage.vectors import VectorIndex
from index.stories.stories import Stories
from index.stories.timeline import Timeline
from index.stories.trend import DEFAULT_PERIOD, Trend

log = logging.getLogger(__name__)


def _writable_dir(folder: Path) -> bool:
    """Create the data dir if need be; whether it (and the database in it) can be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        if not folder.is_dir():
            raise
    return writable(folder) and writable(folder / SQLITE_FILE)


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
        self.health = Health()
        # Why writes are refused (a read-only data dir, a disk too full to open for writing).
        self.refusal: StorageFault | None = None
        if not _writable_dir(self.data_dir):
            self.refusal = read_only(self.data_dir)
        self.store = self._open_store()
        stored = self.store.get_meta("model")
        try:
            self.embedder = embedder or open_embedder(settings, stored or "")
        except BaseException:
            self.store.close()
            raise
        if embedder is None and followed_model(settings, stored or ""):
            log.warning(
                "%s was built with the English %s; `newsbot index upgrade` moves it to the "
                "default multilingual-e5-small (questions in Ukrainian, Russian, ...)",
                self.data_dir,
                stored,
            )
        if check_model and stored and stored != self.embedder.name:
            self.store.close()
            raise ModelMismatch(
                _(
                    "The index was built with {stored!r} but EMBEDDING_MODEL and "
                    "EMBEDDING_BACKEND give {model!r}. Run `newsbot index rebuild` "
                    "to re-embed the archive with the new model, or set them back.",
                    stored=stored,
                    model=self.embedder.name,
                )
            )
        if legacy_files(self.data_dir) and not self.read_only:
            try:
                with self.write_lock():
                    import_legacy_vectors(self.store, self.data_dir)
            except BaseException:
                self.store.close()
                raise
        if settings.vector_search == "database":
            try:
                self.store.db.index_vectors(self._model_dim())
            except BaseException:
                self.store.close()
                raise
        self.cache = VectorCache(
            self.store,
            self.data_dir / "vectors.faiss",
            settings.index_type,
            self._model_dim,
            writable=not self.read_only,
        )
        self.keywords = KeywordIndex(self.store.keywords, self.data_dir / FOLDER)
        self.leases = Leases(self.store.db)
        self.questions = ChatQuestions(self.store.db)
        self._leading: dict[str, bool] = {}
        self.retriever = Retriever(settings, self.store, self.vectors, self.keywords, self.embedder)
        self.stories = Stories(settings, self.store, self.retriever, self.vectors, self.embedder)

    def _open_store(self) -> Store:
        """SQLite read-write, or read-only where it cannot be written (or opened for writing)."""
        target, busy = archive_target(self.settings), self.settings.db_busy_seconds
        if self.refusal is None:
            try:
                return Store(target, busy_seconds=busy)
            except DiskFull as fault:
                self.refusal = fault
                self.health.failed(OPENING, fault)
        log.warning("%s: opened read-only", self.refusal)
        return Store(target, read_only=True, busy_seconds=busy)

    @property
    def read_only(self) -> bool:
        """Whether writes are refused (see `refusal` for why)."""
        return self.refusal is not None

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        embedder: TextEmbedder | None = None,
        check_model: bool = True,
        announce: Callable[[str], None] = log.info,
    ) -> Archive:
        """Open the archive, seed a new empty one with the samples, and catch up its vectors.

        Without `check_model` (to rebuild for another model) nothing is embedded on opening.
        """
        with translated(settings.data_dir / SQLITE_FILE):
            archive = cls(settings, embedder, check_model=check_model)
        try:
            if archive.needs_seeds():
                announce(
                    _(
                        "Empty archive: importing the sample articles in {folder} …",
                        folder=settings.seeds_dir,
                    )
                )
                report = archive.seed()
                if report:
                    announce(_("Seeds: {summary}", summary=report.summary()))
            if check_model:
                with translated(archive.data_dir / SQLITE_FILE):
                    archive.sync()
        except BaseException:
            archive.close()
            raise
        return archive

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the retriever's threads and release the database."""
        self.retriever.close()
        self.store.close()

    def _model_dim(self) -> int:
        """The dimension before any vector is stored: the archive's record, or the model's."""
        stored = self.store.get_meta("dim")
        return int(stored) if stored else self.embedder.dim

    def vector_path(self) -> Path:
        """The FAISS file: a cache of the vectors in SQLite."""
        return self.cache.path

    def vectors(self) -> VectorIndex | DatabaseVectors:
        """The FAISS index, first brought up to date with the database (appended to or
        rebuilt); or, with NEWSBOT_VECTOR_SEARCH=database, the database's own index."""
        if self.settings.vector_search == "database":
            return DatabaseVectors(self.store.vectors, self._model_dim())
        return self.cache.current()

    def rebuild_cache(self) -> VectorIndex:
        """FAISS built afresh from the vectors in SQLite and saved; no model work."""
        return self.cache.rebuild()

    def write_lock(self, wait: bool = True) -> AbstractContextManager[None]:
        """Hold the one-writer lock; without `wait`, WriterBusy if another process holds it.

        A read-only archive has no writer to wait for (and no room for the lock file).
        """
        if self.read_only:
            return nullcontext()
        return self.store.db.write_lock(wait)

    def take_lease(self, name: str, seconds: float) -> bool:
        """Take or renew a lease on scheduled work for this process; False (logged with the
        holder) while another process holds it."""
        holder = self.leases.take(name, this_process(), seconds)
        if holder != this_process():
            log.info("%s: %s holds the lease; not running it here", name, holder)
        elif not self._leading.get(name):
            log.info("%s: this process (%s) holds the lease", name, holder)
        self._leading[name] = holder == this_process()
        return self._leading[name]

    def holds_lease(self, name: str) -> bool:
        """Whether this process held the lease at its last `take_lease`."""
        return self._leading.get(name, False)

    def release_lease(self, name: str) -> None:
        """Give up a lease this process holds (it is stopping)."""
        self.leases.release(name, this_process())

    def shared_question_limit(self, user_id: int, per_minute: int, window: float) -> float:
        """Seconds a user must wait before asking again, counted across every process."""
        return self.leases.ask(user_id, per_minute, window)

    def temp_files(self) -> list[Path]:
        """Half-written index files and folders of processes that were killed while saving."""
        return self.cache.stale_temp_files() + self.keywords.stale_folders()

    @contextmanager
    def _writing(self, wait: bool = True) -> Iterator[None]:
        """One writer at a time across processes; readers go on meanwhile."""
        if self.refusal is not None:
            raise self.refusal
        with self.write_lock(wait):
            for stale in self.temp_files():
                log.info("Removing %s, left by a process that was killed", stale.name)
                remove_path(stale)
            yield

    # keeping SQLite, FAISS and the keyword index in step

    def sync(self, wait: bool = False) -> int:
        """Embed passages stored without a vector (by an older archive); refresh FAISS and
        the keyword index.

        Without `wait`, a sync while another process writes is skipped: a reader must not
        wait for a long import, and every question catches up with SQLite anyway. What
        cannot be written (a full disk, a read-only archive) is kept in memory instead.
        """
        if self.read_only:
            keywords = self.keywords
            if not keywords.exists() or keywords.damaged() or any(keywords.behind()):
                keywords.build_in_memory()  # the folder is stale, missing or damaged
            return 0
        try:
            with self._writing(wait):
                embedded = self._embed_missing()
                self.health.recovered(CATCH_UP)
                self.save_vectors()
                self.update_keywords()
                return embedded
        except WriterBusy:
            log.info("Another writer is at work; skipping the catch-up")
        except StorageFault as fault:
            log.warning("Catching up the indexes stopped: %s", fault)
            self.health.failed(CATCH_UP, fault)
            self.update_keywords()
        return 0

    def save_vectors(self) -> None:
        """Write the FAISS file if it lags behind SQLite; on failure it serves from memory."""
        self.cache.save_if_behind()
        error = self.cache.save_error
        fault = translate(error, self.data_dir) if error else None
        if fault is None:
            self.health.recovered(VECTOR_INDEX)
        else:
            self.health.failed(VECTOR_INDEX, fault)

    def update_keywords(self) -> None:
        """Bring the keyword index up to SQLite (the caller holds the write lock); a damaged
        one is rebuilt from SQLite, one that cannot be written is built in memory."""
        try:
            try:
                self.keywords.catch_up()
            except (OSError, ValueError) as error:
                if translate(error, self.data_dir) is not None:
                    raise
                log.warning("Rebuilding the keyword index from SQLite: %s", error)
                self.keywords.rebuild()
        except Exception as error:
            fault = translate(error, self.data_dir)
            if fault is None:
                raise
            log.warning("The keyword index cannot be written (%s); searching it in memory", fault)
            self.health.failed(KEYWORD_INDEX, fault)
            self.keywords.build_in_memory()
            return
        self.health.recovered(KEYWORD_INDEX)

    def _embed_missing(self) -> int:
        # The cheap check first: FAISS holds exactly the stored vectors (their stamp matches),
        # each vector belongs to a passage, so equal counts mean no passage lacks one.
        if len(self.vectors()) == self.store.chunk_count():
            return 0
        missing = self.store.vectors.missing()
        if len(missing):
            log.info("Embedding %d passages stored without a vector", len(missing))
            record_model(self.store, self.embedder)
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
        """Store new articles, each with its passages' vectors in the same transaction.

        A full disk or a locked database stops it with how many articles were stored.
        """
        with self._writing():
            importer = Importer(self.store, self.embedder, self.settings, self.update_keywords)
            try:
                report = importer.add(drafts, source_id, progress)
            except StorageFault as fault:
                self.health.failed(IMPORT, fault)
                self.save_vectors()
                raise
            self.health.recovered(IMPORT)
            if report.added:
                self.save_vectors()
        return report

    def import_paths(self, paths: Iterable[Path], progress: Progress | None = None) -> ImportReport:
        """Import files and folders; unreadable files are reported, not fatal."""
        report = ImportReport()
        results = read_paths(paths)
        for result in results:
            report += ImportReport(failures=result.failures)
            try:
                report += self.add_drafts(result.drafts, progress=progress)
            except StorageFault as fault:
                stored = report.added + report.duplicates + fault.stored
                rest = fault.total - fault.stored + sum(len(r.drafts) for r in results)
                raise stopped(fault, stored, stored + rest) from fault
        return report

    def needs_seeds(self) -> bool:
        """Whether the archive is new and empty, so `seed` would import the samples."""
        if self.read_only:
            return False
        return not self.store.get_meta("seeded") and not self.store.counts().articles

    def seed(self) -> ImportReport | None:
        """Import the bundled sample articles into a new, empty archive (once)."""
        if not self.needs_seeds():
            return None
        report = self.import_paths([self.settings.seeds_dir])
        self.store.set_meta("seeded", "1")
        return report

    def remove_chunks(self, chunk_ids: list[int]) -> None:
        """Refresh FAISS and the keyword index after chunks (and their vectors) left SQLite."""
        if chunk_ids:
            with self._writing():
                self.save_vectors()
                self.update_keywords()

    # answers

    def ask(
        self, question: str, *, k: int | None = None, offset: int = 0, now: date | None = None
    ) -> Answer:
        """An answer built from the archive's own sentences, with numbered citations.

        `offset` skips the first results ("More ▸"); `now` is the day the question is asked.
        """
        with translated(self.data_dir / SQLITE_FILE):  # a damaged page, say: an error to act on
            return self.retriever.ask(question, k, offset, now)

    def rank(self, question: str, *, now: date | None = None, floor: bool = True) -> Ranking:
        """The passages an answer would draw on, best first, with stage timings (evaluation)."""
        return self.retriever.rank(question, now, floor=floor)

    def passage(self, chunk_id: int) -> Hit | None:
        """A stored passage with its article (score 0), or None when it is gone."""
        return self.store.hits([chunk_id]).get(chunk_id)

    def passages(self) -> dict[int, Hit]:
        """Every stored passage with its article (score 0), by chunk id."""
        return self.store.hits(self.store.chunk_ids().tolist())

    def chat_language(self, chat_id: int) -> tuple[str, bool] | None:
        """A chat's language and whether it was chosen (/language) rather than first seen."""
        return self.store.chat_language(chat_id)

    def set_chat_language(self, chat_id: int, language: str, *, chosen: bool) -> None:
        """Remember a chat's language; a seen one never replaces a chosen one."""
        self.store.set_chat_language(chat_id, language, chosen)

    def remember_question(self, chat_id: int, message_id: int, question: str | None) -> None:
        """Record the question a chat's message asked, shared by every replica (None: forget
        it, as it was not answered after all)."""
        if question is None:
            self.questions.forget(chat_id, message_id)
        else:
            self.questions.remember(chat_id, message_id, question)

    def chat_question(self, chat_id: int, message_id: int | None = None) -> str | None:
        """The question a message asked, or (no message) the chat's last recent question."""
        if message_id is None:
            return self.questions.last(chat_id)
        return self.questions.asked(chat_id, message_id)

    def counts(self) -> Counts:
        """How many articles and passages the archive holds."""
        return self.store.counts()

    def cache_lag(self) -> int:
        """Vectors stored that this process's vector cache does not hold yet (for /metrics)."""
        return self.cache.lag()

    def article_keys(self, article_ids: Sequence[int]) -> dict[int, ArticleKey]:
        """The id an article was imported with and its URL, by article id."""
        return self.store.article_keys(article_ids)

    def cited_passages(self, answer: Answer) -> dict[int, str]:
        """The whole text of each cited passage, by citation number (for a written answer)."""
        found = self.store.hits([citation.chunk_id for citation in answer.citations])
        return {c.n: found[c.chunk_id].chunk.text for c in answer.citations if c.chunk_id in found}

    # stories over time

    def timeline(self, topic: str, *, now: date | None = None) -> Timeline:
        """The topic's events, oldest first, each the archive's sentence with its citation."""
        return self.stories.timeline(topic, now)

    def trend(self, topic: str, period: str = DEFAULT_PERIOD, *, now: date | None = None) -> Trend:
        """Articles an alert on the topic would match, per day, week or month of the period."""
        return self.stories.trend(topic, period, now)

    def chart(self, trend: Trend) -> bytes:
        """The trend as a small PNG; matplotlib loads with the first chart, not with the archive."""
        from index.stories.chart import draw

        return draw(trend)

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
                progress(self.store.counts().chunks - len(missing))
            step = self.embedder.batch_size
            for start in range(0, len(missing), step):
                rows = self.store.embedding_texts(missing[start : start + step].tolist())
                vectors = self.embedder.embed_passages([embedding_text(t, c) for _, t, c in rows])
                self.store.vectors.add([row[0] for row in rows], vectors, "rebuild_vectors")
                if progress:
                    progress(len(rows))
            self.store.vectors.swap_in_rebuild(name, self.embedder.dim)
            self.update_keywords()
            return len(self.cache.rebuild())

    def backup(self, folder: Path) -> Path:
        """An online, consistent copy of the archive (SQLite's backup API) in an empty folder.

        SQLite holds everything: the vector and keyword indexes are rebuilt from it on open.
        """
        target = folder / "archive.sqlite3"
        if target.exists():
            raise ArchiveError(
                _("{folder} already holds an archive; back up into a new folder.", folder=folder)
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self.store.backup(target)
        except OSError as error:
            raise ArchiveError(
                _("Cannot write the backup to {folder}: {error}", folder=folder, error=error)
            ) from error
        return target

    def copy_to(self, target: str, progress: Callable[[str, int], None] | None = None) -> Counts:
        """Copy the archive, vectors included (nothing re-embedded), into an empty PostgreSQL
        database (a URL) or folder; the counts copied. Writers wait meanwhile."""
        location = target if is_url(target) else Path(target) / SQLITE_FILE
        with self.write_lock(wait=False):
            other = Store(location)
            try:
                return copy_archive(self.store, other, progress)
            finally:
                other.close()

    def stats(self) -> Stats:
        """Counts, model and size on disk."""
        counts = self.store.counts()
        vectors = self.vectors() if self.store.vectors.count() else None
        size = self.keywords.size() + sum(
            p.stat().st_size
            for p in self.data_dir.iterdir()
            if p.is_file() and not p.name.startswith(".")
        )
        dim = self.store.get_meta("dim")
        return Stats(
            articles=counts.articles,
            chunks=counts.chunks,
            vectors=len(vectors) if vectors else 0,
            model=self.store.get_meta("model") or self.embedder.name,
            dim=int(dim) if dim else None,
            index_type=vectors.kind if vectors else "none",
            bytes_on_disk=size,
        )
