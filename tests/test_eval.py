"""The retrieval evaluation: metrics on a hand-made set, and `newsbot eval` end to end."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import cli_env

from cli.evaluate import kind_lines
from cli.main import main
from index.search.answer_score import Reading
from index.search.evaluate import (
    Case,
    EvalDataError,
    Outcome,
    first_gold_rank,
    load_cases,
    recall_at,
    reciprocal_rank,
    score,
)

DAY = date(2025, 6, 5)


def _outcome(gold: str, ranked: str) -> Outcome:
    return Outcome(Case(gold, "q", DAY, frozenset(gold.split())), tuple(ranked.split()))


def test_metrics_on_a_hand_made_set() -> None:
    outcomes = [
        _outcome("a", "a x y"),  # rank 1
        _outcome("b", "x y b"),  # rank 3
        _outcome("c d", "1 2 3 4 5 6 d c"),  # rank 7: d counts, it is gold too
        _outcome("e", "1 2 3 4 5 6 7 8 9 10 e"),  # rank 11: outside @10
        _outcome("f", ""),  # nothing retrieved
    ]

    scores = score(outcomes)

    assert scores.as_json() == {
        "recall@1": 0.2,
        "recall@5": 0.4,
        "recall@10": 0.6,
        "mrr@10": round((1 + 1 / 3 + 1 / 7) / 5, 4),
        "n": 5,
    }


def test_rank_helpers() -> None:
    assert first_gold_rank(["x", "g", "g"], {"g"}) == 2
    assert first_gold_rank(["x"], {"g"}) is None
    assert recall_at(["x", "g"], {"g"}, 1) == 0.0
    assert recall_at(["x", "g"], {"g"}, 2) == 1.0
    assert reciprocal_rank(["x", "x", "x", "x", "g"], {"g"}, 4) == 0.0
    assert score([]).n == 0


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture
def bench(tmp_path: Path) -> dict[str, Path]:
    """Three articles, three questions, gold for each (the last one deliberately wrong)."""
    articles = [
        {
            "id": "volcano",
            "url": "https://news.test/volcano?utm_source=x",
            "title": "Volcano erupts near fishing village",
            "text": "A volcano on the northern island erupted on Monday and about 3,000 "
            "residents of a fishing village were evacuated to shelters.",
            "published": "2025-06-02",
            "source": "news.test",
        },
        {
            "id": "budget",
            "url": "https://news.test/budget",
            "title": "City council approves record budget",
            "text": "The city council approved a record budget of 1.2 billion dollars, with "
            "140 more teachers and two new bridges over the river.",
            "published": "2025-03-14",
            "source": "news.test",
        },
        {
            "id": "chess",
            "url": "https://news.test/chess",
            "title": "Teenager wins national chess title",
            "text": "A sixteen-year-old from the harbour district won the national chess "
            "championship after a tense final game that lasted six hours.",
            "published": "2025-05-30",
            "source": "news.test",
        },
    ]
    questions = [
        {
            "id": "q1",
            "date": "2025-06-05",
            "question": "How many people fled the eruption?",
            "choices": ["About 3,000", "About 30", "Nobody", "A million"],
            "answer_text": ["About 3,000"],
        },
        {
            "id": "q2",
            "date": "2025-06-05",
            "question": "How many teachers does the budget add?",
            "choices": ["Two", "140", "1.2 billion", "None"],
            "answer_text": ["140"],
        },
        {"id": "q3", "date": "2025-06-05", "question": "Who won the chess championship?"},
    ]
    gold = [
        {"id": "q1", "gold": ["volcano"]},
        {"id": "q2", "gold": ["budget"]},
        {"id": "q3", "gold": ["budget"]},
    ]
    return {
        "articles": _write_jsonl(tmp_path / "articles.jsonl", articles),
        "questions": _write_jsonl(tmp_path / "questions.jsonl", questions),
        "gold": _write_jsonl(tmp_path / "gold.jsonl", gold),
    }


def test_gold_for_an_unknown_question_is_refused(bench: dict[str, Path], tmp_path: Path) -> None:
    wrong = _write_jsonl(tmp_path / "wrong.jsonl", [{"id": "q9", "gold": ["volcano"]}])

    with pytest.raises(EvalDataError, match="q9"):
        load_cases(bench["questions"], wrong)


def test_eval_command(bench: dict[str, Path], tmp_path: Path) -> None:
    args = ["eval", "--k", "1", "--data-dir", str(tmp_path / "eval"), "--json", "--verbose"]
    for name, path in bench.items():
        args += [f"--{name}", str(path)]
    runner = CliRunner()

    first = runner.invoke(main, args, env=cli_env(tmp_path / "data"))
    again = runner.invoke(main, args, env=cli_env(tmp_path / "data"))

    assert first.exit_code == 0, first.output
    figures = json.loads(first.stdout)
    assert figures == {
        "recall@1": 0.6667,
        "recall@5": 0.6667,
        "recall@10": 0.6667,
        "mrr@10": 0.6667,
        "n": 3,
        "answer_contains": 1.0,
        "cited_contains": 1.0,
        # The budget passage names all of "two", "140" and "1.2 billion": a third of the credit.
        "answer_mc": 0.6667,
        "cited_mc": 0.6667,
        "answer_precision": 1.0,
        "answer_all_gold": 1.0,
        "answer_words_p50": 22.5,  # the median of two answers
    }
    assert "miss q3" in first.stderr and "Who won the chess championship?" in first.stderr
    assert "ms/question" in first.stderr
    assert "Imported: 3 article(s)" in first.stderr
    assert json.loads(again.stdout) == figures
    assert "Imported" not in again.stderr


def test_verbose_sorts_answer_misses_into_four_kinds() -> None:
    def outcome(id: str, said: str, first: str, cited: str) -> Outcome:
        case = Case(
            id, "Who spoke?", DAY, frozenset({"a"}), ("Pope Leo XIV", "Dalai Lama"), "Dalai Lama"
        )
        read = Reading(
            said,
            "",
            case.choices,
            case.correct,
            (first,),
            first,
            frozenset(cited.split()),
            case.gold,
        )
        return Outcome(case, ("a",), read)

    texts = {"a": "The Dalai Lama spoke in Rome."}
    outcomes = [
        outcome("stated", "The Dalai Lama spoke.", "a", "a"),
        outcome("q1", "A leader spoke.", "a", "a b"),
        outcome("q2", "A leader spoke.", "b", "b a"),
        outcome("q3", "A leader spoke.", "b", "b c"),
    ]

    lines = kind_lines(outcomes, texts)
    unreachable = kind_lines(outcomes[1:2], {"a": "A leader spoke in Rome."})

    assert lines[0] == "Answer misses by kind: unreachable 0, uncited 1, not_first 1, unchosen 1"
    assert lines[1:] == [
        "uncited q3: Who spoke? -> Dalai Lama",
        "    said: A leader spoke.",
        "not_first q2: Who spoke? -> Dalai Lama",
        "    said: A leader spoke.",
        "unchosen q1: Who spoke? -> Dalai Lama",
        "    said: A leader spoke.",
    ]
    assert unreachable[1] == "unreachable q1: Who spoke? -> Dalai Lama"
