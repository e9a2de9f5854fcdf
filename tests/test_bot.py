"""The real bot, polling a fake Bot API server on 127.0.0.1, over a real archive."""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import SEED_QUESTION, SEED_TITLE
from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.app import ARCHIVE_THREADS, HANDLER_MODULES, build_application, run
from bot.context import Command, Context, is_admin, run_archive
from index.archive import Archive
from index.embed.sbert import Embedder
from index.records import ArticleDraft
from index.settings import Settings
from testkit.running import RunningBot
from testkit.telegram import FakeTelegram, Sent

ADMIN_ID = 1000
FESTIVAL_QUESTION = "Who won the cheese rolling race at Cooper's Hill?"
PIE_QUESTION = "Who won the pie-eating contest in Wigan?"
PIE_TITLE = 'Tom & Jerry <script>alert("x")</script> win the pie-eating contest'
users = itertools.count(2000)
groups = itertools.count(-1001000000001, -1)


def festival_drafts() -> list[ArticleDraft]:
    """Twelve reports on one event, so answers run to several pages and past 4,096 characters."""
    drafts = []
    for n in range(1, 13):
        text = (
            f"Runner number {n} won heat {n} of the cheese rolling race at Cooper's Hill near "
            f"Gloucester, chasing a nine-pound Double Gloucester cheese down the steep slope. "
            f"About {3000 + 137 * n} spectators watched heat {n} of the cheese rolling race. "
            f"Paramedics treated {n + 2} competitors for sprains after the cheese rolling. "
            f"The winner of heat {n} took the cheese home, as is the tradition at Cooper's Hill."
        )
        drafts.append(
            ArticleDraft(
                title=f"Cheese rolling at Cooper's Hill, heat {n}: a long report on who won the "
                "race down the hill, the spectators, the injuries and the traditions behind it",
                text=text,
                url=f"https://news.example/gloucester/cheese-rolling-coopers-hill-heat-{n}-report",
                source="Gloucester Gazette",
                published=date(2025, 5, n),
            )
        )
    return drafts


PIE = ArticleDraft(
    title=PIE_TITLE,
    text='The annual pie-eating contest in Wigan was won by "Tom & Jerry", a pair of brothers '
    "who ate <b>fourteen</b> meat pies in three minutes. The Wigan pie-eating contest > any other.",
    url="https://news.example/pies?town=wigan&year=2025",
    source="Wigan <Post>",
    published=date(2025, 6, 1),
)


async def secret(update: Update, context: Context) -> None:
    """An admin command of a test module, registered the way bot/admin.py will be."""
    user = update.effective_user
    allowed = is_admin(context.bot_data.settings, user.id if user else None)
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        "secret done" if allowed else "admins only", do_quote=True
    )


async def thread(update: Update, context: Context) -> None:
    """Names the thread an archive call runs on."""
    name = await run_archive(context, lambda: threading.current_thread().name)
    assert update.effective_message is not None
    await update.effective_message.reply_text(name, do_quote=True)


def register_test_commands(application: Application) -> None:  # type: ignore[type-arg]
    """/secret for admins, /thread for anyone."""
    application.add_handler(CommandHandler("secret", secret))
    application.add_handler(CommandHandler("thread", thread))


ADMIN_MODULE = SimpleNamespace(
    COMMANDS=(),
    ADMIN_COMMANDS=(Command("secret", "A test admin command"),),
    register=register_test_commands,
)


def bot_settings(fake: FakeTelegram, data_dir: Path, **extra: object) -> Settings:
    """Settings pointing the bot at the fake server and the archive in data_dir."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        telegram_api_url=fake.api_url,
        telegram_file_url=fake.file_url,
        admin_ids=frozenset({ADMIN_ID}),
        **({"telegram_bot_token": fake.token, "questions_per_minute": 3, "top_k": 3} | extra),
    )


@dataclass
class World:
    """The fake server, the archive and the bot polling it."""

    fake: FakeTelegram
    settings: Settings
    archive: Archive
    running: RunningBot

    def restart(self) -> None:
        """Stop the bot and start a new Application, as after a deploy."""
        self.running.__exit__(None, None, None)
        modules = (*HANDLER_MODULES, ADMIN_MODULE)
        self.running = RunningBot(build_application(self.settings, self.archive, modules))
        self.running.__enter__()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[World]:
    """One archive (seeds, a festival, a pie contest) and one running bot for the whole module."""
    with FakeTelegram() as fake:
        settings = bot_settings(fake, tmp_path_factory.mktemp("bot") / "data")
        archive = Archive(settings, embedder=embedder)
        archive.seed()
        archive.add_drafts([*festival_drafts(), PIE])
        modules = (*HANDLER_MODULES, ADMIN_MODULE)
        running = RunningBot(build_application(settings, archive, modules))
        world = World(fake, settings, archive, running.__enter__())
        yield world
        world.running.__exit__(None, None, None)
        archive.close()


@pytest.fixture
def fake(world: World) -> Iterator[FakeTelegram]:
    """The fake server; after each test, nothing the bot sent was refused by it."""
    yield world.fake
    assert world.fake.rejected == []


def ask(fake: FakeTelegram, text: str, **kwargs: object) -> Sent:
    """A new user asks in a private chat; the bot's single reply."""
    question = fake.send(text, next(users), **kwargs)  # type: ignore[arg-type]
    (reply,) = fake.replies(question)
    return reply


def test_private_question_gets_a_cited_answer(fake: FakeTelegram) -> None:
    user = next(users)
    question = fake.send(SEED_QUESTION, user)

    (reply,) = fake.replies(question)

    assert SEED_TITLE in reply.text
    assert "Financial Times" in reply.text
    assert "intelligence" in reply.text.lower()
    assert "[1]" in reply.text
    assert reply.params["link_preview_options"] == {"is_disabled": True}
    assert reply.params["parse_mode"] == "HTML"
    assert reply.buttons[0][0] == "📄 1"
    assert all(len(data.encode()) <= 64 for _, data in reply.buttons)
    calls = [(method, params.get("chat_id")) for method, params in fake.calls]
    assert (user, "typing") in fake.actions
    assert calls.index(("sendChatAction", user)) < calls.index(("sendMessage", user))


def test_start_help_and_unknown_commands(fake: FakeTelegram) -> None:
    assert "/help" in ask(fake, "/start").text
    user_help = ask(fake, "/help").text
    assert "/ask" in user_help and "/secret" not in user_help
    admin_help = fake.replies(fake.send("/help", ADMIN_ID))[0].text
    assert "/ask" in admin_help and "/secret — A test admin command" in admin_help
    assert ask(fake, "/frobnicate now").text == "I don't know /frobnicate. Try /help."
    assert ask(fake, "/secret").text == "admins only"
    assert fake.replies(fake.send("/secret", ADMIN_ID))[0].text == "secret done"


def test_commands_are_registered_with_admin_ones_in_admin_chats(fake: FakeTelegram) -> None:
    everyone = [c["command"] for c in fake.commands["default"]]
    admins = [c["command"] for c in fake.commands[f"chat:{ADMIN_ID}"]]

    theirs = [c.name for module in HANDLER_MODULES for c in module.ADMIN_COMMANDS]
    alerts = ["subscribe", "subscriptions", "unsubscribe", "digest"]
    assert everyone == ["ask", "help", "start", *alerts, "timeline", "trend", "language"]
    assert admins == [*everyone, *theirs, "secret"]
    # Users whose Telegram speaks Ukrainian or Russian get the menu in their language.
    ukrainian = {c["command"]: c["description"] for c in fake.commands["default/uk"]}
    assert (
        list(ukrainian) == everyone
        and ukrainian["ask"] != fake.commands["default"][0]["description"]
    )
    assert [c["command"] for c in fake.commands[f"chat:{ADMIN_ID}/ru"]] == admins


def test_ask_command_in_a_private_chat(fake: FakeTelegram) -> None:
    assert SEED_TITLE in ask(fake, f"/ask {SEED_QUESTION}").text
    assert "/ask What did the US offer Ukraine?" in ask(fake, "/ask").text


def test_group_conversation(fake: FakeTelegram) -> None:
    group, user, other = next(groups), next(users), next(users)
    chatter = fake.send("Nice weather today, isn't it?", user, group)
    not_ours = fake.send(f"/ask@other_bot {SEED_QUESTION}", user, group)
    unsuffixed_unknown = fake.send("/frobnicate", other, group, reply_to=chatter)
    reply_to_human = fake.send(SEED_QUESTION, other, group, reply_to=chatter)
    by_command = fake.send(f"/ask@{fake.username} {SEED_QUESTION}", user, group)
    (first,) = fake.replies(by_command)
    by_mention = fake.send(f"@{fake.username} what did the US offer Ukraine?", other, group)
    (second,) = fake.replies(by_mention)
    follow_up = fake.send("And what about air defense for Ukraine?", user, group, first.message)
    (third,) = fake.replies(follow_up)
    unknown = fake.send(f"/frobnicate@{fake.username}", user, group)
    (hint,) = fake.replies(unknown)

    assert SEED_TITLE in first.text and SEED_TITLE in second.text and SEED_TITLE in third.text
    assert third.text.startswith("Taking it as: Air defense for Ukraine?")
    assert "air defense" in third.text.split("\n", 1)[1].lower()
    assert "Try /help" in hint.text
    for ignored in (chatter, not_ours, unsuffixed_unknown, reply_to_human):
        assert fake.replies_now(ignored) == []
    assert len(fake.in_chat(group)) == 4


def test_user_and_article_text_is_escaped(fake: FakeTelegram) -> None:
    odd = "<b>&\"' chocolate cake recipe?"
    nothing = ask(fake, odd)
    pies = ask(fake, PIE_QUESTION)

    assert f"“{odd}”" in nothing.text
    assert "&lt;b&gt;&amp;\"' chocolate" in nothing.html
    assert PIE_TITLE in pies.text and "Wigan <Post>" in pies.text
    assert '&lt;script&gt;alert("x")&lt;/script&gt;' in pies.html
    assert 'href="https://news.example/pies?town=wigan&amp;year=2025"' in pies.html


def test_empty_huge_and_emoji_questions(fake: FakeTelegram) -> None:
    assert "Ask a question in words" in ask(fake, "  ?! ").text
    huge = ask(fake, ("What did the US offer Ukraine? " * 400)[:10_000])
    assert SEED_TITLE in huge.text
    assert "…" in huge.text and len(huge.text) < 4096
    assert SEED_TITLE in ask(fake, "🇺🇦 What did the US offer Ukraine? 🤝").text
    assert ask(fake, "🙂 🙃").text.startswith("The archive has nothing on")
    assert SEED_TITLE in ask(fake, "🇺🇸🤝🇺🇦").text  # the default model reads flags


def test_more_and_passage_buttons(fake: FakeTelegram, world: World) -> None:
    user = next(users)
    question = fake.send(FESTIVAL_QUESTION, user)
    (answer,) = fake.replies(question)
    buttons = dict(answer.buttons)

    fake.press(answer, buttons["📄 1"], user)
    (passage,) = fake.replies(answer.message)
    fake.press(answer, buttons["More ▸"], user)
    _, page_two = fake.replies(question, count=2)

    assert answer.text.count("Gloucester Gazette") == 3
    assert "Runner number" in passage.text and "Gloucester Gazette · 2025-05-" in passage.text
    assert page_two.text.startswith(f"More on “{FESTIVAL_QUESTION}” (from result 4)")
    first_titles = {line for line in answer.text.splitlines() if line.startswith("[")}
    more_titles = {line for line in page_two.text.splitlines() if line.startswith("[")}
    assert len(more_titles) == 3 and not first_titles & more_titles
    assert dict(page_two.buttons)["More ▸"] == "more:6"
    assert len(fake.callback_answers) >= 2


def test_buttons_from_before_a_restart(fake: FakeTelegram, world: World) -> None:
    user = next(users)
    question = fake.send(FESTIVAL_QUESTION, user)
    (answer,) = fake.replies(question)

    world.restart()
    fake.press(answer, dict(answer.buttons)["📄 2"], user)
    (passage,) = fake.replies(answer.message)
    fake.press(answer, "more:3", user)
    _, more = fake.replies(question, count=2)
    orphan = Sent({k: v for k, v in answer.message.items() if k != "reply_to_message"}, "", {})
    expired = [fake.press(orphan, "more:3", user), fake.press(answer, "v0:gone", user)]
    missing = fake.press(answer, "passage:987654321", user)
    pressed = {missing, *expired}
    fake.wait(lambda: pressed <= {a["callback_query_id"] for a in fake.callback_answers})

    assert "Runner number" in passage.text
    assert more.text.startswith("More on")
    answers = {a["callback_query_id"]: a.get("text") for a in fake.callback_answers}
    assert answers[missing] == "That passage is no longer in the archive."
    assert all(answers[query] == "This button has expired: please ask again." for query in expired)


def test_a_follow_up_is_read_with_the_chats_last_question(fake: FakeTelegram) -> None:
    user, stranger = next(users), next(users)
    (first,) = fake.replies(fake.send(SEED_QUESTION, user))
    follow_up = fake.send("and France?", user)
    (second,) = fake.replies(follow_up)
    (elsewhere,) = fake.replies(fake.send("and France?", stranger))
    fake.press(second, "more:3", user)  # as "More ▸" would, had there been more results
    _, more = fake.replies(follow_up, count=2)

    assert SEED_TITLE in first.text and not first.text.startswith("Taking it as")
    assert second.text.startswith("Taking it as: What did France offer Ukraine?\n")
    assert second.html.startswith("<i>Taking it as: What did France offer Ukraine?</i>")
    assert "“What did France offer Ukraine?”" in more.text
    assert "Taking it as" not in elsewhere.text and "“and France?”" in elsewhere.text


def test_ten_users_at_once(fake: FakeTelegram) -> None:
    askers = [next(users) for _ in range(10)]
    held = fake.hold("sendMessage", askers[0])
    with fake.together():
        questions = [fake.send(SEED_QUESTION, user) for user in askers]

    # The first asker's answer is stuck in the server: the others are answered meanwhile.
    others = [fake.replies(question)[0] for question in questions[1:]]
    held.set()
    (first,) = fake.replies(questions[0])

    assert all(SEED_TITLE in reply.text for reply in [first, *others])


def test_a_429_is_retried(fake: FakeTelegram) -> None:
    user = next(users)
    fake.fail_next("sendMessage", user, 429, "Too Many Requests: retry after 1", retry_after=1)

    (reply,) = fake.replies(fake.send(SEED_QUESTION, user))

    assert SEED_TITLE in reply.text
    sends = [params for method, params in fake.calls if method == "sendMessage"]
    assert sum(1 for params in sends if params["chat_id"] == user) == 2


def test_per_user_limit_answers_politely(fake: FakeTelegram) -> None:
    user = next(users)
    with fake.together():
        questions = [fake.send(SEED_QUESTION, user) for _ in range(4)]

    replies = [fake.replies(question)[0].text for question in questions]

    assert sum(SEED_TITLE in text for text in replies) == 3
    (refusal,) = [text for text in replies if SEED_TITLE not in text]
    assert refusal.startswith("You have asked 3 questions in the last minute")
    assert "Please ask again in" in refusal


def test_errors_are_logged_apologised_for_and_never_log_the_token(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeTelegram() as fake:
        settings = bot_settings(fake, world.settings.data_dir)
        user, unlucky = next(users), next(users)
        fake.fail_next("sendMessage", unlucky, 400, "Bad Request: chat not found")
        with RunningBot(build_application(settings, world.archive)):
            (answer,) = fake.replies(fake.send(SEED_QUESTION, user))
            (apology,) = fake.replies(fake.send(SEED_QUESTION, unlucky))

    assert SEED_TITLE in answer.text
    assert apology.text == "Sorry, something went wrong there. Please try again in a moment."
    failed = [r for r in caplog.records if r.name == "bot.handlers" and r.levelname == "ERROR"]
    assert failed and failed[0].exc_info
    assert "Traceback" in caplog.text and "chat not found" in caplog.text.lower()
    assert any("Set Bot API URL" in r.getMessage() for r in caplog.records)
    assert any("`sendMessage`" in r.getMessage() for r in caplog.records)
    secret = fake.token.split(":", 1)[1]
    assert secret not in caplog.text
    assert not any(secret in r.getMessage() for r in caplog.records)


def test_long_replies_are_split_on_paragraphs(world: World, embedder: Embedder) -> None:
    with FakeTelegram() as fake:
        settings = bot_settings(fake, world.settings.data_dir, top_k=20)
        with RunningBot(build_application(settings, world.archive)):
            question = fake.send(FESTIVAL_QUESTION, next(users))
            fake.wait(lambda: any(s.buttons for s in fake.replies_now(question)))
        parts = fake.replies_now(question)

    assert fake.rejected == []
    assert len(parts) >= 2
    assert all(len(part.text) <= 4096 for part in parts)
    assert [bool(part.buttons) for part in parts] == [False] * (len(parts) - 1) + [True]
    whole = "\n\n".join(part.text for part in parts)
    numbers = [line.split("]")[0] + "]" for line in whole.splitlines() if line.startswith("[")]
    assert len(numbers) >= 8
    assert numbers == [f"[{n}]" for n in range(1, len(numbers) + 1)]
    for part in parts[1:]:
        assert part.text.startswith("[")


def test_a_token_telegram_refuses_stops_with_a_hint(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeTelegram() as fake:
        settings = bot_settings(fake, world.settings.data_dir, telegram_bot_token="1:wrong")
        try:
            status = run(build_application(settings, world.archive))
        finally:
            asyncio.set_event_loop(None)

    assert status == 1
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in capsys.readouterr().err
    assert [method for method, _ in fake.calls] == []


def test_archive_calls_run_on_the_applications_bounded_executor(fake: FakeTelegram) -> None:
    names = {fake.replies(fake.send("/thread", next(users)))[0].text for _ in range(8)}

    assert names and all(name.startswith("archive_") for name in names)
    assert len(names) <= ARCHIVE_THREADS
