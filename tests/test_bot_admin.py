"""Admin commands through the real bot, a fake Bot API server and the test web on 127.0.0.1."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_sources import BROKEN, snapshot
from web_server import FERRY, FROST, HELMETS, HONEY, TRAINS, WebServer, pdf_bytes, web_settings

from bot.app import build_application
from index.archive import Archive
from index.embed.sbert import Embedder
from index.settings import Settings
from testkit.running import RunningBot
from testkit.telegram import FakeTelegram, Json, Sent

ADMIN_ID = 4242
users = itertools.count(5000)
ADMINS_ONLY = "Sorry, only the bot's admins can do that."


class AdminTelegram(FakeTelegram):
    """The fake server, plus users who send documents."""

    def send_document(self, name: str, data: bytes, user_id: int, size: int | None = None) -> Json:
        """A user sends a file called `name` in a private chat; the bot may download it."""
        file_id = f"doc{len(self.files) + 1}"
        self.files[file_id] = (f"documents/file_{len(self.files) + 1}", data)
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": name,
            "file_size": len(data) if size is None else size,
        }
        chat = {"id": user_id, "type": "private", "first_name": "Ann"}
        user = {"id": user_id, "is_bot": False, "first_name": "Ann"}
        message: Json = {"chat": chat, "from": user, "date": int(time.time()), "document": document}
        with self._cond:
            message["message_id"] = next(self._message_ids)
            self._messages[(user_id, message["message_id"])] = message
            self._push({"message": message})
        return message

    def sent_with(self, fragment: str) -> Sent:
        """The first message the bot sent that contains `fragment`, once there is one."""
        self.wait(lambda: any(fragment in s.text for s in self.sent))
        with self._cond:
            return next(s for s in self.sent if fragment in s.text)


@dataclass
class World:
    """The fake Telegram, the test web, the archive and the running bot."""

    fake: AdminTelegram
    web: WebServer
    archive: Archive

    def say(self, text: str, user_id: int = ADMIN_ID) -> Sent:
        """A user writes in a private chat; the bot's (last) reply."""
        return self.fake.replies(self.fake.send(text, user_id))[-1]

    def upload(self, name: str, data: bytes, size: int | None = None) -> Sent:
        """The admin sends a document; the bot's reply."""
        return self.fake.replies(self.fake.send_document(name, data, ADMIN_ID, size))[-1]


def admin_settings(fake: FakeTelegram, tmp: Path, **extra: object) -> Settings:
    """The fake server, the test web allowed, one admin."""
    return web_settings(
        tmp,
        telegram_bot_token=fake.token,
        telegram_api_url=fake.api_url,
        telegram_file_url=fake.file_url,
        admin_ids=frozenset({ADMIN_ID}),
        **extra,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[World]:
    """One bot over an empty archive for the module; sources are added by the tests."""
    with AdminTelegram() as fake, WebServer() as web:
        settings = admin_settings(fake, tmp_path_factory.mktemp("admin"))
        archive = Archive(settings, embedder=embedder)
        with RunningBot(build_application(settings, archive)):
            yield World(fake, web, archive)
        archive.close()


@pytest.fixture
def admin(world: World) -> Iterator[World]:
    """The world; afterwards, nothing the bot sent was refused and the web is back up."""
    yield world
    world.web.down.clear()
    assert world.fake.rejected == []


def eventually(check: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait until check() holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def indexed(archive: Archive) -> bool:
    """Whether every passage in SQLite has its vector."""
    return len(archive.vectors()) == archive.counts().chunks


def test_non_admins_are_refused(admin: World) -> None:
    user = next(users)
    before = snapshot(admin.archive)

    for command in ("/addsource " + admin.web.url("/rss.xml"), "/sources", "/removesource 1"):
        assert admin.say(command, user).text == ADMINS_ONLY
    assert admin.say("/refresh", user).text == ADMINS_ONLY
    upload = admin.fake.send_document("honey.md", HONEY.text.encode(), user)
    assert admin.fake.replies(upload)[0].text == ADMINS_ONLY
    assert snapshot(admin.archive) == before
    help_text = admin.say("/help", user).text
    assert "/addsource" not in help_text
    assert "/addsource — Add an RSS/Atom feed" in admin.say("/help").text


def test_add_a_feed_list_it_and_ask(admin: World) -> None:
    added = admin.say("/addsource " + admin.web.url("/rss.xml"))
    listed = admin.say("/sources")
    answer = admin.say("How do growers protect their orchards from frost?", next(users))

    assert "Added source #" in added.text and "(feed): Harbour Gazette" in added.text
    assert "2 article(s) added" in added.text
    assert "feed · 2 articles · fetched 20" in listed.text
    assert "Harbour Gazette" in listed.text and "last error" not in listed.text
    assert admin.web.url("/rss.xml") in listed.text
    assert ("🔄 #1", "src:refresh:1") in listed.buttons
    assert FROST.title in answer.text


def test_broken_sources_get_a_clear_reply_and_change_nothing(admin: World) -> None:
    before = snapshot(admin.archive)

    for path, reason in BROKEN.items():
        reply = admin.say("/addsource " + admin.web.url(path))
        assert reply.text.startswith("Could not add that source: "), reply.text
        assert reason in reply.text, (path, reply.text)
        assert snapshot(admin.archive) == before, path
    assert "Send it like this" in admin.say("/addsource").text
    assert "Send it like this" in admin.say("/removesource first").text
    assert admin.say("/removesource 999").text == "There is no source #999. /sources lists them."
    assert snapshot(admin.archive) == before


def test_a_removed_source_is_no_longer_cited(admin: World) -> None:
    added = admin.say("/addsource " + admin.web.url("/atom.xml"))
    number = added.text.split("#", 1)[1].split(" ", 1)[0]
    question = "Is there a night train between Tallinn and Krakow?"
    assert TRAINS.title in admin.say(question, next(users)).text

    removed = admin.say(f"/removesource {number}")

    assert removed.text.startswith(f"Removed source #{number} (Northern Review) and its 2 article")
    assert TRAINS.title not in admin.say(question, next(users)).text
    assert f"#{number} " not in admin.say("/sources").text


def test_refresh_reports_and_records_a_failing_source(admin: World) -> None:
    added = admin.say("/addsource " + admin.web.url("/live.xml"))
    number = added.text.split("#", 1)[1].split(" ", 1)[0]
    admin.web.down.add("/live.xml")

    failed = admin.say(f"/refresh {number}")
    listed = admin.say("/sources")
    admin.web.down.clear()
    admin.web.publish(HONEY)
    everything = admin.say("/refresh")

    assert "failed" in failed.text and "HTTP 503" in failed.text
    assert "⚠️ last error: " in listed.text and "HTTP 503" in listed.text
    assert "Live desk: 1 article(s) added" in everything.text
    assert HONEY.title in admin.say("How big was the heather honey harvest?", next(users)).text


def test_documents_from_an_admin_are_imported(admin: World) -> None:
    markdown = f"# {HELMETS.title}\n\n{HELMETS.text}".encode()
    text = admin.upload("../../etc/cron.d/helmets.md", markdown)
    pdf = admin.upload("ferry.pdf", pdf_bytes(FERRY))
    before = snapshot(admin.archive)
    again = admin.upload("copy.md", markdown)
    wrong = admin.upload("setup.exe", b"MZ\x00\x00")
    huge = admin.upload("big.txt", b"", size=25_000_000)
    broken = admin.upload("bad.jsonl", b"{not json\n")

    assert text.text.startswith("Imported helmets.md as source #")
    assert text.text.endswith("1 article(s) added (1 passages).")
    assert pdf.text.startswith("Imported ferry.pdf as source #") and "1 article(s)" in pdf.text
    assert "copy.md was already imported as source #" in again.text
    assert wrong.text.startswith("I can import .htm, .html, .json") and "setup.exe" in wrong.text
    assert huge.text == "big.txt is larger than 20 MB, the most I can fetch."
    assert broken.text.startswith("Could not import bad.jsonl: Nothing in bad.jsonl could be")
    assert snapshot(admin.archive) == before
    assert "helmets.md (uploaded file)" in admin.say("/sources").text
    cited = admin.say("Which bicycle helmets cracked in the drop test?", next(users)).text
    assert HELMETS.title in cited


def test_buttons_refresh_and_remove_for_admins_only(admin: World) -> None:
    added = admin.say("/addsource " + admin.web.url("/moscow.html"))
    number = int(added.text.split("#", 1)[1].split(" ", 1)[0])
    listed = admin.say("/sources")
    before = snapshot(admin.archive)

    admin.fake.press(listed, f"src:remove:{number}", next(users))
    admin.fake.wait(lambda: ADMINS_ONLY in [a.get("text") for a in admin.fake.callback_answers])
    assert snapshot(admin.archive) == before
    admin.fake.press(listed, f"src:ask:{number}", ADMIN_ID)
    confirm = admin.fake.sent_with(f"Remove source #{number} and all its articles?")
    admin.fake.press(confirm, f"src:remove:{number}", ADMIN_ID)
    admin.fake.sent_with(f"Removed source #{number}")
    assert admin.archive.store.get_source(number) is None


def test_scheduled_refresh_picks_up_a_new_item(tmp_path: Path, embedder: Embedder) -> None:
    with AdminTelegram() as fake, WebServer() as web:
        settings = admin_settings(fake, tmp_path, refresh_minutes=0.01)
        archive = Archive(settings, embedder=embedder)
        world = World(fake, web, archive)
        application = build_application(settings, archive)
        with RunningBot(application):
            assert "1 article(s) added" in world.say("/addsource " + web.url("/live.xml")).text
            web.publish(HONEY)
            # Stored, then embedded: wait until the new passages are in the index too.
            eventually(lambda: archive.counts().articles == 2 and indexed(archive))
            answer = world.say("How big was the heather honey harvest?", next(users))
        archive.close()
        data = application.bot_data
        # At shutdown the application released what it built: the executor and the fetcher.
        with pytest.raises(RuntimeError, match="after shutdown"):
            data.executor.submit(int)
        with pytest.raises(RuntimeError, match="closed"):
            data.sources.fetcher.fetch(web.url("/live.xml"))
    assert HONEY.title in answer.text
    assert data.sources.fetcher is data.fetcher
