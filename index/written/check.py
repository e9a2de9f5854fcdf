"""Checks each written sentence against the passages it cites; what is not supported is dropped."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from index.embed.factory import TextEmbedder
from index.search.answer import split_sentences
from index.search.keyword import STOPWORDS
from index.search.meaning import script

# Chosen on the dev set (scripts/written_thresholds.py, README "Written answers"): it keeps
# 97% of paraphrases of the cited passage's sentences and 6.6% of sentences from another
# article on the same story (with the names-and-numbers rule), the best difference.
MIN_COSINE = 0.6
# A sentence in another script than its passage ("США готові…" over English text): e5's
# cosines across languages run lower, so the sentence is read both as a passage and as a
# query and the mean must reach 0.5. On the hand-made set (tests/test_written_check.py)
# correct Ukrainian and Russian sentences score 0.52-0.68 and unsupported ones 0.27-0.48:
# a thin margin, to re-tune on real written answers.
MIN_COSINE_ACROSS = 0.5
# A sentence ends at . ! ? … (with any closing quote and its citations) before a new sentence.
SENTENCE_END = re.compile(
    r"(?<=[.!?…])[\"'”’»)]*(?:\s*\[\d+(?:\s*,\s*\d+)*\])*"
    # The next sentence starts with a Latin or Cyrillic capital or a digit.
    r"(?=\s+[\"'“‘«(]?[A-Z0-9\u0400-\u042f\u0490])"
)
CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
TOKEN = re.compile(r"[^\W\d_][\w'’-]*|\d+|[^\s\w]", re.UNICODE)  # words, numbers, punctuation


@dataclass(frozen=True)
class Sentence:
    """A written sentence: its text without citations and the numbers it cites."""

    text: str
    cited: tuple[int, ...]


@dataclass(frozen=True)
class Verdict:
    """A checked sentence: the passage that supports it (None: dropped) and why."""

    sentence: Sentence
    supported_by: int | None
    reason: str


@dataclass
class Checker:
    """Checks sentences against one answer's passages; passage sentences are embedded once."""

    embedder: TextEmbedder
    passages: Mapping[int, str]
    min_cosine: float = MIN_COSINE
    _vectors: dict[int, np.ndarray] = field(default_factory=dict)

    def passage_vectors(self, number: int) -> np.ndarray:
        """The passage's sentences as vectors (the whole passage when it has no sentence)."""
        if number not in self._vectors:
            text = self.passages[number]
            sentences = split_sentences(text) or [text]
            self._vectors[number] = self.embedder.embed_passages(sentences, stored=False)
        return self._vectors[number]

    def check(self, sentence: Sentence) -> Verdict:
        """Supported by the cited passage it is closest to, or dropped with the reason."""
        cited = [n for n in sentence.cited if n in self.passages]
        if not cited:
            why = "cites no passage" if not sentence.cited else "cites no passage that exists"
            return Verdict(sentence, None, why)
        vector = self.embedder.embed_passages([sentence.text], stored=False)[0]
        written_in = script(sentence.text)
        across = {n for n in cited if script(self.passages[n]) not in ("", written_in)}
        asked = self.embedder.embed_queries([sentence.text])[0] if across else None
        # Rescaled by the model's unrelated-text cosine, as retrieval does: e5's 0.88 is 0.6.
        floor = self.embedder.cosine_floor

        def close(number: int, form: np.ndarray) -> float:
            return (float(np.max(self.passage_vectors(number) @ form)) - floor) / (1 - floor)

        closeness = {
            n: (close(n, vector) + close(n, asked)) / 2
            if n in across and asked is not None
            else close(n, vector)
            for n in cited
        }
        reasons = []
        for number in sorted(cited, key=lambda n: -closeness[n]):
            missing = missing_facts(sentence.text, self.passages[number])
            least = MIN_COSINE_ACROSS if number in across else self.min_cosine
            if closeness[number] < least:
                reasons.append(f"[{number}] says something else ({closeness[number]:.2f})")
            elif missing:
                reasons.append(f"[{number}] does not have {', '.join(missing)}")
            else:
                return Verdict(sentence, number, f"[{number}] {closeness[number]:.2f}")
        return Verdict(sentence, None, "; ".join(reasons))


def split_written(text: str) -> list[str]:
    """The written text's sentences, each with the citations that follow it."""
    pieces: list[str] = []
    for line in text.splitlines():
        start = 0
        for match in SENTENCE_END.finditer(line):
            pieces.append(line[start : match.end()])
            start = match.end()
        pieces.append(line[start:])
    return [" ".join(piece.split()) for piece in pieces if piece.strip()]


def complete_sentences(text: str) -> tuple[list[str], str]:
    """Sentences finished in a growing text, and the rest, which may still grow."""
    cut = text.rfind("\n") + 1
    for match in SENTENCE_END.finditer(text, cut):
        cut = match.end()
    return split_written(text[:cut]), text[cut:]


def parse_sentence(raw: str) -> Sentence:
    """Citations out of the text, in the order they appear, each once."""
    cited: list[int] = []
    for group in CITATION.findall(raw):
        cited += [int(n) for n in group.split(",") if int(n) not in cited]
    text = " ".join(CITATION.sub(" ", raw).split())
    text = re.sub(r"\s+([.,;:!?…])", r"\1", text)
    return Sentence(text=text, cited=tuple(dict.fromkeys(cited)))


def stated_facts(text: str) -> list[str]:
    """The numbers and names a sentence states: digits, and runs of capitalised words.

    The first word counts only as an acronym: "The" and "However" open sentences too.
    """
    facts = [number.replace(",", "") for number in NUMBER.findall(text)]
    run: list[str] = []
    for index, word in enumerate([*TOKEN.findall(text), ""]):
        name = word[:1].isupper() and word.lower() not in STOPWORDS
        if name and (index > 0 or (len(word) > 1 and word.isupper())):
            run.append(word)
            continue
        if run:
            facts.append(" ".join(run))
        run = []
    return list(dict.fromkeys(facts))


def name_present(name: str, stems: set[str], acronyms: set[str]) -> bool:
    """Every word of the name in the passage, or its initials ("United States" in "USA")."""
    words = name.split()
    if all(word.lower()[:5] in stems for word in words):
        return True
    initials = "".join(word[0] for word in words)
    return len(words) > 1 and any(acronym.startswith(initials) for acronym in acronyms)


def missing_facts(sentence: str, passage: str) -> list[str]:
    """The sentence's numbers and names that the passage does not have.

    A name in another script than the passage's ("США" over an English passage) cannot be
    looked up letter by letter: its meaning is left to the cosine, its numbers still count.
    """
    numbers = {number.replace(",", "") for number in NUMBER.findall(passage)}
    words = WORD.findall(passage)
    stems = {word.lower()[:5] for word in words}
    acronyms = {word for word in words if len(word) > 1 and word.isupper()}
    written_in = script(passage)
    return [
        fact
        for fact in stated_facts(sentence)
        if (
            fact not in numbers
            if fact[0].isdigit()
            else script(fact) in ("", written_in) and not name_present(fact, stems, acronyms)
        )
    ]
