"""Imports: drafts checked, chunked and embedded in batches; each article stored with vectors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from index.embed.factory import TextEmbedder
from index.errors import DatabaseLocked, DatabaseUnreachable, DiskFull, StorageFault
from index.i18n import _
from index.ingest.chunking import chunk_text, embedding_text
from index.ingest.files import content_hash
from index.ingest.text import valid_draft
from index.ingest.urls import canonical_url, is_web_url
from index.records import ArticleDraft, ChunkDraft, Failure, ImportReport
from index.settings import Settings
from index.storage.store import Store

Progress = Callable[[int], None]
FLUSH_PASSAGES = 256  # passages embedded in one model call before their articles are stored
LOCKED_TRIES = 3  # each waits the busy timeout (NEWSBOT_DB_BUSY_SECONDS) for the lock
log = logging.getLogger(__name__)


def stopped(fault: StorageFault, stored: int, total: int) -> StorageFault:
    """The fault again, now saying how many of the import's articles are stored."""
    if isinstance(fault, DiskFull):
        message = _(
            "disk full: {n} of {total} articles stored; free space and run it again, "
            "the rest will be imported",
            n=stored,
            total=total,
        )
    elif isinstance(fault, DatabaseLocked):
        message = _(
            "the database is locked by another program: {n} of {total} articles stored; "
            "close it (an sqlite3 or psql shell, a backup tool) and run it again, the rest will be "
            "imported",
            n=stored,
            total=total,
        )
    else:
        message = str(fault)
    return type(fault)(message, stored=stored, total=total)


@dataclass(frozen=True)
class Prepared:
    """An article ready to store: its draft (canonical URL), content hash and passages."""

    draft: ArticleDraft
    digest: str
    pieces: list[ChunkDraft]


def record_model(store: Store, embedder: TextEmbedder) -> None:
    """Name the model (and its dimension) the stored vectors come from, once."""
    if store.get_meta("model") is None:
        store.set_meta("model", embedder.name)
        store.set_meta("dim", str(embedder.dim))


@dataclass
class Importer:
    """Stores drafts in one archive; the caller holds the write lock.

    `stored` runs after each batch is stored (the archive updates its keyword index there).
    """

    store: Store
    embedder: TextEmbedder
    settings: Settings
    stored: Callable[[], object] = field(default=lambda: None)
    stored_now: int = 0  # articles of the batch in hand stored so far

    def add(
        self,
        drafts: Iterable[ArticleDraft],
        source_id: int | None = None,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Store new articles, each with its passages' vectors in the same transaction.

        A storage fault (a full disk, a locked database) stops it: the articles stored so
        far stay, and the fault says how many of how many (a second run adds the rest).
        """
        report = ImportReport()
        batch: list[Prepared] = []
        seen: set[str] = set()
        pending = iter(drafts)
        try:
            for raw in pending:
                if progress:
                    progress(1)
                prepared = self.prepare(valid_draft(raw), seen)
                if isinstance(prepared, ImportReport):
                    report += prepared
                    continue
                batch.append(prepared)
                if sum(len(item.pieces) for item in batch) >= FLUSH_PASSAGES:
                    report += self.store_batch(batch, source_id)
                    batch = []
            return report + self.store_batch(batch, source_id)
        except StorageFault as fault:
            stored = report.duplicates + self.stored_now
            left = len(batch) - self.stored_now + sum(1 for _ in pending)
            raise stopped(fault, stored, stored + left) from fault

    def prepare(self, draft: ArticleDraft, seen: set[str]) -> Prepared | ImportReport:
        """The article's passages, or a report of why it is skipped (a duplicate, no text)."""
        url = canonical_url(draft.url) if draft.url and is_web_url(draft.url) else None
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
            return ImportReport(failures=(Failure(draft.title or "untitled", "no text to index"),))
        seen.update(key for key in (digest, url) if key)
        return Prepared(replace(draft, url=url), digest, pieces)

    def store_batch(self, batch: list[Prepared], source_id: int | None) -> ImportReport:
        """Embed the batch's passages in one model call, then store each article with them."""
        if not batch:
            return ImportReport()
        texts = [embedding_text(i.draft.title, p.text) for i in batch for p in i.pieces]
        vectors = self.embedder.embed_passages(texts)
        record_model(self.store, self.embedder)
        start = 0
        self.stored_now = 0
        for item in batch:
            end = start + len(item.pieces)
            self._add_article(item, source_id, vectors[start:end])
            self.stored_now += 1
            start = end
        self.stored()
        self.stored_now = 0
        return ImportReport(added=len(batch), chunks=len(texts))

    def _add_article(self, item: Prepared, source_id: int | None, vectors: np.ndarray) -> None:
        """One article in one transaction, tried again while another program holds the lock
        or after the database server dropped the connection (its transaction rolled back)."""
        for attempt in range(1, LOCKED_TRIES + 1):
            try:
                self.store.add_article(item.draft, item.digest, item.pieces, source_id, vectors)
                return
            except (DatabaseLocked, DatabaseUnreachable) as fault:
                if attempt == LOCKED_TRIES:
                    raise
                log.warning("%s (trying again: %d of %d)", fault, attempt + 1, LOCKED_TRIES)
                # A connection lost at COMMIT may have committed: then the article is there.
                if self.store.has_article(item.draft.url, item.digest):
                    return
