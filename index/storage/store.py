"""SQLite holds sources, articles and chunks; numbered migrations run on open."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.errors import ArchiveError
from index.i18n import _
from index.records import Article, ArticleDraft, ArticleKey, Chunk, ChunkDraft, Counts, Hit, Source
from index.storage.connection import check_schema, connect, quick_check, rollback
from index.storage.faults import damaged, translate, translating
from index.storage.keyword_rows import KeywordRows
from index.storage.migrations import migrate
from index.storage.rows import article_row, now, source_row
from index.storage.vector_rows import VectorRows

_ARTICLE_COLUMNS = "a.id, a.title, a.url, a.source_name, a.published, a.source_id"


class Store:
    """The archive's SQLite database; safe to share between threads."""

    def __init__(self, path: Path, *, read_only: bool = False, busy_seconds: float = 30) -> None:
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.read_only = read_only
        self._lock = threading.RLock()
        try:
            self._db = connect(path, read_only)
            # The timeout first: another process may hold a lock (or be recovering after a crash).
            self._db.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
            self._db.execute("PRAGMA foreign_keys=ON")
            if read_only:
                check_schema(self._db, path)
            else:
                self._db.execute("PRAGMA journal_mode=WAL")
                with self._lock:
                    migrate(self._db)
        except sqlite3.Error as error:
            if hasattr(self, "_db"):
                self._db.close()
            fault = translate(error, path)
            if fault is None and not isinstance(error, sqlite3.OperationalError):
                fault = damaged(path, str(error))  # not a database at all
            if fault is None:
                raise
            raise fault from error
        self.vectors = VectorRows(self._db, self._lock)
        self.keywords = KeywordRows(self._db, self._lock)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def backup(self, target: Path) -> None:
        """A consistent copy of the database at `target`, taken online (SQLite's backup API)."""
        try:
            copy = sqlite3.connect(target)
            try:
                with self._lock:
                    self._db.backup(copy)
            finally:
                copy.close()
        except sqlite3.Error as error:
            raise ArchiveError(
                _("Cannot write the backup {target}: {error}", target=target, error=error)
            ) from error

    def quick_check(self) -> list[str]:
        """What SQLite's quick_check finds wrong with the file's pages; empty when sound."""
        with self._lock:
            return quick_check(self._db)

    @property
    def schema_version(self) -> int:
        """The number of the last migration applied."""
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    # meta

    def get_meta(self, key: str) -> str | None:
        """A stored setting of the archive itself (its model, say)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @translating
    def set_meta(self, key: str, value: str) -> None:
        """Store a setting of the archive itself."""
        with self._lock:
            self._db.execute(
                "INSERT INTO meta(key, value) VALUES(?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )

    # chats

    def chat_language(self, chat_id: int) -> tuple[str, bool] | None:
        """The chat's language and whether someone chose it with /language; None if unknown."""
        with self._lock:
            row = self._db.execute(
                "SELECT language, chosen FROM chat_languages WHERE chat_id=?", (chat_id,)
            ).fetchone()
        return None if row is None else (str(row[0]), bool(row[1]))

    def set_chat_language(self, chat_id: int, language: str, chosen: bool) -> None:
        """Remember a chat's language; a chosen one is only replaced by another choice."""
        with self._lock:
            self._db.execute(
                "INSERT INTO chat_languages(chat_id, language, chosen) VALUES(?, ?, ?) "
                "ON CONFLICT(chat_id) DO UPDATE SET language=excluded.language, "
                "chosen=excluded.chosen WHERE excluded.chosen OR NOT chat_languages.chosen",
                (chat_id, language, int(chosen)),
            )

    # sources

    @translating
    def add_source(self, kind: str, url: str, title: str = "") -> Source:
        """Record a new source; its URL must be new."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO sources(kind, url, title, added_at) VALUES(?, ?, ?, ?)",
                (kind, url, title, now()),
            )
        source = self.get_source(int(cursor.lastrowid or 0))
        assert source is not None
        return source

    def _sources(self, where: str, args: Sequence[object]) -> list[Source]:
        with self._lock:
            rows = self._db.execute(
                "SELECT s.id, s.kind, s.url, s.title, s.added_at, s.last_fetch_at, s.last_error, "
                "(SELECT COUNT(*) FROM articles a WHERE a.source_id = s.id) "
                f"FROM sources s {where} ORDER BY s.id",
                args,
            ).fetchall()
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
        with self._lock:
            row = self._db.execute(
                "SELECT etag, last_modified FROM sources WHERE id=?", (source_id,)
            ).fetchone()
        return (None, None) if row is None else (row[0], row[1])

    @translating
    def record_fetch(
        self,
        source_id: int,
        error: str | None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """Remember when a source was fetched, how it went and its cache validators."""
        with self._lock:
            self._db.execute(
                "UPDATE sources SET last_fetch_at=?, last_error=?, "
                "etag=COALESCE(?, etag), last_modified=COALESCE(?, last_modified) WHERE id=?",
                (now(), error, etag, last_modified, source_id),
            )

    @translating
    def remove_source(self, source_id: int) -> list[int]:
        """Delete a source with its articles and chunks; returns the removed chunk ids."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                ids = [
                    int(row[0])
                    for row in self._db.execute(
                        "SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id "
                        "WHERE a.source_id=?",
                        (source_id,),
                    )
                ]
                self._db.execute("DELETE FROM sources WHERE id=?", (source_id,))
                self._db.execute("COMMIT")
            except BaseException:
                rollback(self._db)
                raise
        return ids

    # articles and chunks

    def has_article(self, url: str | None, content_hash: str) -> bool:
        """Whether an article with this canonical URL or this content is stored."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM articles WHERE content_hash=? OR (url IS NOT NULL AND url=?)",
                (content_hash, url),
            ).fetchone()
        return row is not None

    def known_urls(self, urls: Sequence[str]) -> set[str]:
        """Which of these canonical URLs already have an article."""
        found: set[str] = set()
        for start in range(0, len(urls), 900):
            part = list(urls[start : start + 900])
            marks = ",".join("?" * len(part))
            with self._lock:
                rows = self._db.execute(f"SELECT url FROM articles WHERE url IN ({marks})", part)
                found.update(str(row[0]) for row in rows)
        return found

    def recent_texts(self, limit: int, after_id: int = 0) -> list[tuple[int, str]]:
        """(article id, text) of the most recently added articles after an id, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, text FROM articles WHERE id > ? ORDER BY id DESC LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [(int(row[0]), str(row[1])) for row in rows]

    @translating
    def add_article(
        self,
        draft: ArticleDraft,
        content_hash: str,
        chunks: Sequence[ChunkDraft],
        source_id: int | None = None,
        vectors: np.ndarray | None = None,
    ) -> tuple[Article, list[Chunk]]:
        """Store an article, its chunks and their vectors (rows in chunk order) together."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self._db.execute(
                    "INSERT INTO articles(source_id, url, title, source_name, published, "
                    "external_id, content_hash, text, added_at) VALUES(?,?,?,?,?,?,?,?,?)",
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
                article_id = int(cursor.lastrowid or 0)
                stored = []
                for chunk in chunks:
                    row = self._db.execute(
                        "INSERT INTO chunks(article_id, ordinal, text) VALUES(?,?,?)",
                        (article_id, chunk.ordinal, chunk.text),
                    )
                    stored.append(
                        Chunk(int(row.lastrowid or 0), article_id, chunk.ordinal, chunk.text)
                    )
                if vectors is not None:
                    self.vectors.insert([c.id for c in stored], vectors)
                self._db.execute("COMMIT")
            except BaseException:
                rollback(self._db)
                raise
        article = Article(
            article_id, draft.title, draft.url, draft.source, draft.published, source_id
        )
        return article, stored

    def chunk_ids(self) -> np.ndarray:
        """Every chunk id, ascending, as int64."""
        with self._lock:
            rows = self._db.execute("SELECT id FROM chunks ORDER BY id").fetchall()
        return np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))

    def hits(self, ids: Sequence[int]) -> dict[int, Hit]:
        """Chunks with their articles (score 0), by chunk id; unknown ids are left out."""
        found: dict[int, Hit] = {}
        for start in range(0, len(ids), 900):  # SQLite caps the variables of one statement
            batch = [int(i) for i in ids[start : start + 900]]
            marks = ",".join("?" * len(batch))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT c.id, c.article_id, c.ordinal, c.text, {_ARTICLE_COLUMNS} FROM "
                    f"chunks c JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks})",
                    batch,
                ).fetchall()
            found |= {int(r[0]): Hit(Chunk(*r[:4]), article_row(r[4:]), 0.0) for r in rows}
        return found

    def article_keys(self, article_ids: Sequence[int]) -> dict[int, ArticleKey]:
        """The external id and URL of articles, by article id."""
        if not article_ids:
            return {}
        marks = ",".join("?" * len(article_ids))
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, external_id, url FROM articles WHERE id IN ({marks})",
                [int(i) for i in article_ids],
            ).fetchall()
        return {int(row[0]): ArticleKey(row[1], row[2]) for row in rows}

    def embedding_texts(self, ids: Sequence[int]) -> list[tuple[int, str, str]]:
        """(chunk id, article title, chunk text) for the given ids, in id order."""
        found: list[tuple[int, str, str]] = []
        for start in range(0, len(ids), 900):
            part = [int(i) for i in ids[start : start + 900]]
            marks = ",".join("?" * len(part))
            with self._lock:
                found += self._db.execute(
                    "SELECT c.id, a.title, c.text FROM chunks c "
                    f"JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks})",
                    part,
                ).fetchall()
        return sorted(found)

    def article_chunks(self, article_id: int) -> list[Chunk]:
        """An article's chunks in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, article_id, ordinal, text FROM chunks "
                "WHERE article_id=? ORDER BY ordinal",
                (article_id,),
            ).fetchall()
        return [Chunk(*row) for row in rows]

    def chunk_count(self) -> int:
        """How many passages are stored (SQLite counts the small article index, not the text)."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def counts(self) -> Counts:
        """How many articles and chunks are stored."""
        with self._lock:
            articles = self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            chunks = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return Counts(articles=int(articles), chunks=int(chunks))
