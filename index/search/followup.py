"""Reads a short follow-up ("and France?", "what did he say after that?") in context; pure."""

from __future__ import annotations

import re

_WORD = re.compile(r"[\w’'-]+", re.UNICODE)
# "and France?", "what about the EU?", "how about inflation?"
_TAIL = re.compile(
    r"^(?:(?:and|but|or|also|so|ok|okay)[,\s]+)*(?:(?:what|how)\s+about|and)\s+(?P<rest>.+?)[\s?.!]*$",
    re.IGNORECASE,
)
_LEAD = re.compile(r"^(?:and|but|also|so|then|ok|okay)\b[,\s]*", re.IGNORECASE)
# Words that point back at something said before.
_REFERRING_TEXT = (
    "he she they him her them his hers their theirs it its that this those these there "
    "then after before earlier later same such"
)
REFERRING = frozenset(_REFERRING_TEXT.split())
# Capitalised words that are not names: question words and sentence openers.
_OPENERS_TEXT = (
    "what who whom whose when where why how which did does do is are was were will would "
    "could should can has have had and but also so the a an tell show give any in on at of "
    "for to i me my more then ok okay please and is"
)
OPENERS = frozenset(_OPENERS_TEXT.split())
MAX_CONTEXT_WORDS = 30


def _names(question: str) -> list[str]:
    """Runs of capitalised words that look like names ('the US', 'Pope Leo XIV')."""
    runs: list[str] = []
    current: list[str] = []
    for word in _WORD.findall(question):
        if word[0].isupper() and word.lower() not in OPENERS:
            current.append(word)
            continue
        if current:
            runs.append(" ".join(current))
            current = []
    if current:
        runs.append(" ".join(current))
    return runs


def _context(previous: str) -> str:
    """The previous question without its end mark, at most MAX_CONTEXT_WORDS words."""
    words = previous.split()[:MAX_CONTEXT_WORDS]
    return " ".join(words).rstrip("?.! ")


def is_followup(question: str) -> bool:
    """Whether a question leans on the one before: 'and X?', pronouns and no names, or 1-2 words."""
    words = [word.lower() for word in _WORD.findall(question)]
    if not words:
        return False
    if _TAIL.match(question.strip()) or words[0] in {"and", "also"}:
        return True
    has_names = bool(_names(question))
    if not has_names and REFERRING.intersection(words):
        return True
    return len(words) <= 2 and not has_names


def rewrite_followup(previous: str | None, question: str) -> str:
    """A standalone question: a follow-up is read with the previous question; others unchanged."""
    question = " ".join(question.split())
    if not previous or not previous.strip() or not is_followup(question):
        return question
    context = _context(" ".join(previous.split()))
    tail = _TAIL.match(question)
    if tail:
        rest = tail.group("rest")
        names = _names(context)
        bare = re.sub(r"^the\s+", "", rest, flags=re.IGNORECASE)
        if names and _names(bare) == [bare] and len(bare.split()) <= 5:
            # "and France?" after "What did the US offer Ukraine?": swap the first name.
            return (
                re.sub(r"\b(?:the\s+)?" + re.escape(names[0]), lambda _: rest, context, count=1)
                + "?"
            )
        if len([w for w in _WORD.findall(rest) if w.lower() not in OPENERS]) >= 3:
            return f"{rest[0].upper()}{rest[1:]}?"  # "what about air defense for Ukraine?"
        return f"{context}: {rest}?"
    return f"{context}? {_LEAD.sub('', question)}"
