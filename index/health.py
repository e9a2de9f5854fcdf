"""What this process could not write: faults met and not yet seen to recover (thread-safe)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from index.errors import StorageFault
from index.i18n import N_

# What failed, as shown to admins (translated where shown).
IMPORT = N_("imports")
KEYWORD_INDEX = N_("the keyword index")
VECTOR_INDEX = N_("the vector index file")
CATCH_UP = N_("the catch-up of passages stored without a vector")
OPENING = N_("the database (opened read-only until a restart)")


@dataclass(frozen=True)
class Fault:
    """A part of the archive that could not be written, why, and since when."""

    where: str
    error: StorageFault
    since: datetime

    @property
    def kind(self) -> str:
        """The fault's class name (DiskFull, ReadOnlyArchive, …), for telling admins once."""
        return type(self.error).__name__


class Health:
    """Faults by what failed; a later success at the same place clears its fault."""

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()

    def failed(self, where: str, error: StorageFault) -> None:
        """Note that `where` could not be written (keeping the time it first failed)."""
        with self._lock:
            known = self._faults.get(where)
            since = known.since if known and known.kind == type(error).__name__ else None
            self._faults[where] = Fault(where, error, since or datetime.now(UTC))

    def recovered(self, where: str) -> None:
        """Note that `where` was written again."""
        with self._lock:
            self._faults.pop(where, None)

    def faults(self) -> list[Fault]:
        """The faults now, oldest first."""
        with self._lock:
            return sorted(self._faults.values(), key=lambda fault: fault.since)
