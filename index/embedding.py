"""What the archive needs from an embedding model, and the one place a backend is chosen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from index.settings import Settings


class TextEmbedder(Protocol):
    """A model that turns text into normalised float32 vectors (torch or ONNX)."""

    name: str
    batch_size: int
    passages_embedded: int

    @property
    def dim(self) -> int:
        """Vector dimension."""
        ...

    @property
    def max_tokens(self) -> int:
        """Tokens the model reads before it truncates."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens in text, without the special tokens."""
        ...

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) character offsets of the text's tokens, without the special tokens."""
        ...

    def embed_passages(self, texts: Sequence[str], *, stored: bool = True) -> np.ndarray:
        """Vectors of shape (len(texts), dim) for passages; `stored=False` for answer sentences."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of shape (len(texts), dim) for questions."""
        ...


def open_embedder(settings: Settings) -> TextEmbedder:
    """The embedder EMBEDDING_BACKEND names; nothing is loaded until first use."""
    if settings.embedding_backend == "onnx":
        from index.onnx_embedder import OnnxEmbedder

        return OnnxEmbedder(
            settings.embedding_model,
            settings.embedding_batch_size,
            cache_dir=settings.data_dir / "models",
        )
    from index.embedder import Embedder

    return Embedder(settings.embedding_model, settings.embedding_batch_size)
