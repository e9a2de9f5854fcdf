"""The message catalogues: every string the code shows is translated, placeholders intact."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from index.i18n import LANGUAGES, LOCALES, _, _n, language_for, use_language

REPO = Path(__file__).parent.parent
KEYWORDS = {"_": None, "N_": None, "_n": (1, 2)}
PLACEHOLDER = re.compile(r"\{(\w*)\}")
TAG = re.compile(r"</?[a-z]+[^>]*>")


def code_messages() -> set[str | tuple[str, str]]:
    """Every message the product's code passes to _, _n or N_ (singular, plural for _n)."""
    found: set[str | tuple[str, str]] = set()
    for package in ("bot", "cli", "index"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            REPO / package, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_every_message_is_translated_with_its_placeholders_and_tags(language: str) -> None:
    with (LOCALES / language / "LC_MESSAGES" / "newsbot.po").open("rb") as po:
        catalogue = read_po(po, locale=language)
    translated = {
        (m.id if isinstance(m.id, str) else (m.id[0], m.id[1])): m
        for m in catalogue
        if m.id and not m.fuzzy
    }
    missing = [m for m in code_messages() if m not in translated]
    assert missing == [], f"{language}: run `make messages` and translate {missing[:5]}"
    for key, message in translated.items():
        source = key if isinstance(key, str) else key[1]
        forms = [message.string] if isinstance(message.string, str) else list(message.string)
        assert all(forms), f"{language}: no translation for {source!r}"
        wanted = set(PLACEHOLDER.findall(source))
        for form in forms:
            # a plural form may leave {n} out ("one article"), never add or rename one
            assert set(PLACEHOLDER.findall(form)) <= wanted | {"n"}, (language, source, form)
            assert set(PLACEHOLDER.findall(form)) >= wanted - {"n"}, (language, source, form)
            assert sorted(TAG.findall(form)) == sorted(TAG.findall(source)), (source, form)
        if not isinstance(key, str):
            assert len(forms) == 3, f"{language} has three plural forms: {source!r}"


def test_plural_forms_follow_each_languages_rules() -> None:
    one, many = "{n} article", "{n} articles"
    with use_language("en"):
        assert [_n(one, many, n) for n in (1, 2, 5)] == ["1 article", "2 articles", "5 articles"]
    with use_language("uk"):
        assert [_n(one, many, n) for n in (1, 2, 5, 21)] == [
            "1 стаття",
            "2 статті",
            "5 статей",
            "21 стаття",
        ]
    with use_language("ru"):
        assert [_n(one, many, n) for n in (1, 3, 11)] == ["1 статья", "3 статьи", "11 статей"]


def test_language_codes_and_lang_values_map_to_a_catalogue() -> None:
    assert [language_for(code) for code in ("uk", "ru-RU", "uk_UA.UTF-8", "en-GB")] == [
        "uk",
        "ru",
        "uk",
        "en",
    ]
    assert [language_for(code) for code in (None, "", "C.UTF-8", "de", "be")] == ["en"] * 5
    with use_language("uk"):
        assert _("Daily digest off.") != "Daily digest off."
    assert _("Daily digest off.") == "Daily digest off."  # the block ended: English again
