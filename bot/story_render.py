"""Timelines, chart captions and inline results as Telegram HTML; pure."""

from __future__ import annotations

from telegram import InlineQueryResultArticle, InputTextMessageContent, LinkPreviewOptions
from telegram.constants import ParseMode

from bot.render import answer_lines, citation_html, link, shorten, split_html, text
from index.i18n import _, _n
from index.ingest.urls import is_web_url
from index.records import Answer, Citation
from index.stories.timeline import Timeline
from index.stories.trend import Trend

INLINE_SOURCES = 4  # results after the answer: Telegram shows five without scrolling
CAPTION_TITLE_CHARS = 80


def timeline_html(timeline: Timeline) -> str:
    """One dated line per event, oldest first, then the numbered sources; or why there is none."""
    topic = text(shorten(timeline.topic))
    if not timeline.events:
        return _(
            "The archive has no dated events on “{topic}”. Try other words, or /trend to see "
            "when it was covered.",
            topic=topic,
        )
    if timeline.stories < 2 or len(timeline.events) < 2:
        head = _("Only one story so far on “{topic}”:", topic=topic)
    else:
        head = _("<b>How “{topic}” unfolded</b>", topic=topic)
    lines = [f"<b>{e.day.isoformat()}</b> — {text(e.text)} [{e.n}]" for e in timeline.events]
    sources = [
        citation_html(c, [e.text for e in timeline.events if e.n == c.n])
        for c in timeline.citations
    ]
    return "\n\n".join([head + "\n" + "\n".join(lines), *sources])


def period_words(trend: Trend) -> str:
    """'the last 90 days', or the span the archive covers for 'all'."""
    if trend.period == "all":
        if not trend.points:
            return _("all time")
        first, last = trend.points[0].start, trend.points[-1].start
        return _("{first} to {last}", first=first.isoformat(), last=last.isoformat())
    return _("the last {period}", period=trend.period)


def trend_caption(trend: Trend) -> str:
    """'topic: N articles over the period; busiest …' for the chart's photo."""
    topic = text(shorten(trend.topic, CAPTION_TITLE_CHARS))
    count = _n("{n} article", "{n} articles", trend.total)
    lines = [f"<b>{topic}</b>: {count}, {text(period_words(trend))}"]
    busiest = trend.busiest[:1]
    if busiest:
        top = busiest[0]
        lines.append(
            _(
                "Busiest: {day} ({n}), “{headline}”",
                day=top.start.isoformat(),
                n=top.count,
                headline=text(shorten(top.headline, CAPTION_TITLE_CHARS)),
            )
        )
    return "\n".join(lines)


def trend_text(trend: Trend) -> str:
    """What is said instead of a chart with under two articles."""
    topic = text(shorten(trend.topic))
    if trend.total == 1:
        headline = next(p.headline for p in trend.points if p.count)
        return _(
            "Only one story so far on “{topic}”: {headline}", topic=topic, headline=text(headline)
        )
    if trend.outside:
        return _n(
            "Nothing on “{topic}” in {period}; {n} article before that: try /trend {plain} all",
            "Nothing on “{topic}” in {period}; {n} articles before that: try /trend {plain} all",
            trend.outside,
            topic=topic,
            period=text(period_words(trend)),
            plain=text(shorten(trend.topic)),
        )
    return _("The archive has nothing on “{topic}”.", topic=topic)


def _content(html: str) -> InputTextMessageContent:
    """HTML sent into the chat, without a link preview."""
    return InputTextMessageContent(
        split_html(html)[0],
        parse_mode=ParseMode.HTML,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )


def inline_results(answer: Answer) -> list[InlineQueryResultArticle]:
    """The answer first, then its top sources, each ready to send into the chat."""
    if not answer.found or not answer.sentences:
        return []
    said = answer_lines(answer)
    sources = "\n".join(f"[{c.n}] {link(c.title, c.url)}" for c in answer.citations)
    question = text(shorten(answer.question))
    body = "\n".join(line for line in [f"❓ <i>{question}</i>", *said] if line)
    results = [
        InlineQueryResultArticle(
            id="answer",
            title=shorten(answer.sentences[0].text, 100),
            description=_n(
                "Answer with {n} source", "Answer with {n} sources", len(answer.citations)
            ),
            input_message_content=_content(f"{body}\n\n{sources}"),
        )
    ]
    results += [source_result(c) for c in answer.citations[:INLINE_SOURCES]]
    return results


def source_result(citation: Citation) -> InlineQueryResultArticle:
    """One source as a result: its title, its snippet, its link."""
    return InlineQueryResultArticle(
        id=f"source-{citation.n}",
        title=shorten(f"[{citation.n}] {citation.title}", 100),
        description=shorten(citation.snippet, 120),
        url=citation.url if citation.url and is_web_url(citation.url) else None,
        input_message_content=_content(citation_html(citation)),
    )
