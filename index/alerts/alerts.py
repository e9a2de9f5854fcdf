"""Topic alerts and daily digests: subscribe, match new passages in one pass, remember sends."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from index.alerts.matching import (
    Alert,
    Delivery,
    Match,
    best_per_article,
    calibration,
    group_by_chat,
    matched_sentence,
    score_pairs,
    story_keys,
    topic_terms,
)
from index.archive import Archive
from index.errors import ArchiveError
from index.i18n import _, _n
from index.ingest.chunking import embedding_text
from index.ingest.text import valid_text
from index.records import Hit
from index.search.answer import split_sentences, trim
from index.sources.neardup import NearDuplicates
from index.storage.subscriptions import Claim, Digest, Subscription, SubscriptionStore

MAX_TOPIC_CHARS = 200
PASS_LIMIT = 20_000  # passages matched in one pass; more wait for the next
RECENT_STORIES = 300  # earlier articles a new one is compared with to find syndicated copies
DIGEST_SIZE = 5
SENTENCE_CHARS = 240
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class BadTopic(ArchiveError):
    """A topic that is empty, too long, or not ours to change."""


class TooManyTopics(ArchiveError):
    """The user has as many topics as the limit allows."""


class BadTime(ArchiveError):
    """A digest time that is not HH:MM."""


@dataclass(frozen=True)
class Subscribed:
    """A new subscription, and whether the archive already has something on its topic."""

    id: int
    topic: str
    known: bool


def clean_topic(topic: str) -> str:
    """One line of 1 to MAX_TOPIC_CHARS characters with a word in it; BadTopic otherwise."""
    text = " ".join(valid_text(topic).split())
    if not any(ch.isalnum() for ch in text):
        raise BadTopic(_("A topic needs some words."))
    if len(text) > MAX_TOPIC_CHARS:
        raise BadTopic(_("A topic is at most {most} characters.", most=MAX_TOPIC_CHARS))
    return text


def parse_time(text: str) -> str | None:
    """'HH:MM' as stored (zero-padded), None for 'off'; BadTime otherwise."""
    value = text.strip().lower()
    if value == "off":
        return None
    found = _TIME.match(value)
    if found is None:
        raise BadTime(_("A time is HH:MM, from 00:00 to 23:59."))
    return f"{int(found.group(1)):02d}:{found.group(2)}"


class Alerts:
    """Subscriptions of one archive and the matching of its new passages against them."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.settings = archive.settings
        self.subscriptions = SubscriptionStore(archive.store.db.reconnect())  # as the archive is
        self._lock = threading.RLock()  # one matching pass at a time
        self._earlier = NearDuplicates(keep=RECENT_STORIES)  # signatures of recent articles
        self._earlier_upto = 0  # the first chunk id of the newest article in it
        if self.subscriptions.upto() is None:  # a new archive: alerts start from now
            self.subscriptions.claim([], self.subscriptions.last_chunk())

    def close(self) -> None:
        """Release the database connection."""
        self.subscriptions.close()

    # subscriptions

    def subscribe(self, chat_id: int, user_id: int, topic: str) -> Subscribed:
        """Store a topic for a chat; alerts come for stories added from now on."""
        text = clean_topic(topic)
        limit = self.settings.max_topics
        if self.subscriptions.count_for_user(user_id) >= limit:
            raise TooManyTopics(
                _n(
                    "You have {n} topics, the most allowed; remove one first.",
                    "You have {n} topics, the most allowed; remove one first.",
                    limit,
                )
            )
        embedder = self.archive.embedder
        vector = embedder.embed_queries([text])[0]
        number = self.subscriptions.add(chat_id, user_id, text, vector, embedder.name)
        nearest = self.archive.retriever.search(text, 1)
        known = bool(nearest) and nearest[0].score >= self.settings.min_score
        return Subscribed(number, text, known)

    def topics(self, chat_id: int) -> list[Subscription]:
        """A chat's topics, oldest first."""
        return self.subscriptions.for_chat(chat_id)

    def every(self) -> list[Subscription]:
        """Every chat's topics (for operators)."""
        return self.subscriptions.every()

    def unsubscribe(self, chat_id: int, subscription_id: int | None = None) -> int:
        """Remove one of a chat's topics, or all of them (None); how many went."""
        return self.subscriptions.remove(chat_id, subscription_id)

    def pause(self, chat_id: int) -> None:
        """A chat blocked the bot: no more alerts to it until it subscribes again."""
        self.subscriptions.pause(chat_id)

    def _active(self, chat_id: int | None = None) -> tuple[list[Subscription], np.ndarray]:
        """Active topics and their vectors as rows; topics an earlier model embedded are redone."""
        rows = self.subscriptions.active(chat_id)
        embedder = self.archive.embedder
        stale = [n for n, (s, _) in enumerate(rows) if s.model != embedder.name]
        if stale:
            vectors = embedder.embed_queries([rows[n][0].topic for n in stale])
            for n, vector in zip(stale, vectors, strict=True):
                self.subscriptions.revector(rows[n][0].id, vector, embedder.name)
                rows[n] = (rows[n][0], vector)
        if not rows:
            return [], np.zeros((0, embedder.dim), dtype=np.float32)
        return [s for s, _ in rows], np.vstack([v for _, v in rows]).astype(np.float32)

    # matching

    def pending(self, commit: bool = True) -> list[Delivery]:
        """What the passages added since the last pass send, one delivery per chat.

        With `commit`, the sends are recorded (a story never goes to a subscription twice)
        and the next pass starts after these passages.
        """
        with self._lock:
            upto = self.subscriptions.upto() or 0
            ids = self.subscriptions.chunks_after(upto, PASS_LIMIT)
            if not ids:
                return []
            found, matrix = self._active()
            matches = self._stories(self.match(ids, found, matrix), found)
            if commit:
                claims = [Claim(m.subscription, story, m.hit.article.id) for m, story in matches]
                claimed = self.subscriptions.claim(claims, ids[-1])
                kept = {(c.subscription_id, c.story) for c in claimed}
                matches = [(m, s) for m, s in matches if (m.subscription, s) in kept]
            return self._deliveries([m for m, _ in matches], found)

    def match(self, ids: list[int], found: list[Subscription], matrix: np.ndarray) -> list[Match]:
        """Each topic's best passage per new article, over these passages only, in one pass."""
        if not found:
            return []
        rows = self.archive.store.hits(ids)
        hits = [rows[i] for i in ids if i in rows]
        vectors = self._passage_vectors(hits)
        terms = [topic_terms(s.topic) for s in found]
        embedder = self.archive.embedder
        model = calibration(embedder.name, self.settings.alert_score)
        pairs = score_pairs(
            vectors, matrix, hits, terms, model.threshold, embedder.cosine_floor, model.cross_script
        )
        return best_per_article(
            [
                Match(found[col].id, hits[row], score)
                for row, col, score in pairs
                if hits[row].chunk.id > found[col].after_chunk
            ]
        )

    def _passage_vectors(self, hits: list[Hit]) -> np.ndarray:
        """The passages' vectors from the index; any not there yet are embedded."""
        wanted = np.array([hit.chunk.id for hit in hits], dtype=np.int64)
        ids, vectors = self.archive.vectors().vectors_for(wanted)
        row_of = {int(i): n for n, i in enumerate(ids)}
        missing = [n for n, i in enumerate(wanted.tolist()) if i not in row_of]
        out = np.zeros((len(hits), self.archive.embedder.dim), dtype=np.float32)
        for n, chunk_id in enumerate(wanted.tolist()):
            if chunk_id in row_of:
                out[n] = vectors[row_of[chunk_id]]
        if missing:
            texts = [embedding_text(hits[n].article.title, hits[n].chunk.text) for n in missing]
            out[missing] = self.archive.embedder.embed_passages(texts, stored=False)
        return out

    def _stories(self, matches: list[Match], found: list[Subscription]) -> list[tuple[Match, int]]:
        """Matches with their story keys; one per subscription and story, none older than it."""
        if not matches:
            return []
        texts = self.subscriptions.article_texts(sorted({m.hit.article.id for m in matches}))
        if not texts:  # their source was removed meanwhile
            return []
        first = min(chunk for chunk, _ in texts.values())
        keys = story_keys(texts, self._earlier_than(first))
        after = {s.id: s.after_chunk for s in found}
        kept: dict[tuple[int, int], Match] = {}
        for match in matches:
            story = keys.get(match.hit.article.id)
            if story is not None and story > after[match.subscription]:
                kept.setdefault((match.subscription, story), match)
        return [(match, story) for (_, story), match in kept.items()]

    def _earlier_than(self, first: int) -> NearDuplicates:
        """Signatures of the recent articles before a chunk id; only new ones are hashed."""
        with self._lock:
            if first <= self._earlier_upto:  # an older window (a digest): start again
                self._earlier, self._earlier_upto = NearDuplicates(keep=RECENT_STORIES), 0
            found = self.subscriptions.recent_stories(RECENT_STORIES, first, self._earlier_upto)
            for chunk_id, text in reversed(found):
                self._earlier.add(chunk_id, text)
                self._earlier_upto = chunk_id
            return self._earlier

    def _deliveries(self, matches: list[Match], found: list[Subscription]) -> list[Delivery]:
        """Matches as one delivery per chat, each story with the sentence that matched."""
        if not matches:
            return []
        chats = {s.id: s.chat_id for s in found}
        names = {s.id: s.topic for s in found}
        return group_by_chat(matches, chats, names, self._sentences(matches, found))

    def _sentences(
        self, matches: list[Match], found: list[Subscription]
    ) -> dict[tuple[int, int], str]:
        """The sentence of each matched passage that shows why, by (topic, chunk id)."""
        terms = {s.id: topic_terms(s.topic) for s in found}
        chosen = {}
        for m in matches:
            sentence = matched_sentence(m.hit.chunk.text, terms[m.subscription])
            text = sentence or m.hit.chunk.text
            chosen[(m.subscription, m.hit.chunk.id)] = trim(text, SENTENCE_CHARS)
        return chosen

    # digests

    def set_digest(self, chat_id: int, when: str, now: datetime) -> str | None:
        """Set a chat's digest time ('HH:MM' in local time) or turn it off ('off')."""
        time = parse_time(when)
        if time is None:
            self.subscriptions.remove_digest(chat_id)
            return None
        # A time already past today starts tomorrow.
        sent = now.date() if time <= now.strftime("%H:%M") else None
        self.subscriptions.set_digest(chat_id, time, sent)
        return time

    def due_digests(self, now: datetime) -> list[Digest]:
        """Digests whose time has come today (`now` in local time) and that have not gone yet."""
        clock = now.strftime("%H:%M")
        return [
            d for d in self.subscriptions.digests() if d.time <= clock and d.last_sent != now.date()
        ]

    def digest(self, chat_id: int, day: date) -> list[Alert]:
        """A chat's digest for `day`: top new stories on its topics, or overall; marked done."""
        found = next((d for d in self.subscriptions.digests() if d.chat_id == chat_id), None)
        if found is None:
            return []
        ids = self.subscriptions.chunks_after(found.after_chunk, PASS_LIMIT)
        alerts: list[Alert] = []
        if ids:
            topics, matrix = self._active(chat_id)
            if topics:
                with self._lock:  # the recent articles' signatures are shared with passes
                    found_stories = self._stories(self.match(ids, topics, matrix), topics)
                deliveries = self._deliveries([m for m, _ in found_stories], topics)
                alerts = list(deliveries[0].alerts[:DIGEST_SIZE]) if deliveries else []
            else:
                alerts = self._top_stories(ids)
        self.subscriptions.digest_done(chat_id, day, ids[-1] if ids else found.after_chunk)
        return alerts

    def _top_stories(self, ids: list[int]) -> list[Alert]:
        """The new stories carried by the most copies, then the newest, with their openings."""
        rows = self.archive.store.hits(ids)
        firsts: dict[int, Hit] = {}
        for chunk_id in ids:
            if chunk_id in rows and rows[chunk_id].article.id not in firsts:
                firsts[rows[chunk_id].article.id] = rows[chunk_id]
        keys = story_keys(self.subscriptions.article_texts(sorted(firsts)), NearDuplicates())
        copies: dict[int, list[int]] = {}
        for article_id, story in keys.items():
            copies.setdefault(story, []).append(article_id)
        ranked = sorted(copies.values(), key=lambda group: (-len(group), -max(group)))
        alerts = []
        for group in ranked[:DIGEST_SIZE]:
            hit = firsts[min(group)]
            sentences = split_sentences(hit.chunk.text)
            opening = trim(sentences[0] if sentences else hit.chunk.text, SENTENCE_CHARS)
            alerts.append(Alert(hit.article, (), opening, float(len(group))))
        return alerts
