"""Reads files and folders into article drafts, and hashes content for de-duplication."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from index.errors import ImportFailed
from index.i18n import _
from index.ingest.extract import SUFFIXES, parse_document
from index.records import ArticleDraft, Failure

MAX_FILE_BYTES = 200_000_000


@dataclass(frozen=True)
class ReadResult:
    """What one file gave: drafts, and failures of the whole file or of single records."""

    name: str
    drafts: tuple[ArticleDraft, ...]
    failures: tuple[Failure, ...]


def content_hash(text: str) -> str:
    """A hash of the words: whitespace and case changes are the same content."""
    words = re.findall(r"\w+", text.lower())
    return hashlib.sha256(" ".join(words).encode()).hexdigest()


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files named, and the readable files inside folders named, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
            )
        else:
            found.append(path)
    return found


def read_file(path: Path) -> ReadResult:
    """Drafts from one file; a file that cannot be read is one failure, not an exception."""
    try:
        if not path.exists():
            raise ImportFailed(_("{path}: no such file or folder.", path=path))
        if not path.is_file():
            # A device or pipe (/dev/zero, a FIFO) would be read forever.
            raise ImportFailed(
                _("{path}: not a regular file; import files or folders of them.", path=path)
            )
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImportFailed(
                _("{path}: larger than {mb} MB.", path=path, mb=MAX_FILE_BYTES // 1_000_000)
            )
        drafts, failures = parse_document(str(path), path.read_bytes())
    except ImportFailed as error:
        return ReadResult(str(path), (), (Failure(str(path), str(error)),))
    except OSError as error:
        failure = Failure(str(path), _("cannot read it ({reason})", reason=error.strerror))
        return ReadResult(str(path), (), (failure,))
    return ReadResult(str(path), tuple(drafts), tuple(failures))


def read_paths(paths: Iterable[Path]) -> Iterator[ReadResult]:
    """Every file under the paths, read one at a time."""
    for path in expand_paths(paths):
        yield read_file(path)
