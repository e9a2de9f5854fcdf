"""What makes a sentence an answer to a question: words it adds, furniture it is not; pure."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from index.search import cyrillic
from index.search.keyword import STOPWORDS

_WORD = re.compile(r"\w+", re.UNICODE)
_NAME = re.compile(rf"(?<!^)(?<![.!?:] )\b[A-Z{cyrillic.CAPITALS}][\w'’-]*[A-Za-zа-яёіїєґ]")
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|hundred|"
    r"thousand|million|billion|trillion|half)\b|" + cyrillic.NUMBER_WORDS,
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b(1[89]\d\d|20\d\d|January|February|March|April|May|June|July|August|September|"
    r"October|November|December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
    r"today|tomorrow|yesterday)\b|(?i:" + cyrillic.DATE_WORDS + ")"
)
_QUESTION_SENTENCE = re.compile(r"(?<=[.!?…])[\"'”’»)]*\s+")
_ORDINAL = re.compile(r"\d+(st|nd|rd|th)?", re.IGNORECASE)
_CLOCK_WORDS = frozenset({"a", "p", "m", "am", "pm", "et", "pt", "ct", "now", "tonight", "noon"})
# Page furniture: bylines, time stamps, captions, share and "read more" lines.
_FURNITURE = re.compile(
    r"(\bread more\b|\bvisit (our|the)\b|\bsign up\b|\bsubscribe\b|\bnewsletter\b|"
    r"\bclick here\b|\bshare this\b|\bsee the (full )?list\b|\bfollow (us|him|her)\b|"
    r"\bwatch:|\bphoto(s)?\b[:|]|\bgetty images\b|\bap photo\b|\bcredit:|\bcontributing:|"
    r"\bcontributed to this\b|\breporting by\b|\bthis story (has been|was) updated\b|"
    r"\b\d{1,2}:\d\d\s*[ap]\.?m\.?\s*(et|pt|ct|edt|est)\b|^by [A-Z][a-z]+ [A-Z]|"
    r"\bupdated\s+\d|\bpublished\s+\d|\bmore:|\brelated:|\bsponsored\b|\bad feedback\b|"
    r"^play\b.*\bnow\W*$|" + cyrillic.FURNITURE + ")",
    re.IGNORECASE,
)
# The rules' word lists, one constant per role, so another language can add its own words.
# Datelines and dated list lines: "Updated Dec. 23, 2025", "Nov. 2, 2016 — Cubs 8, …".
_DATELINE = re.compile(
    r"\b(updated|published)\s+[a-z]{3,9}\.?\s+\d|^[a-z]{3,9}\.?\s+\d{1,2},\s+\d{4}\s+[—–-]",
    re.IGNORECASE,
)
# An opening word that leans on the sentence before: pronouns and connectives.
_LEANING_TEXT = """
    he she it they them this that these those his her its their there such however but also and
    so still yet meanwhile moreover furthermore instead then thus therefore besides additionally
    nonetheless nevertheless otherwise likewise similarly later
    """
LEANING_WORDS = frozenset(_LEANING_TEXT.split()) | cyrillic.LEANING
# Question phrases that say what kind of information answers (regular expressions).
ASKS_NAME = ("who", "whom", "whose", "which", "where", r"what (company|country|city|state)")
ASKS_NUMBER = (r"how (many|much|long|old|far)", r"what (number|percent)")
ASKS_DATE = ("when", r"what (date|day|year|month)")
# Quiz words that say when, not what (as stems): a sentence does not answer by repeating them.
GENERIC_STEMS = frozenset({"week", "recen", "repor", "annou", "news", "lates"}) | cyrillic.GENERIC


def _phrases(phrases: Sequence[str], other: str) -> re.Pattern[str]:
    """The English phrases as words, or another language's pattern (index/search/cyrillic.py)."""
    return re.compile(r"\b(" + "|".join(phrases) + r")\b|" + other, re.IGNORECASE)


_ASKS = (
    ("number", _phrases(ASKS_NUMBER, cyrillic.ASKS_NUMBER)),
    ("date", _phrases(ASKS_DATE, cyrillic.ASKS_DATE)),
    ("name", _phrases(ASKS_NAME, cyrillic.ASKS_NAME)),
)


@dataclass(frozen=True)
class Weights:
    """How much each signal counts; tuned on the dev set only."""

    match: float = 0.5  # share of the question's (rarer) words the sentence holds
    kind: float = 1.0  # holds the kind of thing asked: a name, number or date not in the question
    new: float = 0.5  # adds words beyond the question's (saturating)
    after_restated: float = 0.2  # follows a sentence that restates the question
    passage: float = 0.9  # the passage's retrieval score (best 1)
    lead: float = 0.4  # near the start of its article
    stale: float = 0.2  # an older occurrence of a story than the latest one cited
    meaning: float = 2.0  # cosine (rescaled) of the sentence with the question, where read
    missing: float = 0.4  # share of the score left when the asked-for kind is missing
    floor: float = 0.3  # a sentence scoring no more than this is no answer
    keep: float = 0.6  # more sentences only if they score this share of the best
    repeat: float = 0.5  # sentences sharing this share of content words say the same thing
    words: int = 120  # more sentences only while the answer stays within this many words
    rival: float = 0.9  # another story's sentence scoring this share of the best joins too
    anchor: float = 0.5  # and holds this share of the question words the answer's best holds
    lead_in: float = 0.25  # weight of words only in a question's lead-in ("Turkey is … Which …?")
    restated_novelty: int = 3  # a sentence adding fewer new words than this restates
    restated_match: float = 0.6


def stems(text: str) -> list[str]:
    """Lower-cased content words cut to five letters, in order."""
    return [w[:5] for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def is_furniture(sentence: str) -> bool:
    """A byline, time stamp, caption, share or 'read more' line, a question or a fragment,
    or a sentence that says nothing but a day ("Today is Sunday, June 9th, 2024.")."""
    first = sentence[:1]
    return (
        sentence.rstrip("\"'”’)").endswith("?")
        or (first.isalpha() and first.islower())
        or bool(_FURNITURE.search(sentence))
        or is_dateline(sentence)
        or all(_says_when_only(word) for word in _WORD.findall(sentence))
    )


def _says_when_only(word: str) -> bool:
    """A stop word, a number or ordinal, or a word of a date or clock time."""
    return (
        word.lower() in STOPWORDS
        or word.lower() in _CLOCK_WORDS
        or any(_DATE.fullmatch(form) for form in (word, word.lower(), word.capitalize()))
        or bool(_ORDINAL.fullmatch(word))
    )


def is_dateline(sentence: str) -> bool:
    """A time stamp line or a dated list line, which opens no story of its own."""
    return bool(_DATELINE.search(sentence))


def leans_back(sentence: str) -> bool:
    """Whether the sentence opens with a pronoun or connective that needs the one before."""
    first = next(iter(_WORD.findall(sentence[:40].lower())), "")
    return first in LEANING_WORDS


def asked_kind(question: str) -> str:
    """What the question asks for: 'number', 'date', 'name', or '' for anything else.

    The phrase nearest the question's start decides: "Which country was hit when …" asks a
    name; at the same place, the order of `_ASKS` ("how many" before "how").
    """
    found = [
        (match.start(), order, kind)
        for order, (kind, pattern) in enumerate(_ASKS)
        if (match := pattern.search(question))
    ]
    return min(found)[2] if found else ""


@dataclass(frozen=True)
class Question:
    """A question read once: its words, what it asks for and its weighted content stems."""

    words: frozenset[str]
    kind: str
    weights: dict[str, float]

    @classmethod
    def read(cls, question: str, pool: Sequence[set[str]], lead_in: float = 1.0) -> Question:
        """The question, its stems weighted by how rare they are among the pool's sentences.

        A stem only in the sentences that lead in to the asking one ("You could beat the heat
        in a cool theater. Which movie is the first summer blockbuster?") counts `lead_in`.
        """
        wanted = [s for s in dict.fromkeys(stems(question)) if s not in GENERIC_STEMS]
        found = Counter(s for words in pool for s in words if s in wanted)
        asking = set(stems(asking_part(question)))
        weights = {
            s: math.log(1 + (len(pool) + 1) / (found[s] + 1)) * (1.0 if s in asking else lead_in)
            for s in wanted
        }
        words = frozenset(_WORD.findall(question.lower()))
        return cls(words=words, kind=asked_kind(question), weights=weights)


def asking_part(question: str) -> str:
    """The sentences of the question that ask (end in '?'), else its last sentence."""
    parts = _QUESTION_SENTENCE.split(question.strip())
    return " ".join(p for p in parts if p.rstrip("\"'”’»)").endswith("?")) or parts[-1]


def holds_kind(question: Question, sentence: str) -> float:
    """1 when the sentence holds what the question asks for (name, number, date) anew."""
    if question.kind == "number":
        return 1.0 if _NUMBER.search(sentence) else 0.0
    if question.kind == "date":
        return 1.0 if _DATE.search(sentence) else 0.0
    news = any(m.group(0).lower() not in question.words for m in _NAME.finditer(sentence))
    return (1.0 if question.kind == "name" else 0.5) if news else 0.0


@dataclass(frozen=True)
class Judged:
    """A sentence's score for a question, whether it restates the question, and the share of
    the question's (weighted) words it holds."""

    score: float
    restates: bool
    match: float = 0.0


def judge(
    question: Question, sentence: str, words: set[str], tuning: Weights, about: set[str]
) -> Judged:
    """The answer score of one sentence (its content stems `words`), before place and passage.

    `about` holds the stems of the sentence a pronoun or connective opening refers to: they
    count as matched, not as new.
    """
    weights = question.weights
    total = sum(weights.values()) or 1.0
    meant = words | about
    match = sum(w for s, w in weights.items() if s in meant) / total
    new = len(words - weights.keys() - GENERIC_STEMS)
    kind = holds_kind(question, sentence)
    # Without the name, number or date asked for, a sentence needs more new words to be news.
    wanting = bool(question.kind) and not kind
    novelty = tuning.restated_novelty * (2 if wanting else 1)
    restates = new < novelty and match >= tuning.restated_match
    score = (tuning.match * match + tuning.kind * kind + tuning.new * min(new, 8) / 8) * (
        tuning.missing if wanting else 1.0
    )
    return Judged(score=0.0 if restates else score, restates=restates, match=match)
