"""`newsbot eval`: recall@k and MRR@10 of retrieval on questions with known answering articles."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path

import click
from tqdm import tqdm

from cli.wiring import archive_errors
from cli.written import use_llm, written_figures
from index.archive import Archive
from index.i18n import _, _n
from index.ingest.urls import canonical_url
from index.records import Answer
from index.search.answer_score import MISS_KINDS, AnswerScores, answer_scores, miss_kind
from index.search.evaluate import (
    Outcome,
    Scores,
    load_cases,
    run_cases,
    score,
    translate_cases,
)
from index.search.retrieve import Ranking, Timings
from index.settings import Settings

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def first_ids_by_url(articles: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Canonical URL -> the first JSONL id with it (the one an import keeps), and id -> that id."""
    by_url: dict[str, str] = {}
    alias: dict[str, str] = {}
    with articles.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line) if line.strip() else {}
            if record.get("url") and record.get("id") is not None:
                first = by_url.setdefault(canonical_url(str(record["url"])), str(record["id"]))
                alias[str(record["id"])] = first
    return by_url, alias


def texts_of(articles: Path, ids: set[str]) -> dict[str, str]:
    """The text of each article whose JSONL id is in `ids`."""
    texts: dict[str, str] = {}
    with articles.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line) if line.strip() else {}
            if str(record.get("id")) in ids:
                texts[str(record["id"])] = str(record.get("text", ""))
    return texts


def import_articles(archive: Archive, articles: Path) -> None:
    """Import the articles; those already in the archive are skipped."""
    with tqdm(desc=_("Importing"), unit=_(" articles"), disable=None, file=sys.stderr) as bar:
        report = archive.import_paths([articles], progress=bar.update)
    if report.added:
        click.echo(_("Imported: {summary}", summary=report.summary()), err=True)
    for failure in report.failures:
        click.echo(_("failed: {where}: {why}", where=failure.where, why=failure.why), err=True)


def describe(settings: Settings) -> str:
    """The retrieval settings measured, in one line."""
    return _(
        "retrieval {mode}, dates {dates}, re-rank {rerank}",
        mode=settings.retrieval_mode,
        dates=_("on") if settings.date_boost else _("off"),
        rerank=_("on") if settings.rerank else _("off"),
    )


def report_lines(scores: Scores, answers: AnswerScores, timings: Timings) -> list[str]:
    """The figures for people, then milliseconds per question by stage."""
    figures = scores.as_json() | answers.as_json()
    lines = [f"{key:>15}: {value}" for key, value in figures.items()]
    stages = ", ".join(f"{name} {ms:.1f}" for name, ms in asdict(timings).items())
    # BM25 runs while the question embeds: only the wait for it adds to the answer time.
    extra = timings.keyword_wait + timings.fuse + timings.rerank
    total = timings.embed + timings.dense + extra
    lines.append(
        _(
            "ms/question: {stages}; total {total:.1f}, beyond dense {extra:.1f}",
            stages=stages,
            total=total,
            extra=extra,
        )
    )
    return lines


def miss_lines(outcomes: Sequence[Outcome], k: int) -> list[str]:
    """Questions with no gold article in the first k."""
    lines = []
    for outcome in outcomes:
        if not set(outcome.ranked[:k]) & outcome.case.gold:
            case = outcome.case
            lines.append(
                _(
                    "miss {id} ({date}): {question}",
                    id=case.id,
                    date=case.asked_on,
                    question=case.question,
                )
            )
            lines.append(
                _(
                    "    gold {gold}; got {got}",
                    gold=sorted(case.gold),
                    got=list(outcome.ranked[:5]),
                )
            )
    return lines


def kind_lines(outcomes: Sequence[Outcome], texts: dict[str, str]) -> list[str]:
    """Answers without the correct option, sorted into the kinds of miss, with a count of each."""
    found: dict[str, list[str]] = {kind: [] for kind in MISS_KINDS}
    for outcome in outcomes:
        read, case = outcome.reading, outcome.case
        kind = miss_kind(read, [texts.get(g, "") for g in case.gold]) if read else ""
        if read and kind:
            found[kind].append(f"{kind} {case.id}: {case.question} -> {read.correct}")
            found[kind].append(f"    said: {read.sentences}")
    counts = ", ".join(f"{kind} {len(lines) // 2}" for kind, lines in found.items())
    return [_("Answer misses by kind: {counts}", counts=counts)] + [
        line for lines in found.values() for line in lines
    ]


@click.command("eval")
@click.option("--articles", type=_FILE, required=True, help="Articles as JSON Lines.")
@click.option("--questions", type=_FILE, required=True, help="Questions: id, date, question.")
@click.option("--gold", type=_FILE, required=True, help="Gold: id and the answering article ids.")
@click.option("--k", type=click.IntRange(1, 100), default=10, help="Articles ranked per question.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Archive to import into and search (reused); default NEWSBOT_DATA_DIR/eval/<articles>.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option(
    "--translated",
    type=_FILE,
    default=None,
    help="Ask these translations (id, question) of the gold questions instead.",
)
@click.option("--verbose", is_flag=True, help="List the questions retrieval missed.")
@click.option("--llm", is_flag=True, help="Also have the model (LLM_BASE_URL) write the answers.")
@click.pass_obj
@archive_errors
def evaluate(
    settings: Settings,
    articles: Path,
    questions: Path,
    gold: Path,
    k: int,
    data_dir: Path | None,
    as_json: bool,
    translated: Path | None,
    verbose: bool,
    llm: bool,
) -> None:
    """Measure retrieval: each gold question is asked with its own date as "now"."""
    use_llm(settings, llm or None)
    data_dir = data_dir or settings.data_dir / "eval" / articles.stem
    settings = settings.model_copy(update={"data_dir": data_dir})
    cases = load_cases(questions, gold)
    if translated:
        cases = translate_cases(cases, translated)
    with Archive(settings) as archive:
        archive.sync()
        import_articles(archive, articles)
        by_url, alias = first_ids_by_url(articles)
        cases = [replace(c, gold=frozenset(alias.get(g, g) for g in c.gold)) for c in cases]

        def article_key(ids: Sequence[int]) -> dict[int, str]:
            return {
                i: key.external_id or by_url.get(key.url or "", f"article:{i}")
                for i, key in archive.article_keys(ids).items()
            }

        def rank(question: str, now: date) -> Ranking:
            return archive.rank(question, now=now, floor=False)

        def ask(question: str, now: date) -> Answer:
            return archive.ask(question, now=now)

        outcomes, timings = run_cases(rank, ask, cases, article_key, k)
        written = written_figures(settings, archive, cases, article_key) if llm else None
        scores = score(outcomes)
        answers = answer_scores([o.reading for o in outcomes if o.reading and o.case.correct])
        heading = _n(
            "{settings}; {model}; {n} questions",
            "{settings}; {model}; {n} questions",
            len(cases),
            settings=describe(settings),
            model=archive.embedder.name,
        )
    figures: dict[str, object] = dict(scores.as_json())
    if written is not None:
        figures["written"] = written.as_json()
    if as_json:
        click.echo(json.dumps(figures | answers.as_json()))
        click.echo(heading + "\n" + report_lines(scores, answers, timings)[-1], err=True)
    else:
        lines = report_lines(scores, answers, timings)
        if written is not None:
            lines += [
                _("written {key}: {value}", key=key, value=value)
                for key, value in written.as_json().items()
            ]
        click.echo("\n".join([heading, *lines]))
    if verbose:
        texts = texts_of(articles, {g for case in cases for g in case.gold})
        lines = miss_lines(outcomes, k) + kind_lines(outcomes, texts)
        click.echo("\n".join(lines), err=as_json)
