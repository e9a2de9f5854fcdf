"""Chooses the written-answer check's cosine threshold on the dev set; prints the figures.

For each dev question the archive's own answer gives the cited passages. Supported examples
are the cited passages' sentences cut to their first 60% of words and with their clauses
swapped at the first comma (crude paraphrases that still say only what the passage says).
Unsupported examples are a sentence from another question's passages cited as this one's
(off topic) and a sentence from another article of the same answer (a wrong citation on the
same story: some of these are in fact supported, so they are reported, not optimised).

    PYTHONPATH=. python scripts/written_thresholds.py --data-dir DIR \
        --questions Q.jsonl --gold G.jsonl
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.archive import Archive
from index.search.answer import split_sentences
from index.search.evaluate import load_cases
from index.settings import Settings
from index.written.check import Checker, missing_facts

THRESHOLDS = [round(0.3 + 0.05 * i, 2) for i in range(12)]


@dataclass
class Samples:
    """(cosine, facts present) for each kind of example."""

    kinds: dict[str, list[tuple[float, bool]]] = field(default_factory=dict)

    def add(self, kind: str, checker: Checker, number: int, sentence: str) -> None:
        vector = checker.embedder.embed_passages([sentence], stored=False)[0]
        cosine = float(np.max(checker.passage_vectors(number) @ vector))
        facts = not missing_facts(sentence, checker.passages[number])
        self.kinds.setdefault(kind, []).append((cosine, facts))

    def kept(self, kind: str, threshold: float) -> float:
        """Share of the kind the check keeps at the threshold."""
        rows = self.kinds.get(kind, [])
        return sum(c >= threshold and f for c, f in rows) / (len(rows) or 1)


def paraphrases(sentence: str) -> list[str]:
    """The sentence's first 60% of words, and its clauses swapped at the first comma."""
    words = sentence.rstrip(".!?").split()
    found = [" ".join(words[: max(6, int(len(words) * 0.6))]) + "."]
    head, comma, tail = sentence.rstrip(".!?").partition(", ")
    if comma and len(tail.split()) >= 4 and len(head.split()) >= 3:
        found.append(f"{tail[0].upper()}{tail[1:]}, {head[0].lower()}{head[1:]}.")
    return found


def collect(archive: Archive, questions: Path, gold: Path, seed: int) -> Samples:
    """Examples from every dev question's cited passages."""
    rng = random.Random(seed)
    cases = load_cases(questions, gold)
    answered = []
    for case in cases:
        answer = archive.retriever.ask(case.question, now=case.asked_on)
        if answer.found:
            answered.append((answer, archive.cited_passages(answer)))
    samples = Samples()
    for index, (answer, passages) in enumerate(answered):
        checker = Checker(archive.embedder, passages)
        other = answered[(index + 1) % len(answered)][1]
        for number, text in list(passages.items())[:3]:
            sentences = [s for s in split_sentences(text) if len(s.split()) >= 8]
            if not sentences:
                continue
            sentence = rng.choice(sentences)
            samples.add("own", checker, number, sentence)
            for paraphrase in paraphrases(sentence):
                samples.add("paraphrase", checker, number, paraphrase)
            elsewhere = split_sentences(rng.choice(list(other.values())))
            if elsewhere:
                samples.add("off topic", checker, number, rng.choice(elsewhere))
            article = answer.citations[number - 1].title
            same_story = [
                s
                for c in answer.citations
                if c.n != number and c.title != article and c.n in passages
                for s in split_sentences(passages[c.n])
            ]
            if same_story:
                samples.add("other article", checker, number, rng.choice(same_story))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--gold", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    settings = Settings(_env_file=None, data_dir=args.data_dir)  # type: ignore[call-arg]
    archive = Archive(settings)
    samples = collect(archive, args.questions, args.gold, args.seed)
    counts = ", ".join(f"{kind} {len(rows)}" for kind, rows in samples.kinds.items())
    print(f"examples: {counts}")
    kinds = ("own", "paraphrase", "off topic", "other article")
    print(" | ".join(["threshold", *(f"{kind} kept" for kind in kinds), "J", "J'"]))
    for t in THRESHOLDS:
        kept = [samples.kept(kind, t) for kind in kinds]
        shares = " | ".join(f"{share:.3f}" for share in kept)
        # J: paraphrases kept less off-topic kept; J': less other-article (same story) kept.
        print(f"{t:.2f} | {shares} | {kept[1] - kept[2]:.3f} | {kept[1] - kept[3]:.3f}")


if __name__ == "__main__":
    main()
