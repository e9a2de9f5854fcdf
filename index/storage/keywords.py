"""The keyword (BM25) index: tantivy in its own folder, a cache of the passages in SQLite.

Tantivy scores BM25 (k1 1.2, b 0.75, as FTS5 did) with block-max WAND, so a search costs
about a millisecond at a million passages where FTS5 took hundreds. SQLite stays the truth:
a stamp document (id 0) records the last passage and removal-log entry each commit holds, so
a writer catches up from SQLite after a crash, and a damaged folder is rebuilt from it.
Readers never write; they reopen the index when another process has committed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import tantivy

from index.storage.keyword_rows import KeywordRows, KeywordStamp
from index.storage.lemmas import lemmatise
from index.storage.vector_files import left_by_the_dead, remove_path

log = logging.getLogger(__name__)

FOLDER = "keywords-v2"  # a new analyzer or schema gets a new name, and is built afresh
# v2: Russian and Ukrainian words indexed in their dictionary forms (index.storage.lemmas).
ANALYZER = "newsbot"
STAMP_ID = 0  # chunk ids start at 1
WRITER_HEAP = 64_000_000
REOPEN_WAIT = 0.25  # seconds a question waits for the index to reopen after a commit
MAX_TERM_CHARS = 40  # longer "words" are base64, hashes or URLs: no one asks for them


def _analyzer() -> tantivy.TextAnalyzer:
    """Words split at non-alphanumerics, lower-cased, accents off ("Nicolás" is "nicolas")."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(MAX_TERM_CHARS))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("id", indexed=True, fast=True)
    builder.add_text_field("text", tokenizer_name=ANALYZER, index_option="freq")
    builder.add_unsigned_field("last_id", stored=True)
    builder.add_unsigned_field("deletions", stored=True)
    return builder.build()


class KeywordIndex:
    """Search by any process; writes only under the archive's write lock."""

    def __init__(self, rows: KeywordRows, path: Path) -> None:
        self.rows = rows
        self.path = path
        self.schema = _schema()
        self.analyzer = _analyzer()
        self._lock = threading.Lock()
        self._searcher: tantivy.Searcher | None = None
        self._seen: tuple[int, int, int] | None = None  # meta.json's inode, mtime and size
        self._opening: tuple[threading.Event, float] | None = None  # a reopen, its deadline
        # Built in RAM when the folder cannot be written (a full disk, a read-only archive).
        self._memory: tantivy.Searcher | None = None

    # reading

    def _open(self, path: Path, create: bool = True) -> tantivy.Index:
        # A reader only opens: creating would leave an empty index where a rebuild swaps in.
        index = tantivy.Index(self.schema, str(path)) if create else tantivy.Index.open(str(path))
        index.register_tokenizer(ANALYZER, self.analyzer)
        index.config_reader(reload_policy="Manual")
        return index

    def _meta(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(self.path / "meta.json")
        except OSError:
            return None
        return (info.st_ino, info.st_mtime_ns, info.st_size)

    def searcher(self, wait: bool = False) -> tantivy.Searcher | None:
        """The latest committed state; None if there is no index to read.

        A commit replaces meta.json; the index is then reopened in a thread. A reader waits
        for it at most REOPEN_WAIT after it began, then reads the state before: a writer
        stopped inside tantivy's commit holds a lock the reopen needs, and answers must not
        wait for it. With `wait` (writers, which need the exact stamp) it waits to the end.
        """
        if self._memory is not None and not wait:
            return self._memory
        meta = self._meta()
        with self._lock:
            if meta != self._seen and self._opening is None:
                self._opening = (threading.Event(), time.monotonic() + REOPEN_WAIT)
                threading.Thread(
                    target=self._reopen,
                    args=(meta, self._opening[0]),
                    name="keyword-reopen",
                    daemon=True,  # never holds up the process's exit
                ).start()
            opening = self._opening
        if opening is not None:
            done, deadline = opening
            done.wait(None if wait else max(0.0, deadline - time.monotonic()))
        return self._searcher

    def _reopen(self, meta: tuple[int, int, int] | None, done: threading.Event) -> None:
        searcher = None
        if meta is not None:
            try:
                searcher = self._open(self.path, create=False).searcher()
            except (OSError, ValueError) as error:
                log.warning("Cannot read the keyword index %s: %s", self.path, error)
        with self._lock:
            self._searcher, self._seen, self._opening = searcher, meta, None
        done.set()

    def terms(self, words: Iterable[str]) -> list[str]:
        """The index's form of each word (lower-cased, folded), in order, without repeats."""
        found: list[str] = []
        for word in words:
            found += self.analyzer.analyze(word)
        return list(dict.fromkeys(found))

    def doc_counts(self, terms: Sequence[str]) -> dict[str, int]:
        """How many passages hold each term (terms in no passage are left out)."""
        searcher = self.searcher()
        if searcher is None:
            return {}
        counts = {term: searcher.doc_freq("text", term) for term in terms}
        return {term: count for term, count in counts.items() if count}

    def passages(self) -> int:
        """How many passages the index holds."""
        searcher = self.searcher()
        return max(0, searcher.num_docs - 1) if searcher else 0

    def search(self, terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) of the passages holding any of the terms, best first."""
        searcher = self.searcher()
        if searcher is None or not terms:
            return []
        query = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "text", term, "freq"))
                for term in terms
            ]
        )
        # No count of all matches: counting visits every posting and defeats block-max WAND.
        hits = searcher.search(query, limit, count=False).hits
        ids = searcher.fast_field_values("id", [address for _, address in hits])
        return [(int(i), float(score)) for (score, _), i in zip(hits, ids, strict=True) if i]

    def stamp(self) -> KeywordStamp | None:
        """What SQLite state the index holds; None if there is no readable index."""
        searcher = self.searcher(wait=True)
        if searcher is None:
            return None
        found = searcher.search(tantivy.Query.term_query(self.schema, "id", STAMP_ID), 1).hits
        if not found:
            return KeywordStamp(0, 0)
        stored = searcher.doc(found[0][1])
        return KeywordStamp(int(stored["last_id"][0]), int(stored["deletions"][0]))

    def exists(self) -> bool:
        """Whether the folder holds an index (readable or not)."""
        return self._meta() is not None

    def _sound_stamp(self) -> KeywordStamp | None:
        """The index's stamp; None when it is missing, unreadable or ahead of SQLite."""
        stamp = self.stamp()
        if stamp is None:
            return None
        sqlite = self.rows.stamp()
        ahead = stamp.last_id > sqlite.last_id or stamp.deletions > sqlite.deletions
        return None if ahead else stamp

    def damaged(self) -> bool:
        """Whether the folder holds an index that cannot be read, or one ahead of SQLite."""
        return self.exists() and self._sound_stamp() is None

    def behind(self) -> tuple[int, int]:
        """(passages added, removal-log entries) in SQLite the index does not hold yet."""
        stamp = self.stamp() or KeywordStamp(0, 0)
        return (
            self.rows.count_after(stamp.last_id),
            self.rows.count_deletions_after(stamp.deletions),
        )

    # writing: the caller holds the archive's write lock

    def catch_up(self) -> int:
        """Apply SQLite's removals and add its new passages; the number of changes made.

        A missing index is built; a damaged one (or one ahead of SQLite) is rebuilt. Once
        the folder is current again, an index kept in memory is dropped.
        """
        changes = self._catch_up()
        self._memory = None
        return changes

    def _catch_up(self) -> int:
        stamp = self._sound_stamp()
        if stamp is None:
            return self.rebuild()
        # The log is read before the passages: a removal logged after this point is
        # applied by the next catch-up, even of a passage added now.
        seq, removed = self.rows.deletions_after(stamp.deletions)
        if not removed and not self.rows.count_after(stamp.last_id):
            return 0
        index = self._open(self.path)
        writer = index.writer(WRITER_HEAP, 1)
        self._delete(writer, removed)
        # A rewritten passage (its id logged, still stored) is added back with its new text.
        older = [i for i in dict.fromkeys(removed) if i <= stamp.last_id]
        for chunk_id, text in self.rows.texts(older):
            writer.add_document(self._passage(chunk_id, text))
        last_id, added = self._add_after(writer, stamp.last_id)
        self._commit(writer, KeywordStamp(last_id, seq))
        self.rows.prune(seq)
        self.searcher(wait=True)  # this process reads its own commit at once
        return len(removed) + added

    def rebuild(self) -> int:
        """Build the index afresh from SQLite in a temp folder, then swap it in whole."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        old = self.path.with_name(f".{self.path.name}.{os.getpid()}.old")
        remove_path(tmp)
        tmp.mkdir(parents=True)
        try:
            deletions = self.rows.stamp().deletions
            writer = self._open(tmp).writer(WRITER_HEAP * 2, 2)
            last_id, added = self._add_after(writer, 0)
            self._commit(writer, KeywordStamp(last_id, deletions))
            if self.path.exists():
                os.replace(self.path, old)
            os.replace(tmp, self.path)
        finally:
            remove_path(tmp)
            remove_path(old)
        self.rows.prune(deletions)
        self.searcher(wait=True)
        self._memory = None
        log.info("Built the keyword index from SQLite: %d passages", added)
        return added

    def build_in_memory(self) -> int:
        """Index every passage in RAM, searched until the folder is written again."""
        index = tantivy.Index(self.schema)  # no path: in memory
        index.register_tokenizer(ANALYZER, self.analyzer)
        writer = index.writer(WRITER_HEAP, 1)
        last_id, added = self._add_after(writer, 0)
        self._commit(writer, KeywordStamp(last_id, self.rows.stamp().deletions))
        index.reload()
        self._memory = index.searcher()
        log.info("Built the keyword index in memory: %d passages", added)
        return added

    @property
    def in_memory(self) -> bool:
        """Whether searches read an index built in memory (the folder could not be written)."""
        return self._memory is not None

    def _delete(self, writer: tantivy.IndexWriter, ids: Sequence[int]) -> None:
        # By query: a term from a Python int would be an i64 and match no u64 id.
        for start in range(0, len(ids), 10_000):
            part = list(ids[start : start + 10_000])
            writer.delete_documents_by_query(tantivy.Query.term_set_query(self.schema, "id", part))

    def _passage(self, chunk_id: int, text: str) -> tantivy.Document:
        document = tantivy.Document()
        document.add_unsigned("id", chunk_id)
        document.add_text("text", lemmatise(text))
        return document

    def _add_after(self, writer: tantivy.IndexWriter, last_id: int) -> tuple[int, int]:
        added = 0
        for batch in self.rows.texts_after(last_id):
            for chunk_id, text in batch:
                writer.add_document(self._passage(chunk_id, text))
            added += len(batch)
            last_id = batch[-1][0]
        return last_id, added

    def _commit(self, writer: tantivy.IndexWriter, stamp: KeywordStamp) -> None:
        """Replace the stamp document and commit, all in one tantivy commit."""
        self._delete(writer, [STAMP_ID])
        document = tantivy.Document()
        document.add_unsigned("id", STAMP_ID)
        document.add_unsigned("last_id", stamp.last_id)
        document.add_unsigned("deletions", stamp.deletions)
        writer.add_document(document)
        writer.commit()
        writer.wait_merging_threads()  # also releases tantivy's writer lock

    def stale_folders(self) -> list[Path]:
        """Temp folders of rebuilds whose process is gone (killed while building)."""
        return left_by_the_dead(self.path.parent.glob(f".{self.path.name}.*"))

    def size(self) -> int:
        """Bytes on disk."""
        if not self.path.is_dir():
            return 0
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())
