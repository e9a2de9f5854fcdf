"""newsbot's archive: import, chunk, embed, index and answer with citations.

`from index import Archive, Settings` is the front ends' door; both load on first use, so
importing a light module (`index.records`) does not load the model's libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from index.archive import Archive
    from index.settings import Settings

__all__ = ["Archive", "Settings"]


def __getattr__(name: str) -> Any:
    """Archive and Settings, imported when first asked for."""
    if name == "Archive":
        from index.archive import Archive

        return Archive
    if name == "Settings":
        from index.settings import Settings

        return Settings
    raise AttributeError(f"module 'index' has no attribute {name!r}")
