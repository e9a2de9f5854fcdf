"""The archive's database holds sources, articles and chunks; numbered migrations run on open."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.records import Article, ArticleDraft, ArticleKey, Chunk, ChunkDraft, Counts, Hit, Source
from index.storage.database import Database, connect
from index.storage.keyword_rows import KeywordRows
from index.storage.migrations import migrate
from index.storage.rows import article_row, now, source_row
from index.storage.vector_rows import VectorRows

CHUNK_ROWS = 300  # chunks inserted by one statement (3 parameters each, under SQLite's limit)
_ARTICLE_COLUMNS = "a.id, a.title, a.url, a.source_name, a.published, a.source_id"


class Store:
    """The archive's database (SQLite or PostgreSQL, see `database.connect`); thread-safe."""

    def __init__(
        self, target: str | Path | Database, *, read_only: bool = False, busy_seconds: float = 30
    ) -> None:
        if isinstance(target, str | Path):
            target = connect(target, read_only=read_only, busy_seconds=busy_seconds)
        self.db = target
        self.read_only = target.read_only
        try:
            if not self.read_only:  # a read-only SQLite file was checked to need no migration
                migrate(self.db)
        except BaseException:
            self.db.close()
            raise
        self.vectors = VectorRows(self.db)
        self.keywords = KeywordRows(self.db)

    @property
    def location(self) -> str | Path:
        """What `connect` opens again: the SQLite file or the server's URL."""
        return self.db.target

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def backup(self, target: Path) -> None:
        """A consistent copy of the database in the SQLite file `target`, taken online."""
        self.db.backup(target)

    def quick_check(self) -> list[str]:
        """What the engine's own check finds wrong with the stored pages; empty when sound."""
        return self.db.quick_check()

    @property
    def schema_version(self) -> int:
        """The number of the last migration applied."""
        return self.db.schema_version()

    # meta

    def get_meta(self, key: str) -> str | None:
        """A stored setting of the archive itself (its model, say)."""
        row = self.db.one("SELECT value FROM meta WHERE key=?", (key,))
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting of the archive itself."""
        self.db.run(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    # chats

    def chat_language(self, chat_id: int) -> tuple[str, bool] | None:
        """The chat's language and whether someone chose it with /language; None if unknown."""
        row = self.db.one("SELECT language, chosen FROM chat_languages WHERE chat_id=?", (chat_id,))
        return None if row is None else (str(row[0]), bool(row[1]))

    def set_chat_language(self, chat_id: int, language: str, chosen: bool) -> None:
        """Remember a chat's language; a chosen one is only replaced by another choice."""
        self.db.run(
            "INSERT INTO chat_languages(chat_id, language, chosen) VALUES(?, ?, ?) "
            "ON CONFLICT(chat_id) DO UPDATE SET language=excluded.language, "
            "chosen=excluded.chosen WHERE excluded.chosen <> 0 OR chat_languages.chosen = 0",
            (chat_id, language, int(chosen)),
        )

    # sources

    def add_source(self, kind: str, url: str, title: str = "") -> Source:
        """Record a new source; its URL must be new."""
        with self.db.transaction():
            row = self.db.one(
                "INSERT INTO sources(kind, url, title, added_at) VALUES(?, ?, ?, ?) RETURNING id",
                (kind, url, title, now()),
            )
        assert row is not None
        source = self.get_source(int(row[0]))  # type: ignore[call-overload]
        assert source is not None
        return source

    def _sources(self, where: str, args: Sequence[object]) -> list[Source]:
        rows = self.db.rows(
            "SELECT s.id, s.kind, s.url, s.title, s.added_at, s.last_fetch_at, s.last_error, "
            "(SELECT COUNT(*) FROM articles a WHERE a.source_id = s.id) "
            f"FROM sources s {where} ORDER BY s.id",
            args,
        )
        return [source_row(row) for row in rows]

    def get_source(self, source_id: int) -> Source | None:
        """The source with this id, if any."""
        found = self._sources("WHERE s.id=?", (source_id,))
        return found[0] if found else None

    def find_source(self, url: str) -> Source | None:
        """The source with this URL, if any."""
        found = self._sources("WHERE s.url=?", (url,))
        return found[0] if found else None

    def list_sources(self) -> list[Source]:
        """Every source, oldest first."""
        return self._sources("", ())

    def source_validators(self, source_id: int) -> tuple[str | None, str | None]:
        """The ETag and Last-Modified the source's server gave last time."""
        row = self.db.one("SELECT etag, last_modified FROM sources WHERE id=?", (source_id,))
        return (None, None) if row is None else (row[0], row[1])  # type: ignore[return-value]

    def record_fetch(
        self,
        source_id: int,
        error: str | None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """Remember when a source was fetched, how it went and its cache validators."""
        self.db.run(
            "UPDATE sources SET last_fetch_at=?, last_error=?, "
            "etag=COALESCE(?, etag), last_modified=COALESCE(?, last_modified) WHERE id=?",
            (now(), error, etag, last_modified, source_id),
        )

    def remove_source(self, source_id: int) -> list[int]:
        """Delete a source with its articles and chunks; returns the removed chunk ids."""
        with self.db.transaction():
            rows = self.db.rows(
                "SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id "
                "WHERE a.source_id=?",
                (source_id,),
            )
            self.db.run("DELETE FROM sources WHERE id=?", (source_id,))
        return [int(row[0]) for row in rows]  # type: ignore[call-overload]

    # articles and chunks

    def has_article(self, url: str | None, content_hash: str) -> bool:
        """Whether an article with this canonical URL or this content is stored."""
        row = self.db.one(
            "SELECT 1 FROM articles WHERE content_hash=? OR (url IS NOT NULL AND url=?)",
            (content_hash, url),
        )
        return row is not None

    def known_urls(self, urls: Sequence[str]) -> set[str]:
        """Which of these canonical URLs already have an article."""
        found: set[str] = set()
        for start in range(0, len(urls), 900):
            part = list(urls[start : start + 900])
            marks = ",".join("?" * len(part))
            rows = self.db.rows(f"SELECT url FROM articles WHERE url IN ({marks})", part)
            found.update(str(row[0]) for row in rows)
        return found

    def recent_texts(self, limit: int, after_id: int = 0) -> list[tuple[int, str]]:
        """(article id, text) of the most recently added articles after an id, newest first."""
        rows = self.db.rows(
            "SELECT id, text FROM articles WHERE id > ? ORDER BY id DESC LIMIT ?",
            (after_id, limit),
        )
        return [(int(row[0]), str(row[1])) for row in rows]  # type: ignore[call-overload]

    def add_article(
        self,
        draft: ArticleDraft,
        content_hash: str,
        chunks: Sequence[ChunkDraft],
        source_id: int | None = None,
        vectors: np.ndarray | None = None,
    ) -> tuple[Article, list[Chunk]]:
        """Store an article, its chunks and their vectors (rows in chunk order) together."""
        with self.db.transaction():
            row = self.db.one(
                "INSERT INTO articles(source_id, url, title, source_name, published, "
                "external_id, content_hash, text, added_at) VALUES(?,?,?,?,?,?,?,?,?) "
                "RETURNING id",
                (
                    source_id,
                    draft.url,
                    draft.title,
                    draft.source,
                    draft.published.isoformat() if draft.published else None,
                    draft.external_id,
                    content_hash,
                    draft.text,
                    now(),
                ),
            )
            assert row is not None
            article_id = int(row[0])  # type: ignore[call-overload]
            stored = self._add_chunks(article_id, chunks)
            if vectors is not None:
                self.vectors.insert([c.id for c in stored], vectors)
        article = Article(
            article_id, draft.title, draft.url, draft.source, draft.published, source_id
        )
        return article, stored

    def _add_chunks(self, article_id: int, chunks: Sequence[ChunkDraft]) -> list[Chunk]:
        """An article's chunks, a statement per CHUNK_ROWS (one round trip, not one a chunk)."""
        ids: dict[int, int] = {}
        for at in range(0, len(chunks), CHUNK_ROWS):
            part = chunks[at : at + CHUNK_ROWS]
            rows = self.db.rows(
                "INSERT INTO chunks(article_id, ordinal, text) VALUES "
                + ", ".join(["(?,?,?)"] * len(part))
                + " RETURNING ordinal, id",  # RETURNING's order is not promised: by ordinal
                [value for chunk in part for value in (article_id, chunk.ordinal, chunk.text)],
            )
            ids.update((int(ordinal), int(id_)) for ordinal, id_ in rows)  # type: ignore[call-overload]
        return [Chunk(ids[c.ordinal], article_id, c.ordinal, c.text) for c in chunks]

    def chunk_ids(self) -> np.ndarray:
        """Every chunk id, ascending, as int64."""
        rows = self.db.rows("SELECT id FROM chunks ORDER BY id")
        return np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))

    def hits(self, ids: Sequence[int]) -> dict[int, Hit]:
        """Chunks with their articles (score 0), by chunk id; unknown ids are left out."""
        found: dict[int, Hit] = {}
        for start in range(0, len(ids), 900):  # SQLite caps the variables of one statement
            batch = [int(i) for i in ids[start : start + 900]]
            marks = ",".join("?" * len(batch))
            rows = self.db.rows(
                f"SELECT c.id, c.article_id, c.ordinal, c.text, {_ARTICLE_COLUMNS} FROM "
                f"chunks c JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks})",
                batch,
            )
            found |= {int(r[0]): Hit(Chunk(*r[:4]), article_row(r[4:]), 0.0) for r in rows}  # type: ignore[arg-type, call-overload]
        return found

    def article_keys(self, article_ids: Sequence[int]) -> dict[int, ArticleKey]:
        """The external id and URL of articles, by article id."""
        if not article_ids:
            return {}
        marks = ",".join("?" * len(article_ids))
        rows = self.db.rows(
            f"SELECT id, external_id, url FROM articles WHERE id IN ({marks})",
            [int(i) for i in article_ids],
        )
        return {int(row[0]): ArticleKey(row[1], row[2]) for row in rows}  # type: ignore[arg-type, call-overload]

    def embedding_texts(self, ids: Sequence[int]) -> list[tuple[int, str, str]]:
        """(chunk id, article title, chunk text) for the given ids, in id order."""
        found: list[tuple[int, str, str]] = []
        for start in range(0, len(ids), 900):
            part = [int(i) for i in ids[start : start + 900]]
            marks = ",".join("?" * len(part))
            found += self.db.rows(  # type: ignore[arg-type]
                "SELECT c.id, a.title, c.text FROM chunks c "
                f"JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks})",
                part,
            )
        return sorted(found)

    def article_chunks(self, article_id: int) -> list[Chunk]:
        """An article's chunks in order."""
        rows = self.db.rows(
            "SELECT id, article_id, ordinal, text FROM chunks WHERE article_id=? ORDER BY ordinal",
            (article_id,),
        )
        return [Chunk(*row) for row in rows]  # type: ignore[arg-type]

    def chunk_count(self) -> int:
        """How many passages are stored (SQLite counts the small article index, not the text)."""
        return int(self.db.rows("SELECT COUNT(*) FROM chunks")[0][0])  # type: ignore[call-overload]

    def counts(self) -> Counts:
        """How many articles and chunks are stored."""
        articles = self.db.rows("SELECT COUNT(*) FROM articles")[0][0]
        chunks = self.db.rows("SELECT COUNT(*) FROM chunks")[0][0]
        return Counts(articles=int(articles), chunks=int(chunks))  # type: ignore[call-overload]
