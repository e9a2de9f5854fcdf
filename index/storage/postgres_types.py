"""pgvector's `halfvec` as the float16 blobs SQLite holds, and rows copied in with binary COPY.

Results and parameters travel in binary, so a `halfvec` reads straight into the little-endian
float16 blob and back. COPY is how PostgreSQL takes many rows at once: `newsbot migrate` moves
a million passages through it in minutes, where one INSERT a row took an hour.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import psycopg
from psycopg.adapt import Dumper, Loader
from psycopg.pq import Format
from psycopg.types import TypeInfo


class HalfVector(bytes):
    """A little-endian float16 blob bound for a `halfvec` column."""


class _HalfVectorDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj: Any) -> bytes:
        values = np.frombuffer(obj, dtype="<f2")
        return len(values).to_bytes(2, "big") + b"\0\0" + values.astype(">f2").tobytes()


class _HalfVectorLoader(Loader):
    format = Format.BINARY

    def load(self, data: Any) -> bytes:
        dim = int.from_bytes(bytes(data[:2]), "big")
        return np.frombuffer(data, dtype=">f2", count=dim, offset=4).astype("<f2").tobytes()


def register_halfvec(conn: psycopg.Connection[Any], info: TypeInfo) -> None:
    """Bind HalfVector blobs to `halfvec` and read `halfvec` back as blobs on this connection."""
    dumper = type("HalfVectorDumper", (_HalfVectorDumper,), {"oid": info.oid})
    conn.adapters.register_dumper(HalfVector, dumper)
    conn.adapters.register_loader(info.oid, _HalfVectorLoader)


def copy_rows(
    conn: psycopg.Connection[Any],
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
) -> None:
    """Append rows to a table with one binary COPY (each value dumped as its column's type)."""
    found = dict(
        conn.execute(
            "SELECT attname, atttypid FROM pg_attribute "
            "WHERE attrelid = CAST(%s AS regclass) AND attnum > 0 AND NOT attisdropped",
            (table,),
        ).fetchall()
    )
    names = ", ".join(columns)
    with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types([int(found[column]) for column in columns])
        for row in rows:
            copy.write_row(row)
