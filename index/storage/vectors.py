"""The FAISS index: vector id = chunk row id; exact while small, IVF once large; safe saves.

It is a cache of the vectors stored in SQLite: the file's footer says which state of the
vector table it holds, so a reader can tell it is current, append to it, or rebuild it.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.storage.vector_files import Footer, append_footer, read_footer, write_atomically
from index.storage.vector_rows import VectorStamp

FLAT_LIMIT = 50_000  # exact search up to here; IVF above (back to exact below half of it)
# Calibrated recall@10 of IVF against exact on points near the stored vectors. Real questions
# do better than those points (0.99 or more at the calibrated nprobe on the mixed-sentence
# scale archives, 100k and 1M passages), kept above the 0.95 aim.
TARGET_RECALL = 0.98
SERIAL_QUERIES = 8  # fewer queries than this are searched on one thread


def nlist_for(count: int) -> int:
    """IVF lists for `count` vectors: a power of two near sqrt(count), 39+ points per list."""
    near_root = 2 ** round(math.log2(math.sqrt(max(count, 1))))
    return int(max(1, min(16384, near_root, count // 39)))


def wanted_kind(setting: str, count: int, current: str) -> str:
    """'flat' or 'ivf', from the setting and the archive's size (with a margin against flapping)."""
    if count == 0:
        return "flat"  # nothing to train IVF on yet
    if setting != "auto":
        return setting
    if current == "ivf":
        return "ivf" if count >= FLAT_LIMIT // 2 else "flat"
    return "ivf" if count >= FLAT_LIMIT else "flat"


def _new_index(kind: str, dim: int, count: int) -> Any:
    if kind == "ivf":
        spec = f"IVF{nlist_for(count)},Flat"
        index: Any = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = 10  # k-means on a sample: 10 rounds are plenty for list assignment
        index.cp.min_points_per_centroid = 1  # nlist_for already keeps lists well filled
        return index
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _ivf(index: Any) -> Any:
    """The IVF index inside, or None for the exact one."""
    return faiss.try_extract_index_ivf(index)


def _exact_neighbours(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Row numbers of the exact top-k of each query."""
    return faiss.knn(queries, data, k, metric=faiss.METRIC_INNER_PRODUCT)[1]


def calibrate_nprobe(index: Any, ids: np.ndarray, data: np.ndarray) -> int:
    """Lists to probe: the fewest that reach TARGET_RECALL@10 on points near the data."""
    rng = np.random.default_rng(0)
    picks = data[rng.choice(len(data), size=min(200, len(data)), replace=False)]
    k = min(10, len(data))
    # Questions sit about cos 0.7 from their best passage; searching near, not at, a point.
    noise = rng.normal(0, 1 / math.sqrt(picks.shape[1]), picks.shape)
    queries = (picks + noise).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    truth = ids[_exact_neighbours(data, queries, k)]
    nprobe = 4
    while nprobe < index.nlist:
        index.nprobe = nprobe
        found = index.search(queries, k)[1]
        recall = np.mean([len(set(f) & set(t)) / k for f, t in zip(found, truth, strict=True)])
        if recall >= TARGET_RECALL:
            break
        nprobe *= 2
    index.nprobe = min(nprobe, index.nlist)
    return int(index.nprobe)


class VectorIndex:
    """Inner-product search over normalised vectors, keyed by chunk id."""

    def __init__(self, index: Any) -> None:
        self._index: Any = index
        self._lock = threading.RLock()

    @classmethod
    def empty(cls, dim: int) -> VectorIndex:
        """A new exact index."""
        return cls(_new_index("flat", dim, 0))

    @classmethod
    def load(cls, path: Path) -> tuple[VectorIndex, Footer]:
        """Read a file written by `save`; ValueError if it is damaged or has no footer."""
        footer = read_footer(path)
        if footer is None:
            raise ValueError(f"{path.name} has no newsbot footer")
        try:
            loaded = cls(faiss.read_index(str(path)))
        except RuntimeError as error:
            raise ValueError(f"FAISS cannot read {path.name}: {error}") from error
        if len(loaded) != footer.count:
            raise ValueError(
                f"{path.name} holds {len(loaded)} vectors, its footer says {footer.count}"
            )
        return loaded, footer

    @classmethod
    def load_plain(cls, path: Path) -> VectorIndex:
        """Read a bare FAISS file (the format before the footer); ValueError if damaged."""
        try:
            return cls(faiss.read_index(str(path)))
        except RuntimeError as error:
            raise ValueError(f"FAISS cannot read {path.name}: {error}") from error

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def kind(self) -> str:
        """The FAISS index type inside the id map (IndexFlatIP, IndexIVFFlat)."""
        inner = faiss.downcast_index(self._index.index) if hasattr(self._index, "index") else None
        return type(inner or faiss.downcast_index(self._index)).__name__

    @property
    def family(self) -> str:
        """'flat' (exact) or 'ivf' (approximate)."""
        return "ivf" if _ivf(self._index) is not None else "flat"

    @property
    def nprobe(self) -> int | None:
        """Lists searched per query, for IVF."""
        ivf = _ivf(self._index)
        return int(ivf.nprobe) if ivf is not None else None

    @nprobe.setter
    def nprobe(self, lists: int) -> None:
        ivf = _ivf(self._index)
        if ivf is not None:
            with self._lock:
                ivf.nprobe = max(1, min(lists, ivf.nlist))

    def ids(self) -> np.ndarray:
        """Every stored id, as int64."""
        with self._lock:
            ivf = _ivf(self._index)
            if ivf is None:
                return faiss.vector_to_array(self._index.id_map).astype(np.int64)
            lists = ivf.invlists
            parts = [
                faiss.rev_swig_ptr(lists.get_ids(n), lists.list_size(n)).copy()
                for n in range(ivf.nlist)
                if lists.list_size(n)
            ]
            return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def export(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything stored; exact, both index types keep whole vectors."""
        with self._lock:
            ivf = _ivf(self._index)
            if ivf is None:
                return self.ids(), self._index.index.reconstruct_n(0, len(self))
            lists, ids, rows = ivf.invlists, [], []
            for n in range(ivf.nlist):
                size = lists.list_size(n)
                if size:
                    ids.append(faiss.rev_swig_ptr(lists.get_ids(n), size).copy())
                    codes = faiss.rev_swig_ptr(lists.get_codes(n), size * ivf.code_size)
                    rows.append(codes.view(np.float32).reshape(size, self.dim).copy())
            if not ids:
                return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
            return np.concatenate(ids), np.concatenate(rows)

    def vectors_for(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of the wanted ids that are stored; the others are left out."""
        with self._lock:
            ivf = _ivf(self._index)
            if ivf is None:
                ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
                rows = np.flatnonzero(np.isin(ids, wanted))
                found = [self._index.index.reconstruct(int(row)) for row in rows]
                return ids[rows], np.array(found, dtype=np.float32).reshape(len(rows), self.dim)
            # Only the ids are scanned; the lists' vectors are read in place, not copied whole.
            lists = ivf.invlists
            found_ids: list[np.ndarray] = []
            found_rows: list[np.ndarray] = []
            for n in range(ivf.nlist):
                size = lists.list_size(n)
                listed = faiss.rev_swig_ptr(lists.get_ids(n), size) if size else np.zeros(0)
                keep = np.flatnonzero(np.isin(listed, wanted))
                if len(keep):
                    codes = faiss.rev_swig_ptr(lists.get_codes(n), size * ivf.code_size)
                    found_ids.append(listed[keep].astype(np.int64))
                    found_rows.append(codes.view(np.float32).reshape(size, self.dim)[keep].copy())
            if not found_ids:
                return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
            return np.concatenate(found_ids), np.concatenate(found_rows)

    def _add_now(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._index.add_with_ids(
            np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
        )

    def _remove_now(self, ids: np.ndarray) -> int:
        if len(ids) == 0:
            return 0
        return int(self._index.remove_ids(np.asarray(ids, dtype=np.int64)))  # type: ignore[arg-type]

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors of shape (n, dim) under the given ids."""
        if len(ids) == 0:
            return
        with self._lock:
            self._add_now(np.asarray(ids, dtype=np.int64), vectors)

    def remove(self, ids: np.ndarray) -> int:
        """Remove vectors by id; returns how many went."""
        with self._lock:
            return self._remove_now(np.asarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of shape (len(queries), k); missing results have id -1."""
        threads = faiss.omp_get_max_threads()
        with self._lock:
            k = max(1, min(k, max(1, self._index.ntotal)))
            # A question or two is faster on one thread: OpenMP's waiting threads cost 50 ms
            # a search on a busy machine. The setting is per calling thread; put it back.
            faiss.omp_set_num_threads(1 if len(queries) < SERIAL_QUERIES else threads)
            try:
                found = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
            finally:
                faiss.omp_set_num_threads(threads)
        return found[0], found[1]

    def fit(self, setting: str) -> bool:
        """Rebuild in place as the type the setting and the size call for; True if it changed."""
        with self._lock:
            kind = wanted_kind(setting, len(self), self.family)
            ivf = _ivf(self._index)
            if kind == self.family and (ivf is None or nlist_for(len(self)) < 4 * ivf.nlist):
                return False
            self.rebuild_as(kind)
            return True

    def rebuild_as(self, kind: str) -> None:
        """Re-index the stored vectors as `kind` ("flat" or "ivf"); no model work."""
        with self._lock:
            self._index = VectorIndex.build(kind, self.dim, *self.export())._index

    @classmethod
    def build(cls, setting: str, dim: int, ids: np.ndarray, data: np.ndarray) -> VectorIndex:
        """A new index of these vectors, of the type the setting and their number call for."""
        index = _new_index(wanted_kind(setting, len(ids), "flat"), dim, len(ids))
        ivf = _ivf(index)
        if ivf is not None:
            rng = np.random.default_rng(0)
            sample = rng.choice(len(data), size=min(len(data), 64 * ivf.nlist), replace=False)
            index.train(data[np.sort(sample)])
        for start in range(0, len(ids), 100_000):
            index.add_with_ids(data[start : start + 100_000], ids[start : start + 100_000])
        if ivf is not None:
            calibrate_nprobe(ivf, ids, data)
        return cls(index)

    def save(self, path: Path, stamp: VectorStamp) -> None:
        """Write atomically, footed with the vector table's stamp; a crash leaves the old file."""
        path.parent.mkdir(parents=True, exist_ok=True)

        def write(tmp: Path) -> None:
            try:
                faiss.write_index(self._index, str(tmp))
            except RuntimeError as error:  # FAISS's own word for a failed write (a full disk)
                raise OSError(str(error)) from error
            append_footer(tmp, Footer(stamp, len(self)))

        with self._lock:
            write_atomically(path, write)
