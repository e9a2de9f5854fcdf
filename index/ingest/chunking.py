"""Splits article text into passages of about N model tokens, on word boundaries.

The text is tokenised once; token counts of any stretch come from the token offsets. The
split follows langchain's RecursiveCharacterTextSplitter (separators kept at the end,
whitespace stripped), which called the tokenizer again for every piece it weighed.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence

from index.records import ChunkDraft

# Paragraphs, then lines, then sentences, then clauses, then words; never inside a word.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " "]

Span = tuple[int, int]
TokenSpans = Callable[[str], Sequence[tuple[int, int]]]


class _Splitter:
    """Recursive splitting of one text into spans of at most `size` tokens."""

    def __init__(self, text: str, starts: list[int], size: int, overlap: int) -> None:
        self.text, self.starts, self.size, self.overlap = text, starts, size, overlap

    def tokens(self, span: Span) -> int:
        # Every split is just after whitespace, so a stretch's tokens are those starting in it.
        return bisect_left(self.starts, span[1]) - bisect_left(self.starts, span[0])

    def pieces(self, span: Span, separator: str) -> list[Span]:
        """The span cut after each separator, the separator kept at the end of its piece."""
        found: list[Span] = []
        start, end = span
        at = self.text.find(separator, start, end)
        while at != -1:
            found.append((start, at + len(separator)))
            start = at + len(separator)
            at = self.text.find(separator, start, end)
        found.append((start, end))
        return [(a, b) for a, b in found if b > a]

    def split(self, span: Span, separators: Sequence[str]) -> list[Span]:
        """Spans of at most `size` tokens, cut at the coarsest separator the span holds."""
        separator, finer = separators[-1], list[str]()
        for index, candidate in enumerate(separators):
            if self.text.find(candidate, *span) != -1:
                separator, finer = candidate, list(separators[index + 1 :])
                break
        chunks: list[Span] = []
        fitting: list[Span] = []
        for piece in self.pieces(span, separator):
            if self.tokens(piece) < self.size:
                fitting.append(piece)
                continue
            chunks += self.merge(fitting)
            fitting = []
            chunks += self.split(piece, finer) if finer else [piece]
        return chunks + self.merge(fitting)

    def merge(self, pieces: list[Span]) -> list[Span]:
        """Neighbouring pieces joined up to `size` tokens, each chunk starting with overlap."""
        chunks: list[Span] = []
        current: list[Span] = []
        total = first = 0
        for piece in pieces:
            count = self.tokens(piece)
            if total + count > self.size and first < len(current):
                chunks.append((current[first][0], current[-1][1]))
                while first < len(current) and (
                    total > self.overlap or (total + count > self.size and total > 0)
                ):
                    total -= self.tokens(current[first])
                    first += 1
            current.append(piece)
            total += count
        if first < len(current):
            chunks.append((current[first][0], current[-1][1]))
        return chunks


def chunk_text(text: str, token_spans: TokenSpans, size: int, overlap: int) -> list[ChunkDraft]:
    """Passages of at most `size` tokens (a single over-long word excepted), overlapping."""
    starts = [start for start, _ in token_spans(text)]
    splitter = _Splitter(text, starts, size, min(overlap, size // 2))
    pieces = [text[a:b].strip() for a, b in splitter.split((0, len(text)), SEPARATORS)]
    return [ChunkDraft(ordinal, piece) for ordinal, piece in enumerate(p for p in pieces if p)]


def embedding_text(title: str, passage: str) -> str:
    """What the model reads for a passage: the article's title gives it context."""
    return f"{title}\n\n{passage}" if title else passage
