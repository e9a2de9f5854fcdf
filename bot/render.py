"""Answers, passages and buttons as Telegram HTML; pure, and split to fit one message."""

from __future__ import annotations

import re
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.buttons import MORE, PASSAGE
from index.i18n import _
from index.ingest.urls import is_web_url
from index.records import Answer, Citation, Hit

MESSAGE_LIMIT = 4096
CALLBACK_LIMIT = 64
ECHO_CHARS = 200
TOKEN = re.compile(r"(<[^>]*>|&#?\w+;|\s+)")
TAG_NAME = re.compile(r"</?\s*([a-zA-Z-]+)")


def text(value: str) -> str:
    """Escape article or user text for Telegram HTML."""
    return escape(value, quote=False)


def shorten(value: str, limit: int = ECHO_CHARS) -> str:
    """One line of at most `limit` characters, cut at a word with an ellipsis."""
    value = " ".join(value.split())
    if len(value) <= limit:
        return value
    return (value[:limit].rsplit(" ", 1)[0] or value[:limit]) + "…"


def link(title: str, url: str | None) -> str:
    """The title linked to its article; plain bold when there is no web address."""
    if url and is_web_url(url):
        return f'<a href="{escape(url, quote=True)}">{text(title)}</a>'
    return f"<b>{text(title)}</b>"


def byline(source: str | None, published: object) -> str:
    """'Source · 2025-08-20', or whichever part is known."""
    parts = [source or "", published.isoformat() if hasattr(published, "isoformat") else ""]
    return text(" · ".join(part for part in parts if part))


def _span(snippet: str, sentence: str) -> tuple[int, int] | None:
    """Where the sentence, or the part of it a trimmed snippet kept, lies in the snippet."""
    sentence = " ".join(sentence.split())
    at = snippet.find(sentence)
    if at >= 0:
        return at, at + len(sentence)
    # A snippet cut short ("…") may keep only the sentence's start, or only its end.
    at = snippet.find(sentence[:24])
    if at >= 0 and snippet.endswith("…") and sentence.startswith(snippet[at:-1].rstrip()):
        return at, len(snippet) - 1
    at = snippet.find(sentence[-24:])
    if at >= 0 and snippet.startswith("…") and sentence.endswith(snippet[1 : at + 24]):
        return 1, at + 24
    return None


def marked(snippet: str, sentences: list[str]) -> str:
    """The snippet as HTML, with the answer's sentences in it in bold."""
    spans = sorted(span for s in sentences if (span := _span(snippet, s)))
    html, done = "", 0
    for start, end in spans:
        if start >= done:
            html += text(snippet[done:start]) + f"<b>{text(snippet[start:end])}</b>"
            done = end
    return html + text(snippet[done:])


def citation_html(citation: Citation, sentences: list[str] | None = None) -> str:
    """'[n] linked title', the source and date, then the snippet in an expandable quote.

    The answer's `sentences` from this source are bold in the snippet.
    """
    lines = [f"[{citation.n}] {link(citation.title, citation.url)}"]
    where = byline(citation.source, citation.published)
    if where:
        lines.append(where)
    quote = marked(citation.snippet, sentences or [])
    lines.append(f"<blockquote expandable>{quote}</blockquote>")
    return "\n".join(lines)


def answer_lines(answer: Answer) -> list[str]:
    """The answering sentence, then the others in one paragraph; citation numbers after each."""
    said = [f"{text(s.text)} [{s.n}]" for s in answer.sentences]
    return [f"<b>{said[0]}</b>", " ".join(said[1:])] if said else []


def answer_html(answer: Answer, offset: int = 0) -> str:
    """The answer, then its numbered citations; paragraphs split by blank lines."""
    question = text(shorten(answer.question))
    if not answer.found:
        if offset:
            return _("No more results on “{question}”.", question=question)
        return _(
            "The archive has nothing on “{question}”. Try other words, or ask an admin "
            "to add a source that covers it.",
            question=question,
        )
    paragraphs = ["\n".join(line for line in answer_lines(answer) if line)]
    if offset:
        more = _("<b>More on “{question}”</b> (from result {n})", question=question, n=offset + 1)
        paragraphs.insert(0, more)
    paragraphs += [
        citation_html(citation, [s.text for s in answer.sentences if s.n == citation.n])
        for citation in answer.citations
    ]
    return "\n\n".join(paragraphs)


def passage_html(passage: Hit) -> str:
    """A citation's whole passage under its linked title, source and date."""
    head = link(passage.article.title, passage.article.url)
    where = byline(passage.article.source, passage.article.published)
    return "\n".join(part for part in (head, where) if part) + "\n\n" + text(passage.chunk.text)


# buttons


def answer_keyboard(answer: Answer, offset: int, k: int) -> InlineKeyboardMarkup | None:
    """One button per citation to open its passage, and 'More' when a full page came back."""
    if not answer.found:
        return None
    rows = [
        [
            InlineKeyboardButton(f"📄 {citation.n}", callback_data=PASSAGE.data(citation.chunk_id))
            for citation in answer.citations[start : start + 5]
        ]
        for start in range(0, len(answer.citations), 5)
    ]
    if len(answer.citations) >= k:
        rows.append([InlineKeyboardButton(_("More ▸"), callback_data=MORE.data(offset + k))])
    return InlineKeyboardMarkup(rows)


# splitting long replies


def units(value: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(value.encode("utf-16-le")) // 2


def _track(stack: list[tuple[str, str]], token: str) -> list[tuple[str, str]]:
    """The open tags after `token`: (name, opening tag) pairs, innermost last."""
    match = TAG_NAME.match(token) if token.startswith("<") else None
    if not match:
        return stack
    if token.startswith("</"):
        return stack[:-1] if stack and stack[-1][0] == match.group(1).lower() else stack
    return [*stack, (match.group(1).lower(), token)]


def _closers(stack: list[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def _openers(stack: list[tuple[str, str]]) -> str:
    return "".join(tag for _, tag in stack)


def _tokens(html: str, limit: int) -> list[str]:
    """Tags, entities, whitespace and words; words longer than a quarter message are cut."""
    step = max(1, limit // 4)
    return [
        token[i : i + step] if not token.startswith(("<", "&")) else token
        for token in TOKEN.split(html)
        if token
        for i in (range(0, len(token), step) if not token.startswith(("<", "&")) else (0,))
    ]


def _cut(paragraph: str, limit: int) -> list[str]:
    """Cut one overlong paragraph between tokens, closing and reopening tags around each cut."""
    pieces: list[str] = []
    stack: list[tuple[str, str]] = []
    current, filled = "", False
    for token in _tokens(paragraph, limit):
        after = _track(stack, token)
        if filled and units(current + token + _closers(after)) > limit:
            pieces.append(current + _closers(stack))
            current, filled = _openers(stack), False
        current += token
        filled = filled or not (token.isspace() or token.startswith("<"))
        stack = after
    pieces.append(current)
    return pieces


def _paragraphs(html: str) -> list[str]:
    """Split at blank lines outside any tag."""
    paragraphs: list[str] = []
    stack: list[tuple[str, str]] = []
    current = ""
    for token in TOKEN.split(html):
        if not stack and token.isspace() and "\n\n" in token:
            paragraphs.append(current)
            current = ""
            continue
        current += token
        stack = _track(stack, token)
    paragraphs.append(current)
    return paragraphs


def split_html(html: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Messages of at most `limit` units, cut at paragraphs, never inside a tag or entity."""
    messages: list[str] = []
    current = ""
    for paragraph in _paragraphs(html):
        pieces = [paragraph] if units(paragraph) <= limit else _cut(paragraph, limit)
        for piece in pieces:
            joined = f"{current}\n\n{piece}" if current else piece
            if units(joined) <= limit:
                current = joined
            else:
                messages.append(current)
                current = piece
    messages.append(current)
    return [message.strip() for message in messages if message.strip()]
