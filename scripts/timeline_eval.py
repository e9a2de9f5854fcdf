"""How good and how fast timelines and coverage charts are on an archive (the corpus copy).

    .venv/bin/python scripts/timeline_eval.py --data-dir /work/data/corpus-stories

For each story of the fixture (tests/data/timelines.json: 15 RealTime QA stories with the
events written from their articles) it makes the topic's timeline and reports event recall
(expected events present), order errors (lines dated before the line above) and duplicates
(two lines telling one expected event, or retellings of one another). Then it times
timelines and charts (trend plus drawing) over the topics, --repeats times each: p50 and p90.
Timing figures mean something on an idle machine only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from index.archive import Archive
from index.search.sentences import stems
from index.settings import Settings
from index.stories.timeline import Event, Timeline, same_event

RETOLD_SHARE = 0.4  # two lines on one expected event sharing this much of their words retell it
FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "data" / "timelines.json"


def tells(line: Event, expected: dict[str, object]) -> bool:
    """Whether a timeline line tells an expected event: near its day, with its words."""
    day = date.fromisoformat(str(expected["date"]))
    if abs((line.day - day).days) > int(str(expected["days"])):
        return False
    text = line.text.lower()
    words = expected["words"]
    assert isinstance(words, list)
    return all(any(w.lower() in text for w in str(group).split("|")) for group in words)


@dataclass(frozen=True)
class Score:
    """One timeline against its expected events."""

    topic: str
    lines: int
    recall: float
    order_errors: int
    duplicates: int
    missed: tuple[str, ...]


def judge(timeline: Timeline, events: list[dict[str, object]]) -> Score:
    """Recall, order errors and duplicates of one timeline against its expected events."""
    lines = list(timeline.events)
    found = [[n for n, line in enumerate(lines) if tells(line, e)] for e in events]
    order = sum(b.day < a.day for a, b in itertools.pairwise(lines))
    # A duplicate: two lines telling one expected event (and no other) in shared words, or
    # two lines the retelling check itself would call one event.
    words = [frozenset(stems(line.text)) - frozenset(stems(timeline.topic)) for line in lines]
    retold = {
        (i, j)
        for i, j in itertools.combinations(range(len(lines)), 2)
        if same_event(words[i], words[j])
        or (
            any(i in hits and j in hits for hits in found)
            and len(words[i] & words[j]) >= RETOLD_SHARE * min(len(words[i]), len(words[j]))
        )
    }
    return Score(
        topic=timeline.topic,
        lines=len(lines),
        recall=sum(bool(hits) for hits in found) / len(events),
        order_errors=order,
        duplicates=len(retold),
        missed=tuple(str(e["what"]) for e, hits in zip(events, found, strict=True) if not hits),
    )


def percentile(values: list[float], share: float) -> float:
    """The share-th percentile (nearest rank) of the values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    """Judge every story, then time timelines and charts; print a table and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--fixture", type=Path, default=FIXTURE)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--show", action="store_true", help="Print every timeline.")
    parser.add_argument("--json-out", type=Path, help="Write the figures per story here.")
    args = parser.parse_args()
    stories = json.loads(args.fixture.read_text())["stories"]
    settings = Settings(data_dir=args.data_dir)
    with Archive.open(settings) as archive:
        rows = []
        for story in stories:
            timeline = archive.timeline(story["topic"])
            rows.append(judge(timeline, story["events"]))
            if args.show:
                print(f"\n## {timeline.topic}")
                for line in timeline.events:
                    print(f"  {line.day}  {line.text[:150]} [{line.n}]")
        for row in rows:
            print(
                f"{row.topic[:48]:48} lines {row.lines:2}  recall {row.recall:.2f}  "
                f"order {row.order_errors}  dup {row.duplicates}  missed {list(row.missed)}"
            )
        timings = time_them(archive, [story["topic"] for story in stories], args.repeats)
    recall = statistics.mean(r.recall for r in rows)
    order = sum(r.order_errors for r in rows)
    dups = sum(r.duplicates for r in rows)
    print(
        f"timeline eval: {len(rows)} stories, event recall {recall:.2f}, order errors {order}, "
        f"duplicates {dups}; timeline p50 {timings['timeline_p50_ms']:.0f} ms, "
        f"chart p50 {timings['chart_p50_ms']:.0f} ms (CPU {timings['timeline_cpu_p50_ms']:.0f} and "
        f"{timings['chart_cpu_p50_ms']:.0f} ms; load {os.getloadavg()[0]:.1f})"
    )
    summary = {"stories": len(rows), "recall": round(recall, 3), "order_errors": order}
    print(json.dumps({**summary, "duplicates": dups, **timings}))
    if args.json_out:
        rows_out = [asdict(r) for r in rows]
        args.json_out.write_text(json.dumps({**summary, "rows": rows_out, **timings}, indent=2))


def time_them(archive: Archive, topics: list[str], repeats: int) -> dict[str, float]:
    """p50 and p90 milliseconds of a timeline and of a chart (counting and drawing).

    Wall time is what a user waits on an idle machine; the process' CPU time is printed too,
    a rough figure that a busy machine inflates less.
    """
    archive.chart(archive.trend(topics[0], "all"))  # matplotlib and the model warm up first
    wall: dict[str, list[float]] = {"timeline": [], "chart": []}
    cpu: dict[str, list[float]] = {"timeline": [], "chart": []}
    for _ in range(repeats):
        for topic in topics:
            for kind in ("timeline", "chart"):
                start, used = time.perf_counter(), time.process_time()
                if kind == "timeline":
                    archive.timeline(topic)
                else:
                    archive.chart(archive.trend(topic, "all"))
                wall[kind].append((time.perf_counter() - start) * 1000)
                cpu[kind].append((time.process_time() - used) * 1000)
    figures = {}
    for kind in ("timeline", "chart"):
        figures[f"{kind}_p50_ms"] = round(statistics.median(wall[kind]), 1)
        figures[f"{kind}_p90_ms"] = round(percentile(wall[kind], 0.9), 1)
        figures[f"{kind}_cpu_p50_ms"] = round(statistics.median(cpu[kind]), 1)
    return figures


if __name__ == "__main__":
    main()
