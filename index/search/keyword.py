"""Keyword (BM25) retrieval: a question's telling words searched in the keyword index."""

from __future__ import annotations

import re
import unicodedata

from index.search import cyrillic
from index.storage.keywords import KeywordIndex
from index.storage.lemmas import lemmatise

_TERM = re.compile(r"[^\W_]+", re.UNICODE)
MAX_TERMS = 8
MAX_SHARE = 0.05  # words in more than this share of the passages are too common to search
MIN_COMMON_DOCS = 100  # ... unless they are in fewer passages than this (small archives)
# Function words and question words: they match nearly every passage and slow BM25 down.
_STOPWORDS_TEXT = """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each either few for
    from further had has have having he her here hers herself him himself his how i if in into is
    it its itself just me might more most must my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up upon us very
    was we were what when where which while who whom whose why will with would you your yours
    yourself yourselves s t d ll m re ve don didn doesn isn wasn weren won wouldn
    following according said say says tell
    """
STOPWORDS = frozenset(_STOPWORDS_TEXT.split()) | cyrillic.STOPWORDS


def stem(word: str) -> str:
    """A word lower-cased and cut to five letters, so 'Ukrainian' meets 'Ukraine'."""
    return word.lower()[:5]


def _unaccented(text: str) -> list[str]:
    """The characters, without combining accents except those of Cyrillic letters."""
    return [
        ch
        for at, ch in enumerate(text)
        if not unicodedata.combining(ch) or (at and "\u0400" <= text[at - 1] <= "\u04ff")
    ]


def query_terms(question: str) -> list[str]:
    """The distinct content words of a question, lower-cased, in order."""
    # As the index's analyzer does: Cyrillic words in dictionary form, accents off other
    # letters ("Nicolás" is "nicolas"; "й" stays "й").
    folded = unicodedata.normalize("NFKD", lemmatise(unicodedata.normalize("NFC", question)))
    words = _TERM.findall(unicodedata.normalize("NFC", "".join(_unaccented(folded))))
    # "US" and "WHO" are names, not "us" and "who", unless the whole question is in capitals.
    shouting = sum(word.isupper() for word in words) * 2 > len(words)
    kept = [
        word.lower()
        for word in words
        if (word.lower() not in STOPWORDS or (word.isupper() and len(word) > 1 and not shouting))
        and (len(word) > 1 or word.isdigit())
    ]
    return list(dict.fromkeys(kept))


def telling_terms(terms: list[str], doc_counts: dict[str, int], passages: int) -> list[str]:
    """The rarest terms, at most MAX_TERMS; words in a large share of passages are left out.

    Common words weigh little in BM25 but cost the most to score (their lists are long), so
    leaving them out keeps a search fast at any archive size.
    """
    present = sorted((t for t in terms if doc_counts.get(t)), key=lambda t: doc_counts[t])
    limit = max(MIN_COMMON_DOCS, MAX_SHARE * passages)
    kept = [term for term in present if doc_counts[term] <= limit][:MAX_TERMS]
    return kept or present[:1]


def keyword_search(keywords: KeywordIndex, question: str, limit: int) -> list[tuple[int, float]]:
    """(chunk id, BM25 score) of the passages sharing the most telling words, best first.

    Words are terms, never syntax: quotes, operators and brackets in a question are just
    separators.
    """
    terms = keywords.terms(query_terms(question))
    kept = telling_terms(terms, keywords.doc_counts(terms), keywords.passages())
    return keywords.search(kept, limit) if kept else []
