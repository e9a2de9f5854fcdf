"""Questions that ask for a timeline ("how did … unfold", "timeline of …"); pure.

The patterns are kept by language so that a catalogue of another language can add its own:
each has a named group `topic`, the story to tell.
"""

from __future__ import annotations

import re

_END = r"\s*[?.!]*\s*$"
TIMELINE_ASKS: dict[str, tuple[re.Pattern[str], ...]] = {
    "en": (
        re.compile(
            r"^(?:(?:give|show) me\s+|what is\s+)?(?:a|the)?\s*timeline\s+(?:of|for|on)\s+"
            r"(?P<topic>.+?)" + _END,
            re.IGNORECASE,
        ),
        re.compile(
            r"^how\s+(?:did|has|have|had)\s+(?P<topic>.+?)\s+(?:unfold|develop|evolve|"
            r"play\s+out|progress)(?:ed)?\b.*?" + _END,
            re.IGNORECASE,
        ),
        re.compile(
            r"^how\s+(?P<topic>.+?)\s+(?:unfolded|developed|evolved|played\s+out)\b.*?" + _END,
            re.IGNORECASE,
        ),
        re.compile(
            r"^what\s+(?:has\s+)?happen(?:ed|s)?\s+(?:with|to|in)\s+"
            r"(?P<topic>.+?\s+since\s+.+?)" + _END,
            re.IGNORECASE,
        ),
    ),
}


def timeline_topic(question: str) -> str | None:
    """The story a question asks the timeline of, or None when it asks something else."""
    text = " ".join(question.split())
    for patterns in TIMELINE_ASKS.values():
        for pattern in patterns:
            found = pattern.match(text)
            if found and any(ch.isalnum() for ch in found.group("topic")):
                return found.group("topic").strip()
    return None
