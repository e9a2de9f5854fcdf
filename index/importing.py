"""Imports: drafts checked, chunked and embedded in batches; each article stored with vectors."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from index.embed.factory import TextEmbedder
from index.ingest.chunking import chunk_text, embedding_text
from index.ingest.files import content_hash
from index.ingest.text import valid_draft
from index.ingest.urls import canonical_url, is_web_url
from index.records import ArticleDraft, ChunkDraft, Failure, ImportReport
from index.settings import Settings
from index.storage.store import Store

Progress = Callable[[int], None]
FLUSH_PASSAGES = 256  # passages embedded in one model call before their articles are stored


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

    def add(
        self,
        drafts: Iterable[ArticleDraft],
        source_id: int | None = None,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Store new articles, each with its passages' vectors in the same transaction."""
        report = ImportReport()
        batch: list[Prepared] = []
        seen: set[str] = set()
        for raw in drafts:
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
        for item in batch:
            end = start + len(item.pieces)
            self.store.add_article(
                item.draft, item.digest, item.pieces, source_id, vectors[start:end]
            )
            start = end
        self.stored()
        return ImportReport(added=len(batch), chunks=len(texts))
