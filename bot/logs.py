"""Logging for every front end: one format on stderr, quiet HTTP logs, the bot token redacted."""

from __future__ import annotations

import logging

TOKEN_LOGGERS = ("telegram.Bot", "telegram.ext.ExtBot", "openai._base_client")
QUIET_LOGGERS = ("httpx", "httpcore", "sentence_transformers", "transformers", "faiss")


class RedactToken(logging.Filter):
    """Replaces the bot token in a log record (message and traceback) with <token>."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<token>"), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = record.exc_text.replace(self.token, "<token>")
        return True


def protect_token(token: str, *handlers: logging.Handler) -> None:
    """Redact the token in PTB's bot loggers (they log the API URL) and in the given handlers."""
    targets: list[logging.Filterer] = [logging.getLogger(n) for n in TOKEN_LOGGERS]
    for target in [*targets, *handlers]:
        if not any(isinstance(f, RedactToken) and f.token == token for f in target.filters):
            target.addFilter(RedactToken(token))


def quiet_http_logs() -> None:
    """httpx logs every request URL, and the URL holds the token: keep it at WARNING."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: str, *secrets: str) -> None:
    """Log to stderr at `level`, HTTP request logs silenced, the secrets (bot token, API key)
    redacted."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    quiet_http_logs()
    for secret in secrets:
        if secret:
            protect_token(secret, *logging.getLogger().handlers)
