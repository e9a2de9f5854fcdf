"""An embedder that counts the calls made through the real TextEmbedder interface."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.embed.factory import TextEmbedder


class CountingEmbedder:
    """Wraps the real model; counts passages sent to it for storing, and questions."""

    def __init__(self, inner: TextEmbedder, batch_size: int | None = None) -> None:
        self.inner = inner
        self._batch_size = batch_size
        self.passage_calls = 0
        self.query_calls = 0

    @property
    def name(self) -> str:
        """The model's name."""
        return self.inner.name

    @property
    def batch_size(self) -> int:
        """Passages per model call."""
        return self._batch_size or self.inner.batch_size

    @property
    def passages_embedded(self) -> int:
        """Stored passages embedded so far."""
        return self.inner.passages_embedded

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return self.inner.dim

    @property
    def max_tokens(self) -> int:
        """Tokens the model reads."""
        return self.inner.max_tokens

    @property
    def cosine_floor(self) -> float:
        """The cosine of unrelated texts."""
        return self.inner.cosine_floor

    def count_tokens(self, text: str) -> int:
        """Tokens in text."""
        return self.inner.count_tokens(text)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character offsets of the tokens."""
        return self.inner.token_spans(text)

    def embed_passages(self, texts: Sequence[str], *, stored: bool = True) -> np.ndarray:
        """Counted when the passages are to be stored (answer sentences are not)."""
        if stored:
            self.passage_calls += 1
        return self.inner.embed_passages(texts, stored=stored)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Counted."""
        self.query_calls += 1
        return self.inner.embed_queries(texts)
