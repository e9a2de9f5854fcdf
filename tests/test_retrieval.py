"""Retrieval: keyword index in step, hybrid fusion, dates, follow-ups and model prefixes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, SEED_QUESTION, cli_env

import index.storage.migrations
from index.archive import Archive
from index.embed.sbert import Embedder, bundled_model_path, prefixes_for
from index.records import ArticleDraft, Counts
from index.search.dates import DateRange, time_range
from index.search.followup import rewrite_followup
from index.search.keyword import query_terms, telling_terms
from index.settings import Settings

NOW = date(2025, 6, 5)  # a Thursday

STORIES = [
    ArticleDraft(
        title="Zorvath Industries opens a battery plant",
        text="Zorvath Industries opened a battery plant outside the city on Tuesday. The company "
        "said the plant will employ 800 workers and supply cars built in the region.",
        url="https://news.test/zorvath",
        published=date(2025, 5, 20),
        external_id="z1",
    ),
    ArticleDraft(
        title="Storm floods the coast",
        text="A storm flooded the coastal town of Pellworth on Monday, and rescuers moved 200 "
        "families to higher ground. The mayor said the sea wall failed overnight.",
        url="https://news.test/storm-2025",
        published=date(2025, 6, 2),
        external_id="s25",
    ),
    ArticleDraft(
        title="Storm floods the coast",
        text="A storm flooded the coastal town of Pellworth on Monday, and rescuers moved 150 "
        "families to higher ground. The mayor said the sea wall failed overnight.",
        url="https://news.test/storm-2024",
        published=date(2024, 6, 3),
        external_id="s24",
    ),
]


@pytest.fixture
def stories(settings: Settings, embedder: Embedder) -> Iterator[Archive]:
    """An archive of three short stories (no seeds)."""
    archive = Archive(settings, embedder=embedder)
    archive.add_drafts(STORIES)
    yield archive
    archive.close()


def _top(archive: Archive, question: str, now: date = NOW, **settings: object) -> str:
    """The external id of the article ranked first."""
    retriever = archive.retriever.with_settings(archive.settings.model_copy(update=settings))
    try:
        hits = retriever.rank(question, now, floor=False).hits
    finally:
        retriever.close()
    return str(archive.article_keys([hits[0].article.id])[hits[0].article.id].external_id)


@pytest.mark.parametrize("mode", ["keyword", "dense", "hybrid"])
def test_each_mode_finds_the_story(stories: Archive, mode: str) -> None:
    assert _top(stories, "How many workers will Zorvath employ?", retrieval_mode=mode) == "z1"


def test_time_words_pick_the_story_of_that_time(stories: Archive) -> None:
    question = "Which town did a storm flood this week?"

    assert _top(stories, question, now=NOW) == "s25"
    assert _top(stories, question, now=date(2024, 6, 6)) == "s24"
    assert _top(stories, "Which town did a storm flood in June 2024?") == "s24"


def test_among_equal_passages_the_newer_wins(stories: Archive) -> None:
    assert _top(stories, "Which town did a storm flood?", now=date(2025, 7, 1)) == "s25"


def test_keyword_index_follows_imports_and_removals(stories: Archive) -> None:
    source = stories.store.add_source("file", "file:///tmp/extra")
    extra = ArticleDraft(title="Quillfeather award", text="The Quillfeather prize went to a poet.")
    stories.add_drafts([extra], source_id=source.id)
    found = stories.keywords.search(["quillfeather"], 5)
    assert len(found) == 1

    stories.remove_chunks(stories.store.remove_source(source.id))

    assert stories.keywords.search(["quillfeather"], 5) == []
    assert stories.keywords.behind() == (0, 0)


def test_search_syntax_in_a_question_is_just_words(stories: Archive) -> None:
    question = 'What did "Zorvath Industries" open? (plant* OR -workers) NEAR/3 ^battery: {col}'

    assert query_terms(question)[:3] == ["zorvath", "industries", "open"]
    assert stories.ask(question).citations[0].url == "https://news.test/zorvath"


def test_common_words_are_left_out_of_a_large_archives_query() -> None:
    terms = ["state", "officers", "week", "quantico"]
    counts = {"state": 2500, "officers": 260, "week": 2100, "quantico": 12}

    assert telling_terms(terms, counts, passages=40_000) == ["quantico", "officers"]
    assert telling_terms(terms, {"week": 30, "state": 50}, passages=60) == ["week", "state"]
    assert telling_terms(["state"], {"state": 2500}, passages=3000) == ["state"]
    assert telling_terms(["unknown"], {}, passages=3000) == []


def test_a_version_1_archive_is_migrated_with_nothing_lost(
    settings: Settings, embedder: Embedder
) -> None:
    # tests/data/archive-v1.sqlite3 is an archive as newsbot left it at schema version 1
    # (written once by tests/data/build_v1_archive.py): no keyword index yet.
    settings.data_dir.mkdir(parents=True)
    shutil.copyfile(DATA / "archive-v1.sqlite3", settings.data_dir / "archive.sqlite3")

    archive = Archive.open(settings, embedder=embedder)

    try:
        assert archive.store.schema_version == len(index.storage.migrations.MIGRATIONS)
        assert archive.counts() == Counts(articles=1, chunks=1)
        [passage] = archive.passages().values()
        assert passage.article.title == "Zorvath Industries opens a battery plant"
        assert passage.article.published == date(2025, 5, 20)
        assert passage.chunk.text.startswith("Zorvath Industries opened a battery plant")
        [source] = archive.store.list_sources()
        assert (source.kind, source.url, source.articles) == (
            "feed",
            "https://news.test/feed.xml",
            1,
        )
        assert source.added_at == datetime(2025, 5, 20, 8, tzinfo=UTC)
        assert len(archive.keywords.search(["zorvath"], 5)) == 1
        answer = archive.ask("How many workers will the Zorvath plant employ?", now=NOW)
        assert answer.citations[0].url == "https://news.test/zorvath"
    finally:
        archive.close()


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What happened this week?", DateRange(date(2025, 5, 29), NOW)),
        ("Who won yesterday?", DateRange(date(2025, 6, 4), date(2025, 6, 4))),
        ("What did they decide last month?", DateRange(date(2025, 5, 1), date(2025, 5, 31))),
        ("What happened last week?", DateRange(date(2025, 5, 26), date(2025, 6, 1))),
        ("What did the Fed do in March 2025?", DateRange(date(2025, 3, 1), date(2025, 3, 31))),
        ("Which fires burned in January?", DateRange(date(2025, 1, 1), date(2025, 1, 31))),
        ("What happened in September?", DateRange(date(2024, 9, 1), date(2024, 9, 30))),
        ("Who spoke on March 5?", DateRange(date(2025, 3, 5), date(2025, 3, 5))),
        ("Who won the election in 2024?", DateRange(date(2024, 1, 1), date(2024, 12, 31))),
        ("What happened two weeks ago?", DateRange(date(2025, 5, 19), date(2025, 5, 25))),
        ("Any news from the past 3 days?", DateRange(date(2025, 6, 2), NOW)),
        ("Who plays in the final on June 20?", DateRange(date(2025, 6, 20), date(2025, 6, 20))),
        ("Who scored in the final on July 20?", DateRange(date(2024, 7, 20), date(2024, 7, 20))),
        ("Who hosts the “Today” show?", None),
        ("Which teams played in this year’s final?", DateRange(date(2025, 1, 1), NOW)),
        ("What did the US offer Ukraine?", None),
        ("Which rules may change?", None),
    ],
)
def test_time_words(question: str, expected: DateRange | None) -> None:
    assert time_range(question, NOW) == expected


@pytest.mark.parametrize(
    ("previous", "question", "expected"),
    [
        (SEED_QUESTION, "and France?", "What did France offer Ukraine?"),
        (SEED_QUESTION, "What about the EU?", "What did the EU offer Ukraine?"),
        (
            SEED_QUESTION,
            "And what about air defense for Ukraine?",
            "Air defense for Ukraine?",
        ),
        (
            SEED_QUESTION,
            "and what about air defense?",
            "What did the US offer Ukraine: air defense?",
        ),
        (
            "What did Trump say about tariffs?",
            "what did he say after that?",
            "What did Trump say about tariffs? what did he say after that?",
        ),
        ("What is the inflation rate in Germany?", "and unemployment?", None),
        (SEED_QUESTION, "Who won the election in Poland?", "Who won the election in Poland?"),
        (None, "and France?", "and France?"),
    ],
)
def test_follow_ups(previous: str | None, question: str, expected: str | None) -> None:
    rewritten = rewrite_followup(previous, question)

    if expected is None:
        assert "Germany" in rewritten and "unemployment" in rewritten
    else:
        assert rewritten == expected


def test_chat_reads_a_follow_up_with_the_question_before(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli", "chat"],
        input=f"{SEED_QUESTION}\nand Europe?\n\n",
        env=cli_env(tmp_path / "data"),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )

    assert "(taking it as: What did Europe offer Ukraine?)" in result.stdout
    assert "nothing on that" not in result.stdout


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("intfloat/e5-small-v2", ("query: ", "passage: ")),
        ("intfloat/multilingual-e5-base", ("query: ", "passage: ")),
        ("/models/E5_large/", ("query: ", "passage: ")),
        ("nomic-ai/nomic-embed-text-v1.5", ("search_query: ", "search_document: ")),
        ("sentence-transformers/all-MiniLM-L6-v2", ("", "")),
        ("someone/e5xtra-model", ("", "")),
    ],
)
def test_model_prefixes(name: str, expected: tuple[str, str]) -> None:
    assert prefixes_for(name) == expected


def test_an_e5_named_model_reads_queries_and_passages_with_prefixes(
    tmp_path: Path, minilm: Embedder
) -> None:
    folder = tmp_path / "local-e5-small"
    folder.symlink_to(bundled_model_path(), target_is_directory=True)
    e5 = Embedder(str(folder))

    query = e5.embed_queries(["volcano erupts"])
    passage = e5.embed_passages(["volcano erupts"])

    assert np.allclose(query, minilm.embed_queries(["query: volcano erupts"]), atol=1e-5)
    assert np.allclose(passage, minilm.embed_queries(["passage: volcano erupts"]), atol=1e-5)
    assert not np.allclose(query, passage, atol=1e-3)
