"""The frozen dataclasses that cross newsbot's layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Source:
    """Where articles come from: a feed, a page, a file upload or a local import."""

    id: int
    kind: str
    url: str
    title: str
    added_at: str
    last_fetch_at: str | None = None
    last_error: str | None = None
    articles: int = 0


@dataclass(frozen=True)
class ArticleDraft:
    """An article as read from a file or the web, before it is stored."""

    title: str
    text: str
    url: str | None = None
    source: str | None = None
    published: date | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class Article:
    """A stored article."""

    id: int
    title: str
    url: str | None
    source: str | None
    published: date | None
    source_id: int | None = None


@dataclass(frozen=True)
class ChunkDraft:
    """A passage of an article, before it is stored."""

    ordinal: int
    text: str


@dataclass(frozen=True)
class Chunk:
    """A stored passage; its id is also its vector id in FAISS."""

    id: int
    article_id: int
    ordinal: int
    text: str


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with its article and relevance score."""

    chunk: Chunk
    article: Article
    score: float


@dataclass(frozen=True)
class Citation:
    """A numbered reference under an answer."""

    n: int
    title: str
    url: str | None
    source: str | None
    published: date | None
    snippet: str
    score: float
    chunk_id: int


@dataclass(frozen=True)
class Answer:
    """What newsbot says to a question: sentences, each tagged with a citation number."""

    question: str
    found: bool
    sentences: tuple[tuple[str, int], ...] = ()
    citations: tuple[Citation, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        """The answer as plain text with bracketed citation numbers."""
        if not self.found:
            return "The archive has nothing on that."
        return " ".join(f"{sentence} [{n}]" for sentence, n in self.sentences)


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    added: int = 0
    duplicates: int = 0
    chunks: int = 0
    failures: tuple[tuple[str, str], ...] = ()

    def __add__(self, other: ImportReport) -> ImportReport:
        return ImportReport(
            self.added + other.added,
            self.duplicates + other.duplicates,
            self.chunks + other.chunks,
            self.failures + other.failures,
        )

    def summary(self) -> str:
        """One line for people."""
        parts = [f"{self.added} article(s) added ({self.chunks} passages)"]
        if self.duplicates:
            parts.append(f"{self.duplicates} already in the archive")
        if self.failures:
            parts.append(f"{len(self.failures)} failed")
        return ", ".join(parts) + "."
