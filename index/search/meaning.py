"""Sentences scored by meaning: the cosine of each cited sentence with the question.

Words cannot match across languages ("Що США запропонували Україні?" shares none with an
English article), so where the question's script is not a cited passage's the composer
reads each sentence's vector, embedded in one batch by the archive's own model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from index.embed.factory import TextEmbedder
from index.records import Hit
from index.search.answer import split_sentences
from index.search.sentences import leans_back

MeaningMode = Literal["off", "across", "always"]

SAMPLE = 240  # characters of a text that tell its script (the English answer path pays for it)
_LATIN = re.compile(r"[A-Za-zÀ-ÿ]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def script(text: str) -> str:
    """'latin' or 'cyrillic', whichever the text's start has more letters of; '' with neither."""
    start = text[:SAMPLE]
    latin, cyrillic = len(_LATIN.findall(start)), len(_CYRILLIC.findall(start))
    if not latin and not cyrillic:
        return ""
    return "cyrillic" if cyrillic > latin else "latin"


def crosses_languages(question: str, hits: Sequence[Hit]) -> bool:
    """Whether the question's words may not be its passages': a passage in another script, or
    a Cyrillic question (Russian and Ukrainian share letters, not words: Украине, Україні)."""
    asked = script(question)
    if asked == "cyrillic":
        return bool(hits)
    return bool(asked) and any(script(hit.chunk.text) not in ("", asked) for hit in hits)


def wanted(mode: MeaningMode, question: str, hits: Sequence[Hit]) -> bool:
    """Whether the answer should read sentences by meaning under `mode`."""
    return mode == "always" or (mode == "across" and crosses_languages(question, hits))


def _read(sentences: list[str]) -> list[str]:
    """Each sentence as the model should read it: one that opens with a pronoun or connective
    ("They will also …") with the sentence it leans on, as the word rules read it."""
    return [
        f"{sentences[i - 1]} {text}" if i and leans_back(text) else text
        for i, text in enumerate(sentences)
    ]


def sentence_cosines(
    embedder: TextEmbedder, question: str, hits: Sequence[Hit]
) -> list[list[float]]:
    """Per hit, each of its sentences' cosine with the question, rescaled so unrelated is 0.

    The question's vector is the one retrieval embedded (the embedder remembers it); the
    sentences go to the model in one batch, and repeated ones are remembered too.
    """
    passages = [_read(split_sentences(hit.chunk.text)) for hit in hits]
    texts = list(dict.fromkeys(text for row in passages for text in row))
    if not texts:
        return [[] for _ in hits]
    query = embedder.embed_queries([question])[0]
    vectors = embedder.embed_passages(texts, stored=False)
    floor = embedder.cosine_floor
    cosine = dict(zip(texts, ((vectors @ query - floor) / (1 - floor)).tolist(), strict=True))
    return [[cosine[text] for text in row] for row in passages]
