"""Composes an extractive answer with numbered citations from retrieved passages; pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from index.i18n import _
from index.records import Answer, Citation, Hit, Sentence
from index.search import cyrillic
from index.search.occurrence import staleness
from index.search.sentences import (
    Question,
    Weights,
    holds_kind,
    is_dateline,
    is_furniture,
    judge,
    leans_back,
    stems,
)

_SENTENCE_END = re.compile(
    rf"(?<=[.!?…])[\"'”’»)]*\s+(?=[\"'“‘«(\[]?[A-Z0-9À-Ý{cyrillic.CAPITALS}])"
)
_WORD = re.compile(r"\w+", re.UNICODE)
# A live blog's update stamp: "6:36 pm ET April 1, 2026 Share this update Artemis II, 4 …".
_UPDATE_STAMP = re.compile(
    r"^\d{1,2}:\d\d\s*[ap]\.?m\.?\s+(?:[ECMP][SD]?T\s+)?[A-Z][a-z]{2,8}\.?\s+\d{1,2},\s+\d{4}\s+"
    r"(?:Share this update\s+)?"
)
_ABBREVIATION = re.compile(
    r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec|Mr|Mrs|Ms|Dr|St|Gov|Sen|Rep|Gen|Lt|"
    r"Col|Sgt|Jr|Sr|No|vs|Inc|Corp|Co|Mt|Ft|[A-Z]\.[A-Z])\.$"
)


def _pieces(line: str) -> list[str]:
    """The line cut at sentence ends, but not after 'Oct.', 'Dr.' or 'U.S.'."""
    pieces: list[str] = []
    for piece in _SENTENCE_END.split(line):
        if pieces and _ABBREVIATION.search(pieces[-1]):
            pieces[-1] += " " + piece
        else:
            pieces.append(piece)
    return pieces


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage; headings and fragments of under four words are left out, and a
    live blog's update stamp before the update's own words."""
    sentences: list[str] = []
    for line in text.splitlines():
        for piece in _pieces(line.strip()):
            piece = _UPDATE_STAMP.sub("", piece.strip())
            if len(_WORD.findall(piece)) >= 4 and piece[-1:] in ".!?…\"'”’»)":
                sentences.append(piece)
    return sentences


def select_hits(hits: Sequence[Hit], top_k: int, per_article: int) -> list[Hit]:
    """The best hits, at most `per_article` from any one article, best first."""
    chosen: list[Hit] = []
    taken: dict[int, int] = {}
    for hit in sorted(hits, key=lambda hit: -hit.score):
        if taken.get(hit.article.id, 0) >= per_article:
            continue
        taken[hit.article.id] = taken.get(hit.article.id, 0) + 1
        chosen.append(hit)
        if len(chosen) == top_k:
            break
    return chosen


def trim(text: str, limit: int, around: str = "") -> str:
    """At most `limit` characters of text, cut at word boundaries, centred on `around`."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    start = max(0, text.find(" ".join(around.split())) if around else 0)
    start = max(0, min(start - limit // 5, len(text) - limit))
    end = start + limit
    if start > 0:
        start = text.find(" ", start) + 1 or start
    if end < len(text):
        end = text.rfind(" ", start, end) if text.rfind(" ", start, end) > start else end
    return ("…" if start > 0 else "") + text[start:end].strip() + ("…" if end < len(text) else "")


@dataclass(frozen=True)
class Candidate:
    """A sentence of a cited passage: which hit, where in the passage, and its answer score."""

    hit: int
    position: int
    text: str
    score: float
    news: frozenset[str] = frozenset()  # its content words that are not the question's
    match: float = 0.0  # share of the question's weighted words it (and what it leans on) holds


def candidates(
    question: str,
    hits: Sequence[Hit],
    tuning: Weights,
    meaning: Sequence[Sequence[float]] = (),
    stale: Sequence[float] = (),
) -> list[list[Candidate]]:
    """Every sentence of every hit, scored; restatements score -1 (furniture is found later).

    `meaning`, where given, holds each hit's sentences' cosines with the question; `stale`,
    how far each hit's story is from the latest occurrence (0 to 1, see `occurrence`).
    """
    passages = [split_sentences(hit.chunk.text) for hit in hits]
    words = [[set(stems(text)) for text in texts] for texts in passages]
    asked = Question.read(question, [w for row in words for w in row], tuning.lead_in)
    best_hit = max((hit.score for hit in hits), default=0.0) or 1.0
    scored: list[list[Candidate]] = []
    for index, (hit, texts) in enumerate(zip(hits, passages, strict=True)):
        row: list[Candidate] = []
        restated = False
        for position, text in enumerate(texts):
            # A pronoun or connective is about what the sentence before it is about.
            about = words[index][position - 1] if position and leans_back(text) else set()
            judged = judge(asked, text, words[index][position], tuning, about)
            lead = max(0.0, 1 - position / 8) if hit.chunk.ordinal == 0 else 0.0
            score = (
                judged.score
                + tuning.passage * max(hit.score, 0.0) / best_hit
                + tuning.lead * lead
                + (tuning.after_restated if restated else 0.0)
                + (tuning.meaning * meaning[index][position] if meaning else 0.0)
                - tuning.stale * (stale[index] if stale else 0.0)
            )
            news = frozenset(words[index][position] - asked.weights.keys())
            row.append(
                Candidate(
                    index,
                    position,
                    text,
                    -1.0 if judged.restates else score,
                    news,
                    judged.match,
                )
            )
            restated = judged.restates
        scored.append(row)
    return scored


def unit(passage: list[Candidate], candidate: Candidate) -> list[Candidate]:
    """The sentence with the one before it when it leans on it; none if that one is unfit.

    After a dateline ("Updated May 19, 2026") the sentence opens the story: it stands alone.
    """
    if not leans_back(candidate.text):
        return [candidate]
    before = passage[candidate.position - 1] if candidate.position > 0 else None
    if before is not None and is_dateline(before.text):
        return [candidate]
    return [before, candidate] if before is not None and not is_furniture(before.text) else []


def _repeats(candidate: Candidate, chosen: Sequence[Candidate], overlap: float) -> bool:
    """Whether it says what a chosen sentence says: most of its news is already there."""
    for other in chosen:
        shared = len(candidate.news & other.news)
        if candidate.news == other.news or shared > overlap * min(
            len(candidate.news), len(other.news)
        ):
            return True
    return False


def _words(chosen: Sequence[Candidate]) -> int:
    return sum(len(_WORD.findall(c.text)) for c in chosen)


def choose(
    scored: list[list[Candidate]],
    max_sentences: int,
    tuning: Weights,
    story: Sequence[int] = (),
) -> list[Candidate]:
    """The best answering sentence with its context, then others nearly as good, no repeats.

    `story[i]` names hit i's story (its article): the answer keeps to the best sentence's
    story, within `tuning.words` words; see `another_report` for the one exception.
    """
    ranked = sorted(
        (c for row in scored for c in row if c.score > tuning.floor),
        key=lambda c: (-c.score, c.hit, c.position),
    )
    chosen: list[Candidate] = []
    for candidate in ranked:
        if chosen and candidate.score < tuning.keep * ranked[0].score:
            break
        if is_furniture(candidate.text):
            continue
        if chosen and story and story[candidate.hit] != story[chosen[0].hit]:
            continue
        group = unit(scored[candidate.hit], candidate)
        fresh = [c for c in group if c not in chosen]
        if not fresh or _repeats(candidate, chosen, tuning.repeat):
            continue
        if chosen and len(chosen) + len(fresh) > max_sentences:
            continue
        if chosen and _words(chosen) + _words(fresh) > tuning.words:
            continue
        chosen += fresh
        if len(chosen) >= max_sentences:
            break
    return chosen


def another_report(
    question: str,
    scored: list[list[Candidate]],
    chosen: Sequence[Candidate],
    story: Sequence[int],
    tuning: Weights,
    stale: Sequence[float] = (),
) -> list[Candidate]:
    """Another story's best sentence, when it holds the kind of thing asked and the answer not,
    or when it scores nearly as well as the answer's best (`tuning.rival`): too close to call,
    unless it tells an older occurrence than the answer's story (`stale`, as for `candidates`).
    Either way it must be about the question: hold `tuning.anchor` of the question's words
    that the answer's best-matching sentence holds (no "World Series" answer gets a
    Thanksgiving football sentence for sharing "two teams").
    """
    asked = Question.read(question, [])
    if not chosen:
        return []
    best = chosen[0].score
    about = tuning.anchor * max(c.match for c in chosen)
    wanting = bool(asked.kind) and not any(holds_kind(asked, c.text) for c in chosen)
    lead = story[chosen[0].hit]
    for candidate in sorted((c for row in scored for c in row), key=lambda c: -c.score):
        if candidate.score < min(tuning.keep, tuning.rival) * best:
            break
        if (
            story[candidate.hit] == lead
            or is_furniture(candidate.text)
            or leans_back(candidate.text)
            or candidate.match < about
        ):
            continue
        older = bool(stale) and stale[candidate.hit] > stale[chosen[0].hit]
        if (candidate.score >= tuning.rival * best and not older) or (
            wanting and candidate.score >= tuning.keep * best and holds_kind(asked, candidate.text)
        ):
            return [candidate]
    return []


def in_reading_order(chosen: Sequence[Candidate], hits: Sequence[Hit]) -> list[Candidate]:
    """Articles in the order the answer first uses them; each article's sentences in its order."""
    first: dict[int, int] = {}
    for rank, candidate in enumerate(chosen):
        first.setdefault(hits[candidate.hit].article.id, rank)
    return sorted(
        chosen,
        key=lambda c: (
            first[hits[c.hit].article.id],
            hits[c.hit].chunk.ordinal,
            c.position,
        ),
    )


def compose_answer(
    question: str,
    hits: Sequence[Hit],
    max_sentences: int,
    snippet_chars: int = 320,
    tuning: Weights | None = None,
    meaning: Sequence[Sequence[float]] = (),
    now: date | None = None,
) -> Answer:
    """The sentences that answer, each tagged with its passage's citation number.

    `hits` are the cited passages, best first; `meaning` as for `candidates`; `now`, the day
    asked, decides between occurrences of a recurring story.
    """
    if not hits:
        return Answer(question=question, found=False)
    tuning = tuning or Weights()
    stale = staleness(question, hits, now) if now else []
    scored = candidates(question, hits, tuning, meaning, stale)
    story = [hit.article.id for hit in hits]
    chosen = choose(scored, max_sentences, tuning, story)
    other = another_report(question, scored, chosen, story, tuning, stale)
    chosen = in_reading_order(chosen, hits) + other
    picked = [(c.hit, c.text) for c in chosen] or [(0, trim(hits[0].chunk.text, snippet_chars))]
    # A snippet shows its passage around the sentence the answer took from it, or else
    # around the passage's own best sentence.
    best = {index: max(row, key=lambda c: c.score).text for index, row in enumerate(scored) if row}
    best |= {index: sentence for index, sentence in reversed(picked)}
    said = list(picked)
    if other:
        index, sentence = said[-1]
        said[-1] = (index, _("Another report: {sentence}", sentence=sentence))
    return cite(question, hits, said, best, snippet_chars)


def cite(
    question: str,
    hits: Sequence[Hit],
    picked: Sequence[tuple[int, str]],
    best: dict[int, str],
    snippet_chars: int,
) -> Answer:
    """The answer with its citations, numbered in the order the sentences first use them."""
    order = list(dict.fromkeys([index for index, _ in picked] + list(range(len(hits)))))
    number = {index: n for n, index in enumerate(order, start=1)}
    citations = tuple(
        Citation(
            n=number[index],
            title=hits[index].article.title,
            url=hits[index].article.url,
            source=hits[index].article.source,
            published=hits[index].article.published,
            snippet=trim(hits[index].chunk.text, snippet_chars, around=best.get(index, "")),
            score=round(float(hits[index].score), 4),
            chunk_id=hits[index].chunk.id,
        )
        for index in order
    )
    return Answer(
        question=question,
        found=True,
        sentences=tuple(Sentence(sentence, number[index]) for index, sentence in picked),
        citations=citations,
    )
