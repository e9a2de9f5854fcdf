"""Written answers in the terminal: the model client opened, used and closed in one event loop."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import click

from index import Archive
from index.i18n import N_, _
from index.records import Answer
from index.search.answer_score import answer_scores
from index.search.evaluate import Case, reading
from index.settings import Settings
from index.written.client import ModelClient
from index.written.write import Written, write_answer

NO_MODEL = N_("--llm needs a model: set LLM_BASE_URL (and LLM_MODEL) in the environment or .env.")


def use_llm(settings: Settings, wanted: bool | None) -> bool:
    """--llm, --no-llm, or by default whether a model is configured."""
    if wanted and not settings.llm_base_url:
        raise click.UsageError(_(NO_MODEL))
    return bool(settings.llm_base_url) if wanted is None else wanted


def write(settings: Settings, archive: Archive, answer: Answer) -> Written:
    """The checked written answer to one question, whole (the terminal shows it at once)."""
    return write_many(settings, archive, [answer])[0]


def write_many(settings: Settings, archive: Archive, answers: list[Answer]) -> list[Written]:
    """Checked written answers, one question after another, through one client."""

    async def run() -> list[Written]:
        client = ModelClient(settings)
        try:
            return [
                await write_answer(
                    client, archive.embedder, answer, archive.cited_passages(answer), stream=False
                )
                for answer in answers
            ]
        finally:
            await client.close()

    return asyncio.run(run())


@dataclass(frozen=True)
class WrittenFigures:
    """How written answers went over an eval set."""

    questions: int
    written: int  # answered in the model's (checked) words
    sentences_kept: int
    sentences_dropped: int
    gold_cited: float  # share of questions whose written answer cites a gold article
    fallbacks: dict[str, int]
    # The answer figures (`newsbot eval`'s), over what the user reads: written or fallback.
    answers: dict[str, float]

    def as_json(self) -> dict[str, object]:
        """The figures under their own names."""
        return asdict(self)


def written_figures(
    settings: Settings,
    archive: Archive,
    cases: Sequence[Case],
    article_key: Callable[[Sequence[int]], dict[int, str]],
) -> WrittenFigures:
    """Ask every case (on its own date), have the model write, and count what held."""
    answers = [archive.ask(case.question, now=case.asked_on) for case in cases]
    results = write_many(settings, archive, answers)
    cited = 0
    for case, result in zip(cases, results, strict=True):
        if result.mode != "llm":
            continue
        used = {sentence.n for sentence in result.answer.sentences}
        hits = [archive.passage(c.chunk_id) for c in result.answer.citations if c.n in used]
        articles = [hit.article.id for hit in hits if hit is not None]
        cited += bool(set(article_key(articles).values()) & case.gold)
    return WrittenFigures(
        questions=len(cases),
        written=sum(r.mode == "llm" for r in results),
        sentences_kept=sum(len(r.answer.sentences) for r in results if r.mode == "llm"),
        sentences_dropped=sum(len(r.dropped) for r in results),
        gold_cited=round(cited / (len(cases) or 1), 4),
        fallbacks=dict(Counter(r.reason for r in results if r.mode != "llm")),
        answers=answer_scores(
            [reading(c, r.answer) for c, r in zip(cases, results, strict=True) if c.correct]
        ).as_json(),
    )
