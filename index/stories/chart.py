"""A coverage chart as a small PNG: matplotlib (Agg, no display) is imported here only."""

from __future__ import annotations

import io
import unicodedata
import warnings
from datetime import timedelta

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from index.i18n import _
from index.stories.trend import Trend

WIDTH, HEIGHT, DPI = 8.0, 4.5, 100  # 800 x 450 pixels: a phone screen's width, well under 200 KB
# A light card with dark ink: Telegram shows a photo as it is, so it reads on dark and light.
PAPER, INK, MUTED, BAR, PEAK = "#f6f7f9", "#1f2430", "#6b7280", "#7aa7e6", "#1d5fc9"
LABEL_CHARS = 42


def label(headline: str, limit: int = LABEL_CHARS) -> str:
    """A headline short enough to label a bar, without characters the font lacks (emoji)."""
    kept = "".join(ch for ch in headline if unicodedata.category(ch)[0] != "S" or ch in "$€£%")
    kept = " ".join(kept.split())
    return kept if len(kept) <= limit else kept[: limit - 1].rsplit(" ", 1)[0] + "…"


def draw(trend: Trend) -> bytes:
    """The trend's bars, the three busiest labelled with their top headline, as PNG bytes."""
    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, facecolor=PAPER)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.08, 0.12, 0.9, 0.74), facecolor=PAPER)
    starts = [p.start for p in trend.points]
    counts = [p.count for p in trend.points]
    peaks = {p.start for p in trend.busiest}
    width = {"day": 0.8, "week": 5.6, "month": 24.0}[trend.step]
    colours = [PEAK if start in peaks else BAR for start in starts]
    axes.bar(starts, counts, width=width, color=colours, align="edge")  # type: ignore[arg-type]
    top = max(counts, default=0) or 1
    axes.set_ylim(0, top * 1.45 + 0.5)
    first, last = (starts[0], starts[-1]) if starts else (None, None)
    for rank, point in enumerate(sorted(trend.busiest, key=lambda p: p.start)):
        # Labels near an edge run inwards, so none is cut off by the picture's border.
        where = (point.start - first).days / max(1, (last - first).days) if first and last else 0.5
        axes.annotate(
            label(point.headline),
            xy=(point.start + timedelta(days=width / 2), point.count),  # type: ignore[arg-type]
            xytext=(0, 8 + 13 * rank),
            textcoords="offset points",
            ha="left" if where < 0.3 else "right" if where > 0.7 else "center",
            fontsize=8,
            color=INK,
            arrowprops={"arrowstyle": "-", "color": MUTED, "lw": 0.6},
        )
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(MUTED)
    axes.tick_params(colors=MUTED, labelsize=8)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    figure.autofmt_xdate(rotation=0, ha="center")
    figure.text(0.08, 0.93, label(trend.topic, 70), fontsize=12, color=INK, weight="bold")
    figure.text(0.98, 0.93, _(steps(trend.step)), fontsize=9, color=MUTED, ha="right")
    output = io.BytesIO()
    with warnings.catch_warnings():
        # A headline's letters the bundled font lacks are drawn as boxes; that is not an error.
        warnings.filterwarnings("ignore", message="Glyph .* missing", category=UserWarning)
        # Light compression: a chart is a few flat colours, so the file stays small anyway.
        figure.savefig(
            output, format="png", dpi=DPI, facecolor=PAPER, pil_kwargs={"compress_level": 1}
        )
    return output.getvalue()


def steps(step: str) -> str:
    """The y axis' meaning for a step (the English source text of a catalogue entry)."""
    return {"day": "articles a day", "week": "articles a week", "month": "articles a month"}[step]
