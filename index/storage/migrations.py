"""The archive's schema as numbered SQLite migrations, applied in order on open."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

MIGRATIONS: tuple[str, ...] = (
    # 1: the archive
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
    # 2: keyword index over passages; external content (no second copy of the text), kept in
    # step by triggers inside the same transaction as every chunk insert and delete.
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
    # 3: each passage's vector (float16) in the same row and transaction as the passage; the
    # FAISS file is a cache of this table. `vectors_generation` counts the changes an appending
    # reader cannot see by the last id alone (a delete, an update, an insert below the last id).
    # rebuild_vectors holds an `index rebuild` in progress until it is swapped in whole.
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
    # 6: the language the bot speaks in a chat: chosen with /language, or first seen there
    # (for alerts and digests, which answer no message and so have no language_code to follow).
    """
    CREATE TABLE IF NOT EXISTS chat_languages (
        chat_id INTEGER PRIMARY KEY,
        language TEXT NOT NULL,
        chosen INTEGER NOT NULL DEFAULT 0
    );
    """,
)


def statements(script: str) -> Iterator[str]:
    """A migration's statements; a trigger body keeps its inner semicolons."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending
            pending = ""


def migrate(db: sqlite3.Connection) -> None:
    """Apply the migrations the database lacks, each in its own transaction."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version={number}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite rolls back by itself on a full disk
                db.execute("ROLLBACK")
            raise
