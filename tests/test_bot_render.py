"""Pure parts of the bot: HTML rendering, splitting, button data, the per-user limit."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.buttons import ASK_REMOVE_SOURCE, MAX_DIGITS, MORE, PASSAGE, REFRESH_SOURCE, REMOVE_SOURCE
from bot.context import is_admin
from bot.handlers import question_text
from bot.limits import QuestionLimit
from bot.render import answer_html, answer_keyboard, split_html, units
from index.records import Answer, Citation, Sentence
from index.settings import Settings
from testkit.telegram_wire import Rejected, parse_html


def citation(n: int, title: str = "Title", url: str | None = "https://a.example/x") -> Citation:
    return Citation(n, title, url, "Source", date(2025, 8, 20), f"snippet {n} " * 30, 0.9, n)


def plain(html: str) -> str:
    """What the user sees, with whitespace normalised."""
    return " ".join(parse_html(html).split())


def test_answer_html_escapes_and_links() -> None:
    answer = Answer(
        question="<b>?</b>",
        found=True,
        sentences=(Sentence("A & B said <no>.", 1),),
        citations=(citation(1, 'Rock & "Roll" <live>', "https://a.example/?q=1&r=2"),),
    )

    html = answer_html(answer)

    assert html.startswith("<b>A &amp; B said &lt;no&gt;. [1]</b>\n\n[1] <a href=")
    assert '<a href="https://a.example/?q=1&amp;r=2">Rock &amp; "Roll" &lt;live&gt;</a>' in html
    assert "Source · 2025-08-20" in html
    assert plain(html).startswith('A & B said <no>. [1] [1] Rock & "Roll" <live>')


def test_the_snippet_is_an_expandable_quote_with_the_answer_in_bold() -> None:
    snippet = "Officials met. The US & allies offered <intelligence> to Kyiv. Talks go on."
    answer = Answer(
        question="What did the US offer?",
        found=True,
        sentences=(
            Sentence("The US & allies offered <intelligence> to Kyiv.", 1),
            Sentence("Talks go on.", 2),
        ),
        citations=(
            Citation(1, "T", None, None, None, snippet, 0.9, 1),
            Citation(2, "U", None, None, None, "…and talks go on. Talks go on.", 0.8, 2),
        ),
    )

    html = answer_html(answer)

    assert (
        "<blockquote expandable>Officials met. <b>The US &amp; allies offered "
        "&lt;intelligence&gt; to Kyiv.</b> Talks go on.</blockquote>"
    ) in html
    assert "<blockquote expandable>…and talks go on. <b>Talks go on.</b></blockquote>" in html
    assert html.startswith(
        "<b>The US &amp; allies offered &lt;intelligence&gt; to Kyiv. [1]</b>\nTalks"
    )
    assert "Talks go on." in plain(html)


def test_a_trimmed_snippet_bolds_the_part_of_the_sentence_it_kept() -> None:
    sentence = "The council approved a record budget with many new teachers and bridges."
    answer = Answer(
        "q",
        True,
        (Sentence(sentence, 1),),
        (
            Citation(
                1,
                "T",
                None,
                None,
                None,
                "Before. The council approved a record budget with…",
                0.9,
                1,
            ),
        ),
    )

    assert "Before. <b>The council approved a record budget with</b>…" in answer_html(answer)


def test_a_long_answer_splits_into_valid_messages() -> None:
    long = "word & more " * 60
    answer = Answer(
        "q",
        True,
        (Sentence(long.strip() + ".", 1),),
        tuple(Citation(n, f"Title {n}", None, None, None, long * 3, 0.9, n) for n in range(1, 9)),
    )

    parts = split_html(answer_html(answer))

    assert len(parts) > 1
    for part in parts:
        assert units(part) <= 4096
        parse_html(part)  # Telegram would accept it: no tag cut or left open


def test_only_web_links_become_links() -> None:
    answer = Answer("q", True, (Sentence("s.", 1),), (citation(1, url="javascript:alert(1)"),))

    assert "<a " not in answer_html(answer) and "<b>Title</b>" in answer_html(answer)


def test_nothing_found_echoes_the_question_escaped_and_short() -> None:
    html = answer_html(Answer(question="<i>" + "x " * 500, found=False))

    assert html.startswith("The archive has nothing on “&lt;i&gt;x x")
    assert len(html) < 400
    assert answer_html(Answer("q", False), offset=3) == "No more results on “q”."


def test_split_keeps_paragraphs_whole_and_under_the_limit() -> None:
    paragraphs = [f"<b>{n}</b> " + "word " * 150 for n in range(30)]
    html = "\n\n".join(paragraphs)

    parts = split_html(html)

    assert len(parts) > 1
    assert all(units(part) <= 4096 for part in parts)
    assert [p for part in parts for p in part.split("\n\n")] == [p.strip() for p in paragraphs]


def test_split_cuts_an_overlong_paragraph_between_tags_and_entities() -> None:
    html = "<i>" + "tom &amp; jerry 🙂 " * 600 + "</i>\n\n<b>end</b>"

    parts = split_html(html, limit=1000)

    assert len(parts) > 5
    for part in parts:
        assert units(part) <= 1000
        parse_html(part)  # every part is well-formed Telegram HTML
        assert not re.search(r"&\w*$|<[^>]*$", part)
    assert plain(" ".join(parts)) == plain(html)


def test_split_counts_emoji_as_telegram_does() -> None:
    parts = split_html("🙂" * 3000)

    assert [units(part) for part in parts] == [4096, 1904]


def test_fake_telegram_parser_rejects_what_telegram_rejects() -> None:
    for bad in ("<script>x</script>", "<b>x", "x</b>", "a < b", "a & b", "<b><i>x</b></i>"):
        with pytest.raises(Rejected):
            parse_html(bad)
    assert parse_html('<a href="https://x">a &lt; b &amp; &quot;c&quot;</a>') == 'a < b & "c"'


def test_callback_data_fits_64_bytes_and_parses_back() -> None:
    answer = Answer("q", True, (Sentence("s.", 1),), tuple(citation(n) for n in range(1, 8)))

    keyboard = answer_keyboard(answer, offset=2**40, k=7)

    assert keyboard is not None
    data = [button.callback_data for row in keyboard.inline_keyboard for button in row]
    assert data[-1] == f"more:{2**40 + 7}"
    assert all(isinstance(d, str) and len(d.encode()) <= 64 for d in data)
    assert len(PASSAGE.data(10**MAX_DIGITS - 1).encode()) <= 64
    assert PASSAGE.parse(PASSAGE.data(42)) == 42 and MORE.parse("more:9") == 9
    assert PASSAGE.parse("more:9") is None and MORE.parse("passage:42") is None
    for junk in (None, "", "more:", "more:-1", "passage:x", "v0:3", "more:" + "9" * 19):
        assert MORE.parse(junk) is None and PASSAGE.parse(junk) is None
    for kind in (MORE, PASSAGE, REFRESH_SOURCE, ASK_REMOVE_SOURCE, REMOVE_SOURCE):
        assert kind.pattern.match(kind.data(7)) and kind.parse(kind.data(7)) == 7


def test_no_more_button_when_the_page_is_not_full() -> None:
    answer = Answer("q", True, (Sentence("s.", 1),), (citation(1), citation(2)))

    keyboard = answer_keyboard(answer, offset=0, k=3)

    assert keyboard is not None
    assert [b.text for row in keyboard.inline_keyboard for b in row] == ["📄 1", "📄 2"]
    assert answer_keyboard(Answer("q", False), 0, 3) is None


def test_question_limit_is_a_sliding_minute() -> None:
    now = [0.0]
    limit = QuestionLimit(2, clock=lambda: now[0])

    assert [limit.wait_seconds(7), limit.wait_seconds(7)] == [0, 0]
    now[0] = 10.5
    assert limit.wait_seconds(7) == 50
    assert limit.wait_seconds(8) == 0
    now[0] = 60.0
    assert [limit.wait_seconds(7), limit.wait_seconds(7), limit.wait_seconds(7)] == [0, 0, 60]


def test_question_text_drops_the_command_and_the_mention() -> None:
    assert question_text("/ask@Newsbot_Bot  what now?", "newsbot_bot") == "what now?"
    assert question_text("@NEWSBOT_BOT what now?", "newsbot_bot") == "what now?"
    assert question_text("mail @newsbot_botany", "newsbot_bot") == "mail @newsbot_botany"


def test_admins_are_numeric_ids() -> None:
    settings = Settings(_env_file=None, admin_ids="5, 7")  # type: ignore[call-arg]

    assert is_admin(settings, 7) and not is_admin(settings, 6) and not is_admin(settings, None)
