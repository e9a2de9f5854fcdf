"""Russian and Ukrainian words to their dictionary forms (pymorphy3), so BM25 meets inflections.

Only Cyrillic words change: English text reaches the keyword index exactly as before. A
word neither dictionary knows (a rare name, a transliteration) is left as it is.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

# A Cyrillic word, Ukrainian apostrophes included ("в'язнів").
CYRILLIC_WORD = re.compile(r"[а-яёіїєґ]+(?:['’ʼ][а-яёіїєґ]+)*", re.IGNORECASE)
_UKRAINIAN_ONLY = re.compile(r"[іїєґ]")
_RUSSIAN_ONLY = re.compile(r"[ыэъё]")
_APOSTROPHES = str.maketrans("", "", "'’ʼ")

_analyzers: dict[str, object] = {}
_loading = threading.Lock()


def _analyzer(language: str):  # type: ignore[no-untyped-def]
    """pymorphy3's analyzer for 'ru' or 'uk', loaded on first use (a second or two)."""
    with _loading:
        if language not in _analyzers:
            import pymorphy3

            _analyzers[language] = pymorphy3.MorphAnalyzer(lang=language)
        return _analyzers[language]


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """The word's dictionary form, lower-case, without apostrophes; as it is if unknown."""
    lower = word.lower().replace("ё", "е").translate(_APOSTROPHES)
    spelled = word.lower()
    if _UKRAINIAN_ONLY.search(spelled):
        languages: tuple[str, ...] = ("uk",)
    elif _RUSSIAN_ONLY.search(spelled):
        languages = ("ru",)
    else:
        languages = ("ru", "uk")
    for language in languages:
        analyzer = _analyzer(language)
        if analyzer.word_is_known(spelled):
            form = analyzer.parse(spelled)[0].normal_form
            return str(form).replace("ё", "е").translate(_APOSTROPHES)
    return lower


def lemmatise(text: str) -> str:
    """The text with every Cyrillic word in its dictionary form."""
    return CYRILLIC_WORD.sub(lambda found: lemma(found.group(0)), text)
