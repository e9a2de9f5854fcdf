"""`newsbot index upgrade`: bring an archive up to the configured model and keyword analyzer.

Only what is missing or stale is redone: passages are re-embedded only when the configured
model is not the one that embedded them (resuming an interrupted run); the keyword index
is built from SQLite's text when its analyzer changed; older keyword folders go.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from index.archive import Archive
from index.embed.factory import DEFAULT_MODEL, followed_model
from index.i18n import _
from index.importing import Progress
from index.settings import Settings
from index.storage.keywords import FOLDER
from index.storage.vector_files import remove_path


@dataclass(frozen=True)
class Upgrade:
    """What an upgrade did: passages re-embedded, keyword index built, folders removed."""

    re_embedded: int
    keywords_built: bool
    removed: tuple[str, ...]


def old_keyword_folders(data_dir: Path) -> list[Path]:
    """Keyword indexes of an older analyzer (keywords-v1, ...): the current one replaces them."""
    return sorted(p for p in data_dir.glob("keywords-v*") if p.is_dir() and p.name != FOLDER)


def upgrade_settings(settings: Settings) -> Settings:
    """The settings an upgrade opens the archive with: EMBEDDING_MODEL, or unset the default."""
    if settings.embedding_model.strip():
        return settings
    return settings.model_copy(update={"embedding_model": DEFAULT_MODEL})


def model_is_stale(archive: Archive) -> bool:
    """Whether the stored vectors come from another model than the configured one."""
    stored = archive.store.get_meta("model")
    return bool(stored) and stored != archive.embedder.name


def upgrade_notes(archive: Archive) -> list[str]:
    """What `newsbot index upgrade` would do, for `newsbot index check`."""
    notes = []
    if followed_model(archive.settings, archive.store.get_meta("model") or ""):
        notes.append(
            _(
                "The archive was built with the English {model}; `newsbot index upgrade` "
                "re-embeds the passages with the default {default} (questions in Ukrainian, "
                "Russian and ~100 languages).",
                model=archive.embedder.name,
                default=DEFAULT_MODEL,
            )
        )
    elif model_is_stale(archive):
        notes.append(
            _(
                "`newsbot index upgrade` re-embeds the passages with {model}.",
                model=archive.embedder.name,
            )
        )
    for folder in old_keyword_folders(archive.data_dir):
        notes.append(
            _(
                "{old} is a keyword index of an older analyzer; `newsbot index upgrade` "
                "builds {new} from SQLite and removes it.",
                old=folder.name,
                new=FOLDER,
            )
        )
    return notes


def upgrade(archive: Archive, progress: Progress | None = None) -> Upgrade:
    """Re-embed only if the model changed, build the keyword index if missing, drop old ones."""
    re_embedded = archive.rebuild(progress) if model_is_stale(archive) else 0
    with archive.write_lock():
        built = not archive.keywords.exists()
        archive.update_keywords()
        removed = []
        for folder in old_keyword_folders(archive.data_dir):
            remove_path(folder)
            removed.append(folder.name)
    return Upgrade(re_embedded, built, tuple(removed))
