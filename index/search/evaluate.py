"""Retrieval evaluation: recall@k and MRR@10 over articles, and the loop that asks the questions."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path

from index.errors import ArchiveError
from index.i18n import _
from index.records import Answer
from index.search.answer_score import Reading
from index.search.fusion import article_ranking
from index.search.retrieve import Ranking, Timings


class EvalDataError(ArchiveError):
    """The questions or gold files cannot be read."""


@dataclass(frozen=True)
class Case:
    """A question with the day it was asked and the ids of the articles that answer it."""

    id: str
    question: str
    asked_on: date
    gold: frozenset[str]
    choices: tuple[str, ...] = ()
    correct: str = ""


@dataclass(frozen=True)
class Outcome:
    """The article ids retrieval returned for a case, best first."""

    case: Case
    ranked: tuple[str, ...]
    reading: Reading | None = None


@dataclass(frozen=True)
class Scores:
    """Recall@1/5/10 (share of questions with a gold article that high) and MRR@10."""

    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr_at_10: float
    n: int

    def as_json(self) -> dict[str, float | int]:
        """The figures under the keys `recall@1`, `recall@5`, `recall@10`, `mrr@10`, `n`."""
        return {
            "recall@1": self.recall_at_1,
            "recall@5": self.recall_at_5,
            "recall@10": self.recall_at_10,
            "mrr@10": self.mrr_at_10,
            "n": self.n,
        }


def first_gold_rank(ranked: Sequence[str], gold: Iterable[str]) -> int | None:
    """1-based rank of the first gold article, None when there is none."""
    wanted = set(gold)
    return next((rank for rank, key in enumerate(ranked, start=1) if key in wanted), None)


def recall_at(ranked: Sequence[str], gold: Iterable[str], k: int) -> float:
    """1.0 when a gold article is among the first k, else 0.0."""
    rank = first_gold_rank(ranked, gold)
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(ranked: Sequence[str], gold: Iterable[str], k: int = 10) -> float:
    """1/rank of the first gold article within the first k, else 0.0."""
    rank = first_gold_rank(ranked, gold)
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def score(outcomes: Sequence[Outcome]) -> Scores:
    """Mean recall@1/5/10 and MRR@10 over the outcomes."""
    n = len(outcomes)

    def mean(metric: Callable[[Outcome], float]) -> float:
        return round(sum(metric(o) for o in outcomes) / n, 4) if n else 0.0

    return Scores(
        recall_at_1=mean(lambda o: recall_at(o.ranked, o.case.gold, 1)),
        recall_at_5=mean(lambda o: recall_at(o.ranked, o.case.gold, 5)),
        recall_at_10=mean(lambda o: recall_at(o.ranked, o.case.gold, 10)),
        mrr_at_10=mean(lambda o: reciprocal_rank(o.ranked, o.case.gold, 10)),
        n=n,
    )


def _jsonl(path: Path) -> list[dict[str, object]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EvalDataError(
            _("Cannot read {path}: {error}. Give a JSON Lines file.", path=path, error=error)
        ) from error


def _strings(value: object) -> tuple[str, ...]:
    """A JSON list as strings; anything else as none."""
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def load_cases(questions: Path, gold: Path) -> list[Case]:
    """The gold questions, joined by id to their text and date."""
    asked = {str(row["id"]): row for row in _jsonl(questions)}
    cases = []
    for row in _jsonl(gold):
        question = asked.get(str(row.get("id")))
        if question is None:
            raise EvalDataError(
                _(
                    "Gold question {id!r} is not in {questions}.",
                    id=row.get("id"),
                    questions=questions,
                )
            )
        try:
            cases.append(
                Case(
                    id=str(row["id"]),
                    question=str(question["question"]),
                    asked_on=date.fromisoformat(str(question["date"])),
                    gold=frozenset(str(key) for key in row["gold"]),  # type: ignore[attr-defined]
                    choices=_strings(question.get("choices")),
                    correct=next(iter(_strings(question.get("answer_text"))), ""),
                )
            )
        except (KeyError, TypeError, ValueError) as error:
            raise EvalDataError(
                _("Question {id!r}: bad or missing {error}.", id=row.get("id"), error=error)
            ) from error
    return cases


def translate_cases(cases: Sequence[Case], translated: Path) -> list[Case]:
    """The cases asked in another language (JSON Lines: id, question); date, gold, options stay."""
    asked = {str(row.get("id")): str(row.get("question", "")) for row in _jsonl(translated)}
    known = {case.id for case in cases}
    unknown = sorted(set(asked) - known)
    if unknown:
        raise EvalDataError(f"Translated question {unknown[0]!r} has no gold question to join.")
    return [replace(case, question=asked[case.id]) for case in cases if case.id in asked]


def reading(case: Case, answer: Answer, keys: dict[int, str] | None = None) -> Reading:
    """What the user read for the case: the answer's sentences and its cited snippets.

    `keys` gives each cited passage's (chunk id's) article key, for the precision figures.
    """
    keys = keys or {}
    cited = {c.n: keys.get(c.chunk_id, "") for c in answer.citations}
    return Reading(
        sentences=" ".join(sentence.text for sentence in answer.sentences),
        snippets="\n".join(citation.snippet for citation in answer.citations),
        choices=case.choices,
        correct=case.correct,
        sources=tuple(cited.get(sentence.n, "") for sentence in answer.sentences),
        cited_first=cited.get(1, ""),
        cited_articles=frozenset(cited.values()) - {""},
        gold=case.gold,
    )


def mean_timings(timings: Sequence[Timings]) -> Timings:
    """Milliseconds per stage, averaged over questions."""
    if not timings:
        return Timings()
    names = [field.name for field in fields(Timings)]
    return Timings(
        **{name: sum(getattr(t, name) for t in timings) / len(timings) for name in names}
    )


def run_cases(
    rank: Callable[[str, date], Ranking],
    ask: Callable[[str, date], Answer],
    cases: Sequence[Case],
    article_key: Callable[[Sequence[int]], dict[int, str]],
    k: int = 10,
) -> tuple[list[Outcome], Timings]:
    """Rank every case's passages, its own date as "now"; the first k article keys found.

    `rank(question, now)` ranks without the relevance floor (`Archive.rank`), so recall
    counts articles below the floor too, as retrieval figures always have; `ask(question,
    now)` is the answer a user reads (`Archive.ask`), for the answer figures.
    """
    outcomes, timings = [], []
    for case in cases:
        ranking = rank(case.question, case.asked_on)
        article_ids = article_ranking(ranking.hits)[:k]
        keys = article_key(article_ids)
        # An article not in the gold's file keeps its place under a key no gold can have.
        answer = ask(case.question, case.asked_on)
        # The cited passages are among the ranked ones (the answer's are above the floor).
        article_of = {hit.chunk.id: hit.article.id for hit in ranking.hits}
        cited = {
            c.chunk_id: article_of[c.chunk_id] for c in answer.citations if c.chunk_id in article_of
        }
        cited_keys = article_key(list(cited.values()))
        by_chunk = {chunk: cited_keys.get(a, f"article:{a}") for chunk, a in cited.items()}
        outcomes.append(
            Outcome(
                case,
                tuple(keys.get(i, f"article:{i}") for i in article_ids),
                reading(case, answer, by_chunk),
            )
        )
        timings.append(ranking.timings)
    return outcomes, mean_timings(timings)
