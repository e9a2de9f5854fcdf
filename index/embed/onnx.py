"""The same model as an ONNX graph (fp32 or int8) run by onnxruntime: exported once, cached."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from index.embed.sbert import BUNDLED, bundled_model_path, prefixes_for
from index.errors import ModelUnavailable
from index.i18n import _

log = logging.getLogger(__name__)

# Bump when the export recipe changes, so cached graphs of the old recipe are not reused.
RECIPE = "opset17-eager-meanpool-l2-v2"

Precision = Literal["fp32", "int8"]


def cache_name(location: Path, precision: Precision = "fp32") -> str:
    """The cached graph's file name: the weights' identity, the recipe and the precision."""
    weights = sorted(location.glob("*.safetensors")) or sorted(location.glob("*.bin"))
    stamp = [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in weights]
    digest = hashlib.sha256(json.dumps([str(location), stamp, RECIPE]).encode()).hexdigest()
    return f"embedder-{digest[:16]}.{precision}.onnx"


def export_onnx(location: Path, target: Path, precision: Precision = "fp32") -> None:
    """Export the transformer with mean pooling and L2 norm; int8 quantises its MatMuls."""
    import torch
    import transformers
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    class Pooled(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    encoder = AutoModel.from_pretrained(
        str(location), attn_implementation="eager", local_files_only=True
    )
    model = Pooled(encoder).eval()
    target.parent.mkdir(parents=True, exist_ok=True)
    plain = target.with_name(f".{target.name}.{os.getpid()}.fp32")
    quantised = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    # A padded row in the sample, so the traced graph keeps the attention mask.
    ids = torch.full((2, 16), 1000, dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    mask[1, 9:] = 0
    try:
        # The tracer's notes on Python control flow and the quantiser's advice are expected.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.disable(logging.WARNING)
            torch.onnx.export(
                model,
                (ids, mask),
                str(plain),
                input_names=["input_ids", "attention_mask"],
                output_names=["embedding"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "embedding": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
            if precision == "int8":
                quantize_dynamic(
                    str(plain),
                    str(quantised),
                    op_types_to_quantize=["MatMul"],
                    per_channel=True,
                    weight_type=QuantType.QInt8,
                )
            else:
                os.replace(plain, quantised)
        os.replace(quantised, target)
    finally:
        logging.disable(logging.NOTSET)
        plain.unlink(missing_ok=True)
        quantised.unlink(missing_ok=True)


class OnnxEmbedder:
    """The sentence-transformers model as ONNX; same interface as `Embedder`.

    fp32 gives torch's vectors (cosine >= 0.9999), so it shares torch's name and archives;
    int8 moves them a little and is a model of its own.
    """

    def __init__(
        self,
        model: str = "",
        batch_size: int = 32,
        cache_dir: Path = Path("."),
        precision: Precision = "fp32",
        name: str = "",
        cosine_floor: float = 0.0,
    ) -> None:
        self.cosine_floor = cosine_floor
        self.precision: Precision = precision
        self.name = name or (
            (model or BUNDLED) if precision == "fp32" else f"{model or BUNDLED} (onnx int8)"
        )
        self._location = Path(model) if model else bundled_model_path()
        self.batch_size = batch_size
        self.query_prefix, self.passage_prefix = prefixes_for(name or model or BUNDLED)
        self.passages_embedded = 0
        self.cache_dir = cache_dir
        self._session: object | None = None
        self._tokenizer: object | None = None
        self._counter: object | None = None
        self._load_lock = threading.Lock()
        self._dim: int | None = None
        self.max_tokens = self._read_max_tokens()

    def _read_max_tokens(self) -> int:
        if not (self._location / "tokenizer.json").is_file():
            raise ModelUnavailable(
                _(
                    "EMBEDDING_BACKEND=onnx needs a local model folder with tokenizer.json; "
                    "{folder} has none. Use EMBEDDING_BACKEND=torch for this model.",
                    folder=self._location,
                )
            )
        config = self._location / "sentence_bert_config.json"
        if config.is_file():
            return int(json.loads(config.read_text()).get("max_seq_length", 256))
        return 256

    @property
    def model_path(self) -> Path:
        """Where the exported graph is cached."""
        return self.cache_dir / cache_name(self._location, self.precision)

    def _loaded(self) -> tuple:  # type: ignore[type-arg]
        with self._load_lock:
            if self._session is None:
                import onnxruntime
                from tokenizers import Tokenizer

                if not self.model_path.exists():
                    log.info(
                        "Exporting %s to %s ONNX (once) in %s",
                        self.name,
                        self.precision,
                        self.cache_dir,
                    )
                    export_onnx(self._location, self.model_path, self.precision)
                options = onnxruntime.SessionOptions()
                options.log_severity_level = 3
                # Idle threads sleep instead of spinning: the machine is shared with the bot.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                self._session = onnxruntime.InferenceSession(
                    str(self.model_path), options, providers=["CPUExecutionProvider"]
                )
                tokenizer = Tokenizer.from_file(str(self._location / "tokenizer.json"))
                self._counter = Tokenizer.from_file(str(self._location / "tokenizer.json"))
                self._counter.no_truncation()  # type: ignore[attr-defined]
                self._counter.no_padding()  # type: ignore[attr-defined]
                tokenizer.enable_truncation(self.max_tokens)
                tokenizer.no_padding()
                self._tokenizer = tokenizer
        return self._session, self._tokenizer, self._counter

    @property
    def dim(self) -> int:
        """Vector dimension."""
        if self._dim is None:
            self._dim = int(self._encode(["dimension"]).shape[1])
        return self._dim

    def count_tokens(self, text: str) -> int:
        """Tokens in text, without the special tokens."""
        return len(self._loaded()[2].encode(text, add_special_tokens=False).ids)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) character offsets of the text's tokens, without the special tokens."""
        return list(self._loaded()[2].encode(text, add_special_tokens=False).offsets)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        session, tokenizer, _counter = self._loaded()
        encodings = tokenizer.encode_batch(list(texts))
        # Shortest first, so each batch pads to a similar length (as sentence-transformers does).
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        parts: list[np.ndarray] = []
        for start in range(0, len(order), self.batch_size):
            batch = [encodings[i] for i in order[start : start + self.batch_size]]
            width = max(len(e.ids) for e in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, encoding in enumerate(batch):
                ids[row, : len(encoding.ids)] = encoding.ids
                mask[row, : len(encoding.ids)] = 1
            parts.append(session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
        out = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        out[order] = np.concatenate(parts)
        return out

    def embed_passages(self, texts: Sequence[str], *, stored: bool = True) -> np.ndarray:
        """Vectors of shape (len(texts), dim) for passages; `stored=False` for answer sentences."""
        if stored:
            self.passages_embedded += len(texts)
        return self._encode([self.passage_prefix + text for text in texts])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of shape (len(texts), dim) for questions."""
        return self._encode([self.query_prefix + text for text in texts])
