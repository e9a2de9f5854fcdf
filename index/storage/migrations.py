"""The archive's schema as numbered migrations, applied in order on open, on either engine.

An entry is SQL both engines run, or a `Migration` with each engine's own text. Shared SQL is
written for SQLite; on PostgreSQL `INTEGER` becomes `BIGINT` (Telegram's chat ids need 64 bits),
`INTEGER PRIMARY KEY AUTOINCREMENT` an identity column and `BLOB` `BYTEA` (see `postgres_sql`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.errors import ArchiveError
from index.storage.database import Database
from index.storage.postgres_schema import POSTGRES


@dataclass(frozen=True)
class Migration:
    """A migration whose SQL differs between the engines."""

    sqlite: str
    postgresql: str


MIGRATIONS: tuple[str | Migration, ...] = (
    # 1: the archive
    Migration(
        """
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            url TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL DEFAULT '',
            added_at TEXT NOT NULL,
            last_fetch_at TEXT,
            last_error TEXT,
            etag TEXT,
            last_modified TEXT
        );
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            source_id INTEGER REFERENCES sources(id) ON DELETE CASCADE,
            url TEXT UNIQUE,
            title TEXT NOT NULL,
            source_name TEXT,
            published TEXT,
            external_id TEXT,
            content_hash TEXT NOT NULL UNIQUE,
            text TEXT NOT NULL,
            added_at TEXT NOT NULL
        );
        CREATE TABLE chunks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            text TEXT NOT NULL
        );
        CREATE INDEX chunks_article ON chunks(article_id);
        CREATE INDEX articles_source ON articles(source_id);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
        POSTGRES[1],
    ),
    # 2: keyword index over passages; external content (no second copy of the text), kept in
    # step by triggers inside the same transaction as every chunk insert and delete.
    Migration(
        """
        CREATE VIRTUAL TABLE chunks_fts USING fts5(
            text, content='chunks', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'
        );
        CREATE VIRTUAL TABLE chunks_fts_terms USING fts5vocab(chunks_fts, 'row');
        CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
            INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
        END;
        CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
            INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
        END;
        CREATE TRIGGER chunks_fts_update AFTER UPDATE OF text ON chunks BEGIN
            INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
            INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
        END;
        INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild');
        """,
        POSTGRES[2],
    ),
    # 3: each passage's vector (float16) in the same row and transaction as the passage; the
    # FAISS file is a cache of this table. `vectors_generation` counts the changes an appending
    # reader cannot see by the last id alone (a delete, an update, an insert below the last id).
    # rebuild_vectors holds an `index rebuild` in progress until it is swapped in whole.
    Migration(
        """
        CREATE TABLE chunk_vectors (
            chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
            vector BLOB NOT NULL
        );
        CREATE TABLE rebuild_vectors (
            chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
            vector BLOB NOT NULL
        );
        INSERT INTO meta(key, value) VALUES ('vectors_generation', '0')
            ON CONFLICT(key) DO NOTHING;
        CREATE TRIGGER chunk_vectors_delete AFTER DELETE ON chunk_vectors BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'vectors_generation';
        END;
        CREATE TRIGGER chunk_vectors_update AFTER UPDATE ON chunk_vectors BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'vectors_generation';
        END;
        CREATE TRIGGER chunk_vectors_insert_below AFTER INSERT ON chunk_vectors
        WHEN new.chunk_id < (SELECT MAX(chunk_id) FROM chunk_vectors) BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'vectors_generation';
        END;
        """,
        POSTGRES[3],
    ),
    # 4: topic alerts and daily digests. A topic's vector is stored with the model that made it;
    # `after_chunk` is the newest passage when it was subscribed (chunk ids are never reused),
    # so older stories never alert. A story is keyed by its first copy's first chunk id.
    """
    CREATE TABLE subscriptions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        chat_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        topic TEXT NOT NULL,
        vector BLOB NOT NULL,
        model TEXT NOT NULL,
        after_chunk INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        paused INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX subscriptions_chat ON subscriptions(chat_id);
    CREATE INDEX subscriptions_user ON subscriptions(user_id);
    CREATE TABLE digests (
        chat_id INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        last_sent TEXT,
        after_chunk INTEGER NOT NULL
    );
    CREATE TABLE alerts_sent (
        subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
        story INTEGER NOT NULL,
        article_id INTEGER NOT NULL,
        sent_at TEXT NOT NULL,
        UNIQUE (subscription_id, story)
    );
    """,
    # 5: the keyword index moves to tantivy (its own folder, built from SQLite on open).
    # Triggers log each removed or rewritten passage, in the same transaction, so the index
    # catches up from this log after a crash; it prunes what it has applied.
    Migration(
        """
        DROP TRIGGER IF EXISTS chunks_fts_insert;
        DROP TRIGGER IF EXISTS chunks_fts_delete;
        DROP TRIGGER IF EXISTS chunks_fts_update;
        DROP TABLE IF EXISTS chunks_fts_terms;
        DROP TABLE IF EXISTS chunks_fts;
        CREATE TABLE chunk_deletions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            chunk_id INTEGER NOT NULL
        );
        CREATE TRIGGER chunks_deleted AFTER DELETE ON chunks BEGIN
            INSERT INTO chunk_deletions(chunk_id) VALUES (old.id);
        END;
        CREATE TRIGGER chunks_rewritten AFTER UPDATE OF text ON chunks BEGIN
            INSERT INTO chunk_deletions(chunk_id) VALUES (old.id);
        END;
        """,
        POSTGRES[5],
    ),
    # 6: the language the bot speaks in a chat: chosen with /language, or first seen there
    # (for alerts and digests, which answer no message and so have no language_code to follow).
    """
    CREATE TABLE IF NOT EXISTS chat_languages (
        chat_id INTEGER PRIMARY KEY,
        language TEXT NOT NULL,
        chosen INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 7 (replicas): leases, so scheduled work runs on one process at a time however many run
    # (a row with its holder and expiry), and the question times behind the per-user limit
    # when several bots share the archive.
    """
    CREATE TABLE IF NOT EXISTS leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE IF NOT EXISTS question_times (
        user_id INTEGER NOT NULL,
        asked DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX IF NOT EXISTS question_times_user ON question_times(user_id, asked);
    """,
    # 8 (pgrest): the questions asked in each chat (as answered, a follow-up read in context),
    # so a follow-up or "More ▸" that reaches another replica still has its chat's context.
    """
    CREATE TABLE IF NOT EXISTS chat_questions (
        chat_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        question TEXT NOT NULL,
        asked DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (chat_id, message_id)
    );
    CREATE INDEX IF NOT EXISTS chat_questions_asked ON chat_questions(chat_id, asked);
    """,
)


def postgres_sql(shared: str) -> str:
    """Shared SQL written for SQLite, in PostgreSQL's types."""
    text = re.sub(
        r"\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b",
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        shared,
        flags=re.I,
    )
    text = re.sub(r"\bINTEGER\b", "BIGINT", text, flags=re.I)
    return re.sub(r"\bBLOB\b", "BYTEA", text, flags=re.I)


def texts(entry: str | Migration) -> tuple[str, str]:
    """(SQLite, PostgreSQL) text of a migration."""
    if isinstance(entry, Migration):
        return entry.sqlite, entry.postgresql
    return entry, postgres_sql(entry)


def _check(db: Database, version: int) -> None:
    if version > len(MIGRATIONS):
        raise ArchiveError(
            f"The archive at {db.location} has schema version {version}, newer than this "
            f"newsbot knows ({len(MIGRATIONS)}); upgrade newsbot to open it."
        )


def migrate(db: Database) -> None:
    """Apply the migrations the database lacks, each in its own transaction.

    The version is read again inside each transaction, under the engine's write lock, so two
    processes opening a new archive at once apply each migration once.
    """
    version = db.schema_version()
    _check(db, version)
    while version < len(MIGRATIONS):
        with db.transaction():
            version = db.schema_version(lock=True)
            _check(db, version)
            if version < len(MIGRATIONS):
                db.script(*texts(MIGRATIONS[version]))
                version += 1
                db.set_schema_version(version)
