"""The bot's Prometheus metrics, defined once here; handlers count, /metrics reads them."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from index.records import Counts

# One registry for the process (prometheus_client's default): every replica exposes its own, and
# Prometheus sums them across replicas by label.
QUESTIONS = Counter(
    "newsbot_questions",
    "Questions asked, by outcome: answered, nothing_found, limited (over the per-user limit) "
    "or failed (an archive error).",
    ["outcome"],
)
ANSWER_SECONDS = Histogram(
    "newsbot_answer_seconds",
    "Seconds from a question to its answer being worked out (the archive's work), by kind.",
    ["kind"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
ERRORS = Counter(
    "newsbot_errors", "Errors by kind: the exception's class (handlers and archive).", ["kind"]
)
ARCHIVE_PASSAGES = Gauge("newsbot_archive_passages", "Passages in the archive.")
ARCHIVE_ARTICLES = Gauge("newsbot_archive_articles", "Articles in the archive.")
CACHE_LAG = Gauge(
    "newsbot_cache_lag_vectors",
    "Vectors in the database this process's FAISS cache does not hold yet.",
)
ALERT_SENDS = Counter(
    "newsbot_alert_sends", "Alert and digest messages sent to chats, by kind.", ["kind"]
)
MODEL_FALLBACKS = Counter(
    "newsbot_model_fallbacks",
    "Written answers replaced by the extractive one, by reason: busy, timeout, failed or "
    "unsupported (no written sentence held up).",
    ["reason"],
)
WEBHOOK_REFUSED = Counter(
    "newsbot_webhook_refused", "Webhook requests refused for a missing or wrong secret token."
)
# The reasons index/written/write.py gives, by the words that tell them apart.
FALLBACK_REASONS = (("busy", "busy"), ("in time", "timeout"), ("supported", "unsupported"))


def fallback_reason(reason: str) -> str:
    """The label for a written answer's fallback reason (free text) among a fixed few."""
    return next((label for words, label in FALLBACK_REASONS if words in reason), "failed")


def observe_archive(counts: Counts, cache_lag: int) -> None:
    """Set the archive gauges from state read just before a scrape."""
    ARCHIVE_PASSAGES.set(counts.chunks)
    ARCHIVE_ARTICLES.set(counts.articles)
    CACHE_LAG.set(cache_lag)


def exposition() -> tuple[bytes, str]:
    """Every metric in Prometheus' text format, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
