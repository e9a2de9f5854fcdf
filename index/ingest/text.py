"""Text hygiene shared by imports and questions."""

from __future__ import annotations

from dataclasses import replace

from index.records import ArticleDraft


def valid_text(value: str) -> str:
    """The text with lone surrogates (a JSON "\\ud800", a terminal's bad byte) made U+FFFD."""
    # SQLite, the tokenizer and the model all refuse a lone surrogate.
    return value.encode("utf-8", "replace").decode("utf-8")


def valid_draft(draft: ArticleDraft) -> ArticleDraft:
    """The draft with every text field made valid (see `valid_text`)."""

    def valid(value: str | None) -> str | None:
        return None if value is None else valid_text(value)

    return replace(
        draft,
        title=valid(draft.title) or "",
        text=valid(draft.text) or "",
        url=valid(draft.url),
        source=valid(draft.source),
        external_id=valid(draft.external_id),
    )
