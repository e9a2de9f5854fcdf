"""The frozen dataclasses that cross newsbot's layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from index.i18n import _, _n

SourceKind = Literal["feed", "page", "file"]


@dataclass(frozen=True)
class Source:
    """Where articles come from: a feed, a page, or a file (uploaded or fetched)."""

    id: int
    kind: SourceKind
    url: str
    title: str
    added_at: datetime
    last_fetch_at: datetime | None = None
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
class Counts:
    """How many articles and passages the archive holds."""

    articles: int
    chunks: int


@dataclass(frozen=True)
class Failure:
    """Something that could not be imported: where (a file, record or title) and why."""

    where: str
    why: str


@dataclass(frozen=True)
class Sentence:
    """A sentence of an answer and the number of the citation it comes from."""

    text: str
    n: int


@dataclass(frozen=True)
class ArticleKey:
    """How an article was known before import: its record's id and its URL."""

    external_id: str | None
    url: str | None


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
    sentences: tuple[Sentence, ...] = ()
    citations: tuple[Citation, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        """The answer as plain text with bracketed citation numbers."""
        if not self.found:
            return _("The archive has nothing on that.")
        return " ".join(f"{sentence.text} [{sentence.n}]" for sentence in self.sentences)


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    added: int = 0
    duplicates: int = 0
    chunks: int = 0
    failures: tuple[Failure, ...] = ()

    def __add__(self, other: ImportReport) -> ImportReport:
        return ImportReport(
            self.added + other.added,
            self.duplicates + other.duplicates,
            self.chunks + other.chunks,
            self.failures + other.failures,
        )

    def summary(self) -> str:
        """One line for people."""
        # English keeps "article(s)" for every n; other languages choose their plural forms.
        passages = _n("{n} passages", "{n} passages", self.chunks)
        parts = [
            _n(
                "{n} article(s) added ({passages})",
                "{n} article(s) added ({passages})",
                self.added,
                passages=passages,
            )
        ]
        if self.duplicates:
            parts.append(
                _n("{n} already in the archive", "{n} already in the archive", self.duplicates)
            )
        if self.failures:
            parts.append(_n("{n} failed", "{n} failed", len(self.failures)))
        return ", ".join(parts) + "."
