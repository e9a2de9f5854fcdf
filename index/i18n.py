"""The words people read: one translation function over gettext catalogues (en, uk, ru).

Every string the bot or the CLI shows goes through `_` (or `_n` for counts), with named
placeholders: `_("Added {title}.", title=title)`. The language is chosen once per update
(the bot) or per run (the CLI, from LANG) with `use_language`; it lives in a context
variable, so it follows the update into the archive's executor (see bot.context.run_archive).
Catalogues are `index/locales/<lang>/LC_MESSAGES/newsbot.po`, read with Babel and compiled
in memory on first use, so a fresh clone needs no build step. `make messages` re-extracts.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DEFAULT = "en"
LANGUAGES = ("en", "uk", "ru")
LOCALES = Path(__file__).parent / "locales"
DOMAIN = "newsbot"

_language: ContextVar[str] = ContextVar("newsbot_language", default=DEFAULT)


def language_for(code: str | None) -> str:
    """The supported language for a language_code or LANG value ("uk-UA", "ru_RU.UTF-8")."""
    if not code:
        return DEFAULT
    base = code.replace("-", "_").split("_")[0].split(".")[0].lower()
    return base if base in LANGUAGES else DEFAULT


def current_language() -> str:
    """The language of the update or run in progress."""
    return _language.get()


@contextmanager
def use_language(code: str | None) -> Iterator[str]:
    """Speak `code`'s language (normalised by language_for) inside the block."""
    token = _language.set(language_for(code))
    try:
        yield _language.get()
    finally:
        _language.reset(token)


def set_language(code: str | None) -> str:
    """Speak `code`'s language from now on in this context (a CLI run, one bot update's task)."""
    _language.set(language_for(code))
    return _language.get()


@functools.cache
def catalogue(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of one language (English is the source text itself)."""
    path = LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == DEFAULT or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        messages = read_po(po, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, messages, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _(message: str, /, **params: object) -> str:
    """`message` in the current language, its {placeholders} filled from params."""
    text = catalogue(_language.get()).gettext(message)
    return text.format(**params) if params else text


def _n(singular: str, plural: str, n: int, /, **params: object) -> str:
    """The form for `n` (Ukrainian and Russian have three); `n` is also the {n} placeholder."""
    text = catalogue(_language.get()).ngettext(singular, plural, n)
    return text.format(n=n, **params)


def N_(message: str, /) -> str:  # gettext's own name for "mark now, translate later"
    """Mark a module-level string for extraction; translate it with `_` where it is shown."""
    return message
