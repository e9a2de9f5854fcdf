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
