"""Composes an extractive answer with numbered citations from retrieved passages; pure."""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.records import Answer, Citation, Hit, Sentence
from index.search.keyword import STOPWORDS, stem

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+(?=[\"'“‘(\[]?[A-Z0-9À-Ý])")
_WORD = re.compile(r"\w+", re.UNICODE)


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage; headings and fragments of under four words are left out."""
    sentences: list[str] = []
    for line in text.splitlines():
        for piece in _SENTENCE_END.split(line.strip()):
            piece = piece.strip()
            if len(_WORD.findall(piece)) >= 4 and piece[-1:] in ".!?…\"'”’)":
                sentences.append(piece)
    return sentences


def _stems(text: str) -> set[str]:
    """Lower-cased content words cut to five letters: 'Ukrainian' meets 'Ukraine'."""
    return {stem(word) for word in _WORD.findall(text.lower()) if word not in STOPWORDS}


def shortlist_sentences(
    question: str, candidates: Sequence[tuple[int, str]], limit: int
) -> list[tuple[int, str]]:
    """The distinct candidates sharing most words with the question, best passage first on ties.

    Embedding every sentence of every cited passage costs hundreds of milliseconds on a CPU;
    the model then only ranks this short list.
    """
    wanted = _stems(question)
    distinct = list(
        {sentence: (index, sentence) for index, sentence in reversed(candidates)}.values()
    )
    distinct.reverse()
    ranked = sorted(
        enumerate(distinct),
        key=lambda item: (-len(wanted & _stems(item[1][1])), item[1][0], item[0]),
    )
    return [candidate for _, candidate in ranked[:limit]]


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


def compose_answer(
    question: str,
    hits: Sequence[Hit],
    sentences: Sequence[tuple[int, str, float]],
    max_sentences: int,
    snippet_chars: int = 320,
) -> Answer:
    """The best distinct sentences, each tagged with its passage's citation number.

    `hits` are the cited passages, best first; `sentences` are (hit index, sentence,
    relevance) triples from those passages.
    """
    if not hits:
        return Answer(question=question, found=False)
    picked: list[tuple[int, str]] = []
    seen: set[str] = set()
    for index, sentence, _ in sorted(sentences, key=lambda item: -item[2]):
        key = " ".join(_WORD.findall(sentence.lower()))
        if key in seen:
            continue
        seen.add(key)
        picked.append((index, sentence))
        if len(picked) == max_sentences:
            break
    if not picked:
        picked = [(0, trim(hits[0].chunk.text, snippet_chars))]
    # Number citations in the order the answer first uses them, then the rest by score.
    order = list(dict.fromkeys([index for index, _ in picked] + list(range(len(hits)))))
    number = {index: n for n, index in enumerate(order, start=1)}
    best = {index: sentence for index, sentence in reversed(picked)}
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
