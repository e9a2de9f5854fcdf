"""Scores for retrieved passages: dense and keyword fused, dates, a lexical re-rank; pure."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from index.records import Hit
from index.search.dates import DateRange
from index.search.keyword import stem

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Tuning:
    """The weights of each stage; the defaults were chosen on the RealTime QA dev set."""

    keyword_weight: float = 0.2  # BM25 (scaled to 0..1) added to the cosine
    rrf_k: float = 0.0  # > 0: reciprocal rank fusion with this k instead of weighting
    recency: float = 0.2  # bonus for passages published close to the time asked about
    recency_days: float = 60.0
    in_range: float = 0.2  # bonus for passages inside the question's time words' range
    range_slack_days: float = 5.0
    # Re-rank: share of the question's words in the title. 0.2 since e5 became the default
    # (dev recall@1 0.803 -> 0.828 on e5, 0.779 -> 0.787 on MiniLM; 0.15 and 0.25 lower).
    title_weight: float = 0.2
    rerank_depth: int = 30


def fuse(
    dense: Mapping[int, float], keyword: Mapping[int, float], tuning: Tuning
) -> dict[int, float]:
    """One score per chunk id from cosine and BM25 scores (either may be empty)."""
    if tuning.rrf_k > 0:
        fused: dict[int, float] = {}
        for scores in (dense, keyword):
            ranked = sorted(scores, key=lambda chunk_id: -scores[chunk_id])
            for rank, chunk_id in enumerate(ranked, start=1):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (tuning.rrf_k + rank)
        return fused
    top = max(keyword.values(), default=0.0) or 1.0
    floor = min(dense.values(), default=0.0)
    return {
        chunk_id: dense.get(chunk_id, floor)
        + tuning.keyword_weight * keyword.get(chunk_id, 0.0) / top
        for chunk_id in dense.keys() | keyword.keys()
    }


def scaled(scores: Mapping[int, float]) -> dict[int, float]:
    """Scores divided by the best one, so bonuses mean the same whatever the fusion."""
    top = max(scores.values(), default=0.0)
    return {key: value / top for key, value in scores.items()} if top > 0 else dict(scores)


def date_bonus(published: date | None, now: date, span: DateRange | None, tuning: Tuning) -> float:
    """Closer to the time asked about beats farther; inside the question's range beats outside."""
    if published is None:
        return 0.0
    # "In June 2024" asks about then, not now: nearness counts from the end of the range.
    moment = min(span.end, now) if span is not None else now
    bonus = tuning.recency * math.exp(-abs((moment - published).days) / tuning.recency_days)
    if span is not None:
        bonus += tuning.in_range * math.exp(-span.distance(published) / tuning.range_slack_days)
    return bonus


def words(text: str) -> set[str]:
    """Lower-cased words, cut to five letters so 'tariffs' meets 'tariff'."""
    return {stem(word) for word in _WORD.findall(text)}


def title_bonus(terms: Sequence[str], hit: Hit, tuning: Tuning) -> float:
    """Re-rank: the share of the question's words that the article's title holds."""
    # The passage's own words are in BM25 already; counting them again lowered MRR on dev.
    if not terms:
        return 0.0
    wanted = {stem(term) for term in terms}
    return tuning.title_weight * len(wanted & words(hit.article.title)) / len(wanted)


def article_ranking(hits: Sequence[Hit]) -> list[int]:
    """Article ids in the order of their best passage."""
    return list(dict.fromkeys(hit.article.id for hit in hits))
