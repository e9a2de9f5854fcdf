"""Splits article text into passages of about N model tokens, on word boundaries.

The splitting is langchain's RecursiveCharacterTextSplitter (separators kept at the end,
whitespace stripped). Its length function does not call the tokenizer per piece: the
article is tokenised once, and a piece's tokens are those starting where it stands.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence

from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.records import ChunkDraft

# Paragraphs, then lines, then sentences, then clauses, then words; never inside a word.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " "]

TokenSpans = Callable[[str], Sequence[tuple[int, int]]]


class TokenCounter:
    """Model tokens of any piece of one text, from one tokenisation of the whole."""

    def __init__(self, text: str, token_spans: TokenSpans) -> None:
        self.text = text
        self.starts = [start for start, _ in token_spans(text)]
        self.cursor = 0  # the splitter weighs pieces roughly in order, so look here first
        self.known: dict[str, int] = {}

    def __call__(self, piece: str) -> int:
        if not piece:
            return 0
        if piece not in self.known:
            at = self._where(piece)
            # Every piece starts and ends at whitespace: its tokens are those starting in it.
            end = at + len(piece)
            self.known[piece] = bisect_left(self.starts, end) - bisect_left(self.starts, at)
            self.cursor = at
        return self.known[piece]

    def _where(self, piece: str) -> int:
        """Where the piece stands in the text as a whole-word stretch (after the cursor first)."""
        for start in (self.cursor, 0):
            at = self.text.find(piece, start)
            while at != -1:
                if self._whole(at, at + len(piece)):
                    return at
                at = self.text.find(piece, at + 1)
        return 0  # not reached: every piece is a stretch of the text

    def _whole(self, start: int, end: int) -> bool:
        text = self.text
        before = start == 0 or text[start - 1].isspace() or text[start].isspace()
        after = end == len(text) or text[end - 1].isspace() or text[end].isspace()
        return before and after


def chunk_text(text: str, token_spans: TokenSpans, size: int, overlap: int) -> list[ChunkDraft]:
    """Passages of at most `size` tokens (a single over-long word excepted), overlapping."""
    splitter = RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
        chunk_size=size,
        chunk_overlap=min(overlap, size // 2),
        length_function=TokenCounter(text, token_spans),
    )
    pieces = (piece.strip() for piece in splitter.split_text(text))
    return [ChunkDraft(ordinal, piece) for ordinal, piece in enumerate(p for p in pieces if p)]


def embedding_text(title: str, passage: str) -> str:
    """What the model reads for a passage: the article's title gives it context."""
    return f"{title}\n\n{passage}" if title else passage
