"""The README's retrieval table: BM25, dense, hybrid and the default on one set, in one run.

    .venv/bin/python scripts/eval_table.py --articles A.jsonl --questions Q.jsonl \
        --gold G.jsonl --data-dir DIR [--json]

Each question's candidates are fetched once (dense and BM25) and every row is scored from
them, which gives the same rankings as `NEWSBOT_RETRIEVAL=... newsbot eval` run per row.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from cli.evaluate import first_ids_by_url, import_articles
from index.archive import Archive
from index.search.evaluate import Outcome, load_cases, mean_timings, score
from index.search.fusion import article_ranking
from index.search.retrieve import Candidates
from index.settings import Settings

ROWS = (
    ("BM25 (keyword)", "keyword", False, False),
    ("dense", "dense", False, False),
    ("hybrid (fused)", "hybrid", False, False),
    ("hybrid + dates", "hybrid", True, False),
    ("default: hybrid + dates + title re-rank", "hybrid", True, True),
)


def only(found: Candidates, mode: str) -> Candidates:
    """The candidates a single-retriever mode would have had."""
    if mode == "dense":
        keep = found.cosine
        return replace(found, hits={i: h for i, h in found.hits.items() if i in keep}, keyword={})
    if mode == "keyword":
        keep = found.keyword
        return replace(found, hits={i: h for i, h in found.hits.items() if i in keep}, cosine={})
    return found


def main() -> None:
    """Print the table (Markdown, or JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("articles", "questions", "gold", "data-dir"):
        parser.add_argument(f"--{name}", type=Path, required=True)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    base = Settings(data_dir=args.data_dir)
    archive = Archive(base)  # not Archive.open: the sample articles would join the measured set
    archive.sync()
    import_articles(archive, args.articles)
    by_url, alias = first_ids_by_url(args.articles)
    cases = load_cases(args.questions, args.gold)
    cases = [replace(c, gold=frozenset(alias.get(g, g) for g in c.gold)) for c in cases]
    hybrid = base.model_copy(update={"retrieval_mode": "hybrid"})
    fetch = archive.retriever.with_settings(hybrid)
    found = [fetch.candidates(case.question) for case in cases]
    ids = {hit.article.id for f in found for hit in f.hits.values()}
    keys = {
        i: key.external_id or by_url.get(key.url or "", f"article:{i}")
        for i, key in archive.article_keys(sorted(ids)).items()
    }
    table = []
    for label, mode, dates, rerank in ROWS:
        settings = base.model_copy(
            update={"retrieval_mode": mode, "date_boost": dates, "rerank": rerank}
        )
        retriever = archive.retriever.with_settings(settings)
        outcomes = []
        for case, candidates in zip(cases, found, strict=True):
            mine = only(candidates, mode)
            hits = retriever.rerank(
                case.question, mine, retriever.score(case.question, case.asked_on, mine)
            )
            outcomes.append(Outcome(case, tuple(keys[a] for a in article_ranking(hits)[:10])))
        table.append((label, score(outcomes)))
    timings = mean_timings([f.timings for f in found])
    if args.json:
        print(json.dumps({label: scores.as_json() for label, scores in table}))
        return
    print(f"{len(cases)} questions; {archive.counts().chunks} passages; {archive.embedder.name}")
    print("| retrieval | recall@1 | recall@5 | recall@10 | MRR@10 |\n|---|---|---|---|---|")
    for label, s in table:
        figures = (s.recall_at_1, s.recall_at_5, s.recall_at_10, s.mrr_at_10)
        print(f"| {label} | " + " | ".join(f"{x:.3f}" for x in figures) + " |")
    print(
        f"candidates, ms/question: embed {timings.embed:.1f}, dense {timings.dense:.1f}, "
        f"BM25 {timings.keyword:.1f} (wait after dense {timings.keyword_wait:.1f})"
    )


if __name__ == "__main__":
    main()
