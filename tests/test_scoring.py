"""The pure scoring functions, table by table: fusion, scaling, date and title bonuses."""

from __future__ import annotations

import math
from datetime import date

import pytest

from index.records import Article, Chunk, Hit
from index.search.dates import DateRange
from index.search.fusion import Tuning, date_bonus, fuse, scaled, title_bonus

NOW = date(2025, 6, 5)
JUNE_2024 = DateRange(date(2024, 6, 1), date(2024, 6, 30))


@pytest.mark.parametrize(
    ("dense", "keyword", "tuning", "expected"),
    [
        # cosine plus 0.2 x BM25 scaled by the best; a BM25-only passage gets the lowest cosine
        ({1: 0.8, 2: 0.6}, {2: 10.0, 3: 5.0}, Tuning(), {1: 0.8, 2: 0.8, 3: 0.7}),
        ({1: 0.8, 2: 0.6}, {}, Tuning(), {1: 0.8, 2: 0.6}),
        ({}, {2: 10.0, 3: 5.0}, Tuning(), {2: 0.2, 3: 0.1}),
        ({1: 0.8}, {1: 3.0}, Tuning(keyword_weight=0.0), {1: 0.8}),
        # reciprocal rank fusion: 1 / (k + rank) summed over both lists
        (
            {1: 0.8, 2: 0.6},
            {2: 10.0, 3: 5.0},
            Tuning(rrf_k=60),
            {1: 1 / 61, 2: 1 / 62 + 1 / 61, 3: 1 / 62},
        ),
        ({}, {}, Tuning(), {}),
    ],
    ids=["weighted", "dense only", "keyword only", "no keyword weight", "rrf", "nothing"],
)
def test_fuse(
    dense: dict[int, float], keyword: dict[int, float], tuning: Tuning, expected: dict[int, float]
) -> None:
    assert fuse(dense, keyword, tuning) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ({1: 2.0, 2: 1.0}, {1: 1.0, 2: 0.5}),
        ({1: 0.5}, {1: 1.0}),
        ({1: 0.0, 2: -1.0}, {1: 0.0, 2: -1.0}),  # nothing positive: left as it is
        ({}, {}),
    ],
)
def test_scaled(scores: dict[int, float], expected: dict[int, float]) -> None:
    assert scaled(scores) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("published", "span", "expected"),
    [
        (None, None, 0.0),
        (NOW, None, 0.2),
        (date(2025, 4, 6), None, 0.2 * math.exp(-1)),  # 60 days old
        (date(2025, 8, 4), None, 0.2 * math.exp(-1)),  # 60 days ahead counts the same
        # "in June 2024": nearness counts from the end of June, and inside the range adds 0.2
        (date(2024, 6, 15), JUNE_2024, 0.2 * math.exp(-15 / 60) + 0.2),
        (date(2024, 7, 5), JUNE_2024, 0.2 * math.exp(-5 / 60) + 0.2 * math.exp(-1)),
        (NOW, JUNE_2024, 0.2 * math.exp(-340 / 60) + 0.2 * math.exp(-340 / 5)),
    ],
    ids=["undated", "today", "two months old", "two months ahead", "in range", "5 days out", "now"],
)
def test_date_bonus(published: date | None, span: DateRange | None, expected: float) -> None:
    assert date_bonus(published, NOW, span, Tuning()) == pytest.approx(expected)


def _titled(title: str) -> Hit:
    return Hit(Chunk(1, 1, 0, "text"), Article(1, title, None, None, None), 0.5)


@pytest.mark.parametrize(
    ("terms", "title", "share"),
    [
        (["tariffs", "steel"], "Tariff on Steel imports", 1.0),  # five letters: tariffs ~ tariff
        (["tariffs", "china"], "Tariff on Steel imports", 0.5),
        (["volcano"], "Tariff on Steel imports", 0.0),
        ([], "Tariff on Steel imports", 0.0),
    ],
)
def test_title_bonus(terms: list[str], title: str, share: float) -> None:
    tuning = Tuning(title_weight=0.2)

    assert title_bonus(terms, _titled(title), tuning) == pytest.approx(0.2 * share)
