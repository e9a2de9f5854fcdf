"""Moves the vectors of an archive made before they lived in SQLite into `chunk_vectors`.

Until schema 3 the only copy of each vector was `vectors-<model hash>.faiss`, plus a delta
file (`.delta.npz`: ids, vectors, removed ids) keyed to the index file's inode and mtime.
Their vectors are copied into SQLite, nothing is re-embedded; passages they lack are
embedded by the next writer. The old files are then removed.
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from pathlib import Path

import numpy as np

from index.storage.store import Store
from index.storage.vectors import VectorIndex

log = logging.getLogger(__name__)


def legacy_files(data_dir: Path) -> list[Path]:
    """The old index and delta files in a data dir."""
    return sorted([*data_dir.glob("vectors-*.faiss"), *data_dir.glob("vectors-*.faiss.delta.npz")])


def legacy_index_path(data_dir: Path, model: str) -> Path:
    """The old index file of a model."""
    return data_dir / f"vectors-{hashlib.sha256(model.encode()).hexdigest()[:12]}.faiss"


def read_legacy(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of an old index file with its delta applied when the delta is its own."""
    ids, vectors = VectorIndex.load_plain(path).export()
    delta = path.with_name(path.name + ".delta.npz")
    if not delta.exists():
        return ids, vectors
    info = path.stat()
    try:
        with np.load(delta, allow_pickle=False) as saved:
            if [int(x) for x in saved["base"]] != [info.st_ino, info.st_mtime_ns]:
                return ids, vectors  # left beside a newer index file: not this one's
            added, rows, removed = saved["ids"], saved["vectors"], saved["removed"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        log.warning("Ignoring %s (%s); its passages will be embedded again", delta.name, error)
        return ids, vectors
    keep = ~np.isin(ids, np.concatenate([added, removed]))
    return np.concatenate([ids[keep], added]), np.concatenate([vectors[keep], rows])


def import_legacy_vectors(store: Store, data_dir: Path) -> int:
    """Copy the old files' vectors of the archive's model into SQLite, then remove the files."""
    model = store.get_meta("model")
    path = legacy_index_path(data_dir, model) if model else None
    copied = 0
    if path is not None and path.exists():
        try:
            ids, vectors = read_legacy(path)
            before = store.vectors.count()
            store.vectors.add(ids.tolist(), vectors)
            copied = store.vectors.count() - before
            log.info("Copied %d vectors from %s into SQLite", copied, path.name)
        except (OSError, ValueError) as error:
            log.warning("Cannot read %s (%s); its passages will be embedded again", path, error)
    for old in legacy_files(data_dir):
        old.unlink(missing_ok=True)
    return copied
