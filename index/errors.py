"""Errors a user can act on; front ends turn them into short messages."""


class ArchiveError(Exception):
    """Base of every error newsbot expects and explains."""


class ImportFailed(ArchiveError):
    """A file or document could not be read as articles."""


class ModelMismatch(ArchiveError):
    """The index was built with another embedding model than the one configured."""


class ModelUnavailable(ArchiveError):
    """The configured embedding model cannot be loaded offline."""


class FetchError(ArchiveError):
    """A URL could not be fetched or understood."""


class BlockedURL(FetchError):
    """A URL points at a non-public address or an unsupported scheme."""


class DuplicateSource(ArchiveError):
    """The source is already in the archive."""


class UnknownSource(ArchiveError):
    """No source has that id."""


class WriterBusy(ArchiveError):
    """Another process is writing to the archive right now."""


class StorageFault(ArchiveError):
    """The disk or the database refused a write or a read; what was committed is kept.

    An import it stopped says how far it got: `stored` of `total` articles (0 of 0 otherwise).
    """

    def __init__(self, message: str = "", *, stored: int = 0, total: int = 0) -> None:
        super().__init__(message)
        self.stored, self.total = stored, total


class DiskFull(StorageFault):
    """The disk holding the archive has no space left."""


class ReadOnlyArchive(StorageFault):
    """The data dir cannot be written (a read-only mount, permissions)."""


class DatabaseLocked(StorageFault):
    """Another program held a write transaction on the database past the busy timeout."""


class DamagedArchive(StorageFault):
    """The SQLite file is damaged; a backup must be restored."""


class DatabaseUnreachable(StorageFault):
    """The database server went away or cannot be reached; trying again may help."""
