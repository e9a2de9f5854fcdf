"""The default model: multilingual-e5-small for new archives; English archives keep working."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SEED_QUESTION, SEED_TITLE, cli_env
from web_server import HONEY

from cli.main import main
from index.alerts.alerts import Alerts
from index.archive import Archive
from index.check import check
from index.embed.e5_weights import E5_NAME
from index.embed.factory import MINILM_NAME, TextEmbedder
from index.embed.sbert import Embedder
from index.errors import ModelMismatch
from index.records import ArticleDraft
from index.settings import Settings


def configured(data_dir: Path, **extra: object) -> Settings:
    """Settings for data_dir as a user's environment gives them (EMBEDDING_MODEL unset)."""
    return Settings(_env_file=None, data_dir=data_dir, **extra)  # type: ignore[call-arg]


def english_archive(data_dir: Path, minilm: Embedder) -> None:
    """A seeded archive built by an older release, with the English model."""
    with Archive(configured(data_dir), embedder=minilm) as archive:
        archive.seed()
        assert archive.store.get_meta("model") == MINILM_NAME


def test_a_new_archive_gets_the_multilingual_model(tmp_path: Path, embedder: TextEmbedder) -> None:
    with Archive.open(configured(tmp_path / "new")) as archive:
        assert archive.embedder.name == E5_NAME == archive.store.get_meta("model")
        assert SEED_TITLE in [
            c.title for c in archive.ask("Що США запропонували Україні?").citations
        ]
    english = configured(tmp_path / "english", embedding_model="all-MiniLM-L6-v2")
    with Archive.open(english) as archive:
        assert archive.store.get_meta("model") == MINILM_NAME


def test_an_english_archive_keeps_its_model_until_upgraded(
    tmp_path: Path, minilm: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    english_archive(data_dir, minilm)

    with caplog.at_level(logging.WARNING), Archive.open(configured(data_dir)) as archive:
        answer = archive.ask(SEED_QUESTION)
        report = check(archive)

    assert archive.embedder.name == MINILM_NAME  # no ModelMismatch, nothing re-embedded
    assert answer.citations[0].title == SEED_TITLE
    assert report.ok
    assert any("`newsbot index upgrade` re-embeds" in note for note in report.notes)
    assert "`newsbot index upgrade` moves it" in caplog.text
    # An explicit model that differs is refused, as before.
    with pytest.raises(ModelMismatch, match="all-MiniLM-L6-v2"):
        Archive(configured(data_dir, embedding_model="multilingual-e5-small"))


def test_upgrade_moves_an_english_archive_and_its_topics_to_the_default(
    tmp_path: Path, minilm: Embedder, embedder: TextEmbedder
) -> None:
    data_dir = tmp_path / "data"
    english_archive(data_dir, minilm)
    with Archive(configured(data_dir), embedder=minilm) as archive:
        alerts = Alerts(archive)
        alerts.subscribe(100, 7, "beekeeping")
        alerts.close()

    # The tests' model cache holds e5 already (the `embedder` fixture unpacked it).
    run = CliRunner().invoke(main, ["index", "upgrade"], env=cli_env(data_dir))

    assert run.exit_code == 0, run.output
    assert "with intfloat/multilingual-e5-small" in run.output
    with Archive.open(configured(data_dir)) as archive:
        assert archive.embedder.name == E5_NAME
        assert not check(archive).notes
        alerts = Alerts(archive)
        archive.add_drafts([ArticleDraft(HONEY.title, HONEY.text, "https://news.example/honey")])
        sent = alerts.pending()
        ((subscription, _),) = alerts.subscriptions.active()
        alerts.close()
    assert [alert.article.title for d in sent for alert in d.alerts] == [HONEY.title]
    assert subscription.model == E5_NAME  # the topic was embedded again with the new model
