"""Real faulty disks for tests: a small tmpfs that fills up, and a read-only mount."""

from __future__ import annotations

import gc
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(args: list[str]) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode:
        pytest.skip(f"cannot mount a file system here (needs root): {done.stderr.strip()}")


def _unmount(folder: Path) -> None:
    gc.collect()  # SQLite connections of dropped archives still hold files open
    if subprocess.run(["umount", str(folder)], capture_output=True, check=False).returncode:
        subprocess.run(["umount", "-l", str(folder)], check=True)


@contextmanager
def small_disk(folder: Path, megabytes: int = 16) -> Iterator[Path]:
    """A tmpfs of `megabytes` mounted at `folder` for the block; skipped where mounting fails."""
    folder.mkdir(parents=True, exist_ok=True)
    _mount(["-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)])
    try:
        yield folder
    finally:
        _unmount(folder)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the disk holding `folder` up, then free `leave` bytes of it; the filler file."""
    filler = folder / "filler.bin"
    chunk = b"\0" * 65536
    try:  # unbuffered: no bytes are left to fail again when it closes on a full disk
        handle = open(filler, "ab", buffering=0)  # noqa: SIM115 (closed by the with below)
    except OSError as error:  # seen once in a loaded full run: the tmpfs was full already
        pytest.skip(f"the small disk filled up before the test filled it: {error}")
    with handle:
        try:
            while True:
                handle.write(chunk)
                handle.flush()
        except OSError:
            pass
    # What the last write could not take is gone; shrink the filler by `leave` bytes.
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - leave))
    return filler


@contextmanager
def read_only_view(folder: Path, view: Path) -> Iterator[Path]:
    """`folder` mounted again, read-only, at `view` for the block (a bind mount)."""
    view.mkdir(parents=True, exist_ok=True)
    _mount(["--bind", str(folder), str(view)])
    try:
        done = subprocess.run(
            ["mount", "-o", "remount,bind,ro", str(view)], capture_output=True, check=False
        )
        if done.returncode:
            pytest.skip(f"cannot remount read-only: {done.stderr!r}")
        yield view
    finally:
        _unmount(view)
