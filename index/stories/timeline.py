"""A story as dated events: the archive's own sentences, one line per event, oldest first; pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from index.records import Citation, Hit
from index.search.answer import split_sentences, trim
from index.search.dates import DateRange
from index.search.sentences import is_furniture, leans_back, stems
from index.stories.when import event_day, named_day

# What news pages put before a sentence: time stamps, "Updated …", a dateline, a summary label.
_CLOCK = r"\d{1,2}:\d\d\s*[ap]\.?m\.?\s+[A-Z]{2,3}"
_STAMP = rf"(?:Updated\s+)?[A-Z][a-z]{{2,8}}\.?\s+\d{{1,2}},\s+\d{{4}}(?:,?\s+{_CLOCK})?"
_LEAD_IN = re.compile(
    rf"^(?:\s*(?:{_STAMP}|{_CLOCK}|AI-assisted summary|Share this update|"
    r"[A-Z][A-Z .,'’]{2,40}(?:,\s+[A-Z][a-z]+)?(?:\s+\([^)]*\))?\s+[‒–—−-])\s*)+"
)
_NOTE = re.compile(r"^(Editor's note|Editor’s note|Correction|Opinion|Your Turn)\b", re.IGNORECASE)
# What might happen, or what happens in general, is not what happened.
_MAYBE = re.compile(
    r"^(If|Unless|During|When|Whether)\b|\b(could|would|might|may|can|should)\b", re.IGNORECASE
)
MAX_EVENTS = 12
RELEVANT_SHARE = 0.45  # passages scoring under this share of the best are another story
GAP_DAYS = 60  # a quiet spell this long ends one story and starts another
MIN_WORDS, MAX_WORDS = 7, 70
SAME_EVENT = 0.5  # retellings share this share of their content words (Jaccard) ...
CONTAINED = 0.75  # ... or the shorter one is this much inside the longer one
MERGED = 160  # the best candidates compared for retellings (each pair costs a set overlap)


@dataclass(frozen=True)
class Event:
    """One line of a timeline: the day, the archive's sentence and its citation number."""

    day: date
    text: str
    n: int


@dataclass(frozen=True)
class Timeline:
    """A topic's events, oldest first, with their numbered sources; `stories` told in all."""

    topic: str
    events: tuple[Event, ...]
    citations: tuple[Citation, ...]
    stories: int


@dataclass(frozen=True)
class Candidate:
    """A sentence that may tell an event, with its day, its passage and how telling it is."""

    day: date
    text: str
    hit: Hit
    score: float
    words: frozenset[str]
    named: bool = False  # the sentence names its day; else it is its article's day
    lede: bool = False  # the article's first sentence


def candidates(topic: str, hits: Sequence[Hit]) -> list[Candidate]:
    """Every dated sentence of the relevant passages that could tell one of the story's events."""
    wanted = frozenset(stems(topic))
    best = max((hit.score for hit in hits), default=0.0)
    found: list[Candidate] = []
    for hit in hits:
        published = hit.article.published
        if published is None or hit.score < RELEVANT_SHARE * best:
            continue
        for place, sentence in enumerate(readable_sentences(hit.chunk.text)):
            day = event_day(sentence, published)
            words = frozenset(stems(sentence))
            share = len(wanted & words) / len(wanted) if wanted else 0.0
            lede = hit.chunk.ordinal == 0 and place == 0  # says what the article is about
            if day is None or not (share or lede):
                continue
            named = named_day(sentence, published) is not None
            score = hit.score / best + 0.6 * share + 0.3 * lede + 0.4 * named
            score -= 0.4 * leans_back(sentence) + 0.4 * bool(_MAYBE.search(sentence))
            found.append(Candidate(day, sentence, hit, score, words, named, lede))
    return on_lede_days(found)


def readable_sentences(text: str) -> list[str]:
    """A passage's sentences of a readable length, without time stamps, datelines or notes."""
    kept = []
    for said in split_sentences(text):
        sentence = " ".join(_LEAD_IN.sub("", said).split())
        size = len(sentence.split())
        if (
            MIN_WORDS <= size <= MAX_WORDS
            and not is_furniture(sentence)
            and not _NOTE.match(sentence)
        ):
            kept.append(sentence)
    return kept


def on_lede_days(found: list[Candidate]) -> list[Candidate]:
    """An article's sentences that name no day tell of the day its opening names, if it does."""
    ledes = {c.hit.article.id: c.day for c in found if c.named and c.lede}
    return [
        c if c.named or c.hit.article.id not in ledes else replace(c, day=ledes[c.hit.article.id])
        for c in found
    ]


def main_period(found: list[Candidate]) -> list[Candidate]:
    """The candidates of the busiest stretch: quiet spells of GAP_DAYS split stories apart."""
    if not found:
        return []
    ordered = sorted(found, key=lambda c: c.day)
    stretches: list[list[Candidate]] = [[ordered[0]]]
    for candidate in ordered[1:]:
        if (candidate.day - stretches[-1][-1].day).days > GAP_DAYS:
            stretches.append([])
        stretches[-1].append(candidate)

    def weight(stretch: list[Candidate]) -> float:
        best: dict[int, float] = {}
        for c in stretch:
            best[c.hit.article.id] = max(best.get(c.hit.article.id, 0.0), c.hit.score)
        return sum(best.values())

    return max(stretches, key=weight)


def same_event(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two sentences' content words say they tell the same thing."""
    if not a or not b:
        return False
    shared = len(a & b)
    union = len(a) + len(b) - shared
    return shared >= SAME_EVENT * union or shared >= CONTAINED * min(len(a), len(b))


def merge_retellings(found: list[Candidate]) -> list[Candidate]:
    """One candidate per event: copies and retellings go to the first article that told it.

    Only the MERGED best candidates are compared, each with those kept before it.
    """
    best = sorted(found, key=lambda c: -c.score)[:MERGED]
    kept: list[Candidate] = []
    order = sorted(best, key=lambda c: (c.day, c.hit.article.published or c.day, -c.score))
    for candidate in order:
        if not any(same_event(candidate.words, k.words) for k in kept):
            kept.append(candidate)
    return kept


def spread(found: list[Candidate], limit: int = MAX_EVENTS) -> list[Candidate]:
    """At most `limit` events, one a day, the best of each stretch of the span, then the best."""
    daily: dict[date, Candidate] = {}
    for c in found:
        if c.day not in daily or c.score > daily[c.day].score:
            daily[c.day] = c
    days = sorted(daily)
    if len(days) <= limit:
        return [daily[day] for day in days]
    first, width = days[0], (days[-1] - days[0]).days + 1
    chosen: dict[date, Candidate] = {}
    for day in days:  # the best event of each of `limit` equal stretches of the span
        slot = (day - first).days * limit // width
        best = chosen.get(date.fromordinal(slot + 1))
        if best is None or daily[day].score > best.score:
            chosen[date.fromordinal(slot + 1)] = daily[day]
    picked = {c.day: c for c in chosen.values()}
    for c in sorted(daily.values(), key=lambda c: -c.score):
        if len(picked) >= limit:
            break
        picked.setdefault(c.day, c)
    return [picked[day] for day in sorted(picked)]


def build_timeline(
    topic: str, hits: Sequence[Hit], span: DateRange | None, snippet_chars: int
) -> Timeline:
    """The topic's timeline from its passages; `span` keeps only events in it (a "since")."""
    found = candidates(topic, hits)
    if span is not None:
        found = [c for c in found if c.day in span]
    merged = merge_retellings(main_period(found))
    events = spread(merged)
    numbers: dict[int, int] = {}
    citations: list[Citation] = []
    lines: list[Event] = []
    for c in events:
        if c.hit.article.id not in numbers:
            numbers[c.hit.article.id] = len(numbers) + 1
            citations.append(cite(numbers[c.hit.article.id], c, snippet_chars))
        lines.append(Event(c.day, c.text, numbers[c.hit.article.id]))
    # Copies' sentences merged into the first telling, so each article left is a story.
    return Timeline(topic, tuple(lines), tuple(citations), len({c.hit.article.id for c in merged}))


def cite(n: int, candidate: Candidate, snippet_chars: int) -> Citation:
    """The numbered source of an event: its article and the passage around its sentence."""
    hit = candidate.hit
    return Citation(
        n=n,
        title=hit.article.title,
        url=hit.article.url,
        source=hit.article.source,
        published=hit.article.published,
        snippet=trim(hit.chunk.text, snippet_chars, around=candidate.text),
        score=round(float(hit.score), 4),
        chunk_id=hit.chunk.id,
    )
