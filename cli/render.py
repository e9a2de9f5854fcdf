"""Answers as terminal text and as JSON; pure."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from index.i18n import _
from index.records import Answer, Citation
from index.written.write import Written


def citation_line(citation: Citation) -> str:
    """'[n] Title — Source, date — url'."""
    where = ", ".join(
        part
        for part in (citation.source, citation.published and citation.published.isoformat())
        if part
    )
    parts = [f"[{citation.n}] {citation.title}", where, citation.url or ""]
    return " — ".join(part for part in parts if part)


def answer_text(answer: Answer) -> str:
    """The answering sentence, the rest of the answer, then numbered citations with snippets."""
    if not answer.found:
        return _(
            "The archive has nothing on that. Try other words, or ask an admin to add a "
            "source that covers it."
        )
    said = [f"{s.text} [{s.n}]" for s in answer.sentences]
    # The answering sentence on its own line, the rest after it, then the sources.
    lines = [said[0], " ".join(said[1:]), ""] if len(said) > 1 else [*said, ""]
    for citation in answer.citations:
        lines += [citation_line(citation), f"    “{citation.snippet}”"]
    return "\n".join(lines)


def citations_json(citations: Sequence[Citation]) -> list[dict[str, object]]:
    """The citations as `ask --json` shows them: their fields, the date as ISO, no chunk id."""
    shown = []
    for citation in citations:
        item = asdict(citation)
        item["published"] = citation.published.isoformat() if citation.published else None
        item.pop("chunk_id")
        shown.append(item)
    return shown


def answer_json(answer: Answer, written: Written | None = None) -> str:
    """{"question", "found", "answer", "citations": [...], "mode", "dropped"} as JSON."""
    citations = citations_json(answer.citations)
    return json.dumps(
        {
            "question": answer.question,
            "found": answer.found,
            "answer": answer.text if answer.found else answer_text(answer),
            "citations": citations,
            "mode": written.mode if written else "extractive",
            "dropped": [
                {"sentence": v.sentence.text, "cited": list(v.sentence.cited), "reason": v.reason}
                for v in (written.dropped if written else ())
            ],
        },
        ensure_ascii=False,
        indent=2,
    )
