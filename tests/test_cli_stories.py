"""`newsbot timeline` and `newsbot trend` over a real archive in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import cli_env
from PIL import Image
from test_bot_stories import COPY, LONE, STORY, TOPIC

from cli.main import main
from index.archive import Archive
from index.embed.sbert import Embedder
from index.settings import Settings


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """An archive of the seeds, the bridge story, its copy and a lone story."""
    folder = tmp_path_factory.mktemp("cli-stories") / "data"
    archive = Archive(Settings(_env_file=None, data_dir=folder), embedder=embedder)  # type: ignore[call-arg]
    archive.seed()
    archive.add_drafts([*STORY, COPY, LONE])
    archive.close()
    return folder


def test_timeline_json_lists_dated_events_with_citations(data_dir: Path) -> None:
    run = CliRunner().invoke(main, ["timeline", *TOPIC.split(), "--json"], env=cli_env(data_dir))

    assert run.exit_code == 0, run.output
    found = json.loads(run.stdout)
    assert found["topic"] == TOPIC and found["stories"] >= 5
    assert found["events"][0]["date"] == "2025-03-03"
    assert len(found["events"]) == 5
    cited = {c["n"]: c for c in found["citations"]}
    assert all(e["text"] in cited[e["n"]]["snippet"] for e in found["events"])
    assert cited[1]["url"] == "https://kestwick.example/news/council-approves-bridge"


def test_trend_writes_a_chart_and_refuses_bad_input(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "chart.png"
    env = cli_env(data_dir)

    made = CliRunner().invoke(main, ["trend", TOPIC, "--period", "all", "--out", str(out)], env=env)
    lone = CliRunner().invoke(
        main,
        ["trend", "Zennor lighthouse keeper", "--period", "all", "--out", str(out) + "x"],
        env=env,
    )
    bad = CliRunner().invoke(main, ["trend", TOPIC, "--period", "7x", "--out", str(out)], env=env)
    spring = ["trend", TOPIC, "--period", "30d", "--until", "2025-04-30", "--out", str(out) + "s"]
    april = CliRunner().invoke(main, spring, env=env)

    assert made.exit_code == 0 and "6 articles on “Kestwick harbour bridge”" in made.stdout
    with Image.open(out) as chart:
        assert chart.size == (800, 450)
    assert lone.exit_code == 1 and "Only one story so far" in lone.output
    assert not Path(str(out) + "x").exists()
    assert bad.exit_code == 1 and "A period is like 30d, 90d, 1y or all." in bad.output
    assert april.exit_code == 0 and "3 articles on" in april.stdout  # Apr. 2, 3 and 23


def test_ask_as_of_a_day_leaves_out_later_articles(data_dir: Path) -> None:
    question = ["ask", "--json", "Has", "the", "Kestwick", "harbour", "bridge", "opened?"]
    today = CliRunner().invoke(main, question, env=cli_env(data_dir))
    march = CliRunner().invoke(main, [*question, "--date", "2025-03-20"], env=cli_env(data_dir))
    bad = CliRunner().invoke(main, [*question, "--date", "March"], env=cli_env(data_dir))

    assert today.exit_code == 0 and march.exit_code == 0, today.output + march.output
    published = {c["published"] for c in json.loads(march.stdout)["citations"]}
    assert published and max(published) <= "2025-03-21"
    later = {c["published"] for c in json.loads(today.stdout)["citations"]}
    assert max(later) > "2025-03-21"
    assert bad.exit_code == 2 and "'March' does not match the format '%Y-%m-%d'" in bad.output
