"""Sources: add, list, remove and refresh feeds, pages and uploaded files."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from dataclasses import dataclass, field, replace
from pathlib import PureWindowsPath

from index.archive import Archive
from index.errors import (
    ArchiveError,
    DuplicateSource,
    FetchError,
    ImportFailed,
    StorageFault,
    UnknownSource,
)
from index.i18n import _, _n
from index.ingest.extract import parse_document
from index.ingest.urls import canonical_url
from index.records import ArticleDraft, Failure, ImportReport, Source
from index.sources.feeds import WebDocument, read_web
from index.sources.fetch import Fetcher
from index.sources.neardup import NearDuplicates

log = logging.getLogger(__name__)

MAX_ITEMS = 100  # feed items looked at per fetch
MAX_PAGE_FETCHES = 30  # items whose own page is fetched per fetch (politeness)
FULL_TEXT_CHARS = 600  # a feed item with less text is a summary: its page is fetched
MIN_SUMMARY_CHARS = 40  # a summary this long is kept when its page cannot be fetched
RECENT_ARTICLES = 500  # how far back near-duplicates are looked for
MAX_UPLOAD_BYTES = 20_000_000  # Telegram's limit for files a bot may download
UPLOAD_PREFIX = "upload:"


@dataclass(frozen=True)
class SourceResult:
    """What adding or refreshing one source did."""

    source: Source
    report: ImportReport = field(default_factory=ImportReport)
    not_modified: bool = False
    error: str | None = None

    def summary(self) -> str:
        """One line for people."""
        head = f"#{self.source.id} {self.source.title or self.source.url}"
        if self.error:
            return _("{head}: failed: {error}", head=head, error=self.error)
        if self.not_modified:
            return _("{head}: unchanged since the last fetch.", head=head)
        return f"{head}: {self.report.summary()}"


def safe_name(name: str) -> str:
    """A file name fit to show: no folders, no control characters, at most 100 characters."""
    base = PureWindowsPath(name.replace("/", "\\")).name
    cleaned = re.sub(r"[\x00-\x1f\x7f]", "", base).strip()
    return cleaned[:100] or "upload"


class Sources:
    """The archive's sources and the fetching that keeps them fresh."""

    def __init__(self, archive: Archive, fetcher: Fetcher) -> None:
        self.archive = archive
        self.store = archive.store
        self.fetcher = fetcher
        self._recent = NearDuplicates(keep=RECENT_ARTICLES)
        self._upto = 0  # the newest article id in self._recent
        self._lock = threading.Lock()

    def list_sources(self) -> list[Source]:
        """Every source with its article count, last fetch and last error."""
        return self.store.list_sources()

    def get(self, source_id: int) -> Source:
        """The source with this id; UnknownSource if there is none."""
        source = self.store.get_source(source_id)
        if source is None:
            raise UnknownSource(_("There is no source #{id}.", id=source_id))
        return source

    def add(self, url: str) -> SourceResult:
        """Fetch a feed, page or document URL, import what is new and keep it as a source."""
        canonical = canonical_url(url)
        existing = self.store.find_source(canonical)
        if existing is not None and existing.last_error:  # a stopped import: go on with it
            result = self._refresh(existing)
            if result.error:
                raise ArchiveError(result.error)
            return result
        if existing is not None:
            raise DuplicateSource(
                _("{url} is already source #{id}.", url=canonical, id=existing.id)
            )
        fetched = self.fetcher.fetch(canonical)
        document = read_web(fetched.url, fetched.content_type, fetched.charset, fetched.body)
        drafts, failures, known = self._complete(document)
        source = self.store.add_source(document.kind, canonical, document.title[:200])
        report = self._import_new(source, drafts, failures, known)
        self._record(source.id, report, fetched.etag, fetched.last_modified)
        return SourceResult(self.get(source.id), report)

    def add_file(self, name: str, data: bytes) -> SourceResult:
        """Import an uploaded document as a source of its own; the name is only shown."""
        shown = safe_name(name)
        if len(data) > MAX_UPLOAD_BYTES:
            raise ImportFailed(
                _("{name} is larger than {mb} MB.", name=shown, mb=MAX_UPLOAD_BYTES // 1_000_000)
            )
        key = UPLOAD_PREFIX + hashlib.sha256(data).hexdigest()[:24]
        existing = self.store.find_source(key)
        if existing is not None and not existing.last_error:
            raise DuplicateSource(
                _("{name} was already imported as source #{id}.", name=shown, id=existing.id)
            )
        drafts, failures = parse_document(shown, data)
        if not drafts:
            reasons = "; ".join(f"{f.where}: {f.why}" for f in failures[:3])
            raise ImportFailed(
                _("Nothing in {name} could be imported ({reasons}).", name=shown, reasons=reasons)
            )
        if existing is not None:  # its import was stopped (a full disk): go on with it
            source = existing
            report = self._import(drafts, source.id, list(failures), 0)
        else:
            source = self.store.add_source("file", key, shown)
            report = self._import_new(source, drafts, list(failures), 0)
        self.store.record_fetch(source.id, None)
        return SourceResult(self.get(source.id), report)

    def remove(self, source_id: int) -> Source:
        """Delete a source with its articles, from SQLite and from the vector index."""
        source = self.get(source_id)
        self.archive.remove_chunks(self.store.remove_source(source_id))
        return source

    def refresh(self, source_id: int) -> SourceResult:
        """Fetch one source now; its error, if any, is recorded and returned, not raised."""
        source = self.get(source_id)
        if source.url.startswith(UPLOAD_PREFIX):
            raise FetchError(
                _("Source #{id} is an uploaded file; there is nothing to fetch.", id=source_id)
            )
        return self._refresh(source)

    def refresh_all(self, kinds: tuple[str, ...] = ("feed",)) -> list[SourceResult]:
        """Fetch every source of these kinds; one failing source never stops the others."""
        results = []
        for source in self.list_sources():
            if source.kind not in kinds or source.url.startswith(UPLOAD_PREFIX):
                continue
            try:
                results.append(self._refresh(source))
            except Exception as error:  # a bug in one source must not stop the schedule
                log.exception("Refreshing source #%d failed", source.id)
                message = _(
                    "unexpected error ({kind}: {error})", kind=type(error).__name__, error=error
                )
                self._note_error(source.id, message)
                results.append(SourceResult(self._current(source), error=message))
        return results

    def _refresh(self, source: Source) -> SourceResult:
        etag, modified = self.store.source_validators(source.id)
        try:
            fetched = self.fetcher.fetch(source.url, etag, modified)
            if fetched.not_modified:
                self.store.record_fetch(source.id, None, fetched.etag, fetched.last_modified)
                return SourceResult(self._current(source), not_modified=True)
            document = read_web(fetched.url, fetched.content_type, fetched.charset, fetched.body)
            drafts, failures, known = self._complete(document)
            report = self._import(drafts, source.id, failures, known)
        except ArchiveError as error:
            self._note_error(source.id, str(error))
            return SourceResult(self._current(source), error=str(error))
        self._record(source.id, report, fetched.etag, fetched.last_modified)
        return SourceResult(self._current(source), report)

    def _note_error(self, source_id: int, error: str) -> None:
        """Record a failed fetch or import, if the database takes it (a full disk may not)."""
        try:
            self.store.record_fetch(source_id, error)
        except StorageFault as fault:
            log.warning("Could not record source #%d's error: %s", source_id, fault)

    def _current(self, source: Source) -> Source:
        """The source as stored now (its counts and last error); as it was if just removed."""
        return self.store.get_source(source.id) or source

    def _record(
        self, source_id: int, report: ImportReport, etag: str | None, modified: str | None
    ) -> None:
        """Note the fetch; after item failures the validators are not kept, so they are retried."""
        if report.failures:
            first = report.failures[0]
            error = _n(
                "{n} item(s) failed, e.g. {where}: {why}",
                "{n} item(s) failed, e.g. {where}: {why}",
                len(report.failures),
                where=first.where,
                why=first.why,
            )
            self.store.record_fetch(source_id, error)
        else:
            self.store.record_fetch(source_id, None, etag, modified)

    def _complete(self, document: WebDocument) -> tuple[list[ArticleDraft], list[Failure], int]:
        """New items only, with the full page fetched for items that carry just a summary."""
        failures = list(document.failures)
        if document.kind != "feed":
            return list(document.drafts), failures, 0
        items = list(document.drafts[:MAX_ITEMS])
        known = self.store.known_urls([canonical_url(d.url) for d in items if d.url])
        fresh = [d for d in items if not (d.url and canonical_url(d.url) in known)]
        drafts: list[ArticleDraft] = []
        budget = MAX_PAGE_FETCHES
        for draft in fresh:
            if len(draft.text) >= FULL_TEXT_CHARS or not draft.url or budget <= 0:
                drafts.append(draft)
                continue
            budget -= 1
            try:
                drafts.append(self._with_page(draft))
            except ArchiveError as error:
                if len(draft.text) >= MIN_SUMMARY_CHARS:
                    drafts.append(draft)
                else:
                    failures.append(Failure(draft.title, str(error)))
        return drafts, failures, len(items) - len(fresh)

    def _with_page(self, draft: ArticleDraft) -> ArticleDraft:
        """A feed item with the text of its own page."""
        assert draft.url is not None
        fetched = self.fetcher.fetch(draft.url)
        page = read_web(fetched.url, fetched.content_type, fetched.charset, fetched.body)
        if page.kind == "feed" or not page.drafts:
            raise FetchError(_("{url} is not an article page.", url=draft.url))
        found = page.drafts[0]
        text = found.text if len(found.text) > len(draft.text) else draft.text
        return replace(draft, text=text, published=draft.published or found.published)

    def _import_new(
        self,
        source: Source,
        drafts: list[ArticleDraft],
        failures: list[Failure],
        known: int,
    ) -> ImportReport:
        """The first import of a new source; should it fail, the source goes, so a retry works.

        A storage fault (a full disk) keeps the source and what was stored: adding it again
        goes on where it stopped.
        """
        try:
            return self._import(drafts, source.id, failures, known)
        except StorageFault as fault:
            self._note_error(source.id, str(fault))
            raise
        except BaseException:
            self.remove(source.id)
            raise

    def _import(
        self,
        drafts: list[ArticleDraft],
        source_id: int,
        failures: list[Failure],
        known: int,
    ) -> ImportReport:
        """Store drafts that are not near-duplicates of recent articles or of each other."""
        with self._lock:  # one import at a time keeps the recent signatures in step
            kept = self._novel(drafts)
            report = self.archive.add_drafts(kept, source_id=source_id) if kept else ImportReport()
        skipped = known + len(drafts) - len(kept)
        return report + ImportReport(duplicates=skipped, failures=tuple(failures))

    def _novel(self, drafts: list[ArticleDraft]) -> list[ArticleDraft]:
        """Drafts whose text repeats neither a recent article nor an earlier draft."""
        if not drafts:
            return []
        recent = self._recent_articles()
        batch = NearDuplicates()
        kept = []
        for number, draft in enumerate(drafts):
            if batch.match(draft.text) is None and not self._repeats(recent, draft.text):
                batch.add(number, draft.text)
                kept.append(draft)
        return kept

    def _recent_articles(self) -> NearDuplicates:
        """Signatures of the latest articles; only those added since last time are hashed."""
        for article_id, text in reversed(self.store.recent_texts(RECENT_ARTICLES, self._upto)):
            self._recent.add(article_id, text)
            self._upto = article_id
        return self._recent

    def _repeats(self, recent: NearDuplicates, text: str) -> bool:
        """Whether a text repeats a recent article that is still stored."""
        while (article_id := recent.match(text)) is not None:
            if self.store.article_keys([article_id]):
                return True
            recent.forget(article_id)  # removed since it was hashed
        return False
