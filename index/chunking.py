"""Splits article text into passages of about N model tokens, on word boundaries."""

from __future__ import annotations

from collections.abc import Callable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.records import ChunkDraft

# Paragraphs, then lines, then sentences, then clauses, then words; never inside a word.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " "]


def chunk_text(
    text: str, count_tokens: Callable[[str], int], size: int, overlap: int
) -> list[ChunkDraft]:
    """Passages of at most `size` tokens (a single over-long word excepted), overlapping."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=min(overlap, size // 2),
        length_function=count_tokens,
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )
    pieces = [piece for piece in splitter.split_text(text) if piece.strip()]
    return [ChunkDraft(ordinal, piece) for ordinal, piece in enumerate(pieces)]


def embedding_text(title: str, passage: str) -> str:
    """What the model reads for a passage: the article's title gives it context."""
    return f"{title}\n\n{passage}" if title else passage
