"""A real HTTP server on 127.0.0.1, in a thread: feeds, article pages and every broken case."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from index.settings import Settings

NAV = (
    '<header><nav><a href="/">Home</a> | <a href="/world">World</a> | <a href="/sport">Sport</a>'
    " | <a>Subscribe now for 1 euro</a></nav></header>"
)
FOOTER = (
    "<footer><p>Cookie policy · Terms of use · Contact the newsroom · "
    "© 2026 Harbour Gazette Media Group. All rights reserved.</p></footer>"
)


@dataclass(frozen=True)
class Story:
    """An article the server publishes, in a feed, on a page or both."""

    slug: str
    title: str
    paragraphs: tuple[str, ...]
    published: str = "Mon, 02 Nov 2026 09:30:00 GMT"

    @property
    def text(self) -> str:
        """The body as plain text."""
        return "\n\n".join(self.paragraphs)


SOLAR = Story(
    "solar",
    "Floating solar farm opens on the Vennmark reservoir",
    (
        "The largest floating solar farm in the north of the country began feeding power into "
        "the grid on Monday. Forty thousand panels now cover a third of the Vennmark reservoir, "
        "anchored to the lake bed with steel cables that let the platform rise and fall with "
        "the water level.",
        "The operator, Vennmark Energi, said the farm will produce about 52 gigawatt hours a year, "
        "enough for fourteen thousand homes. Cooling by the water below raises the panels' "
        "output by around eight percent compared with panels on land, the company said.",
        "Anglers had opposed the project, fearing that shade would harm the pike population. The "
        "regional environment agency will monitor oxygen levels and fish stocks for five years.",
    ),
)
FROST = Story(
    "frost",
    "Orchard growers fight late frost with wind machines",
    (
        "Apple and cherry growers in the Saale valley ran giant wind machines through the night "
        "after temperatures fell to minus four degrees in the middle of the blossom season. The "
        "machines pull warmer air from twenty metres up down into the orchards.",
        "Growers said the fans saved most of the cherry blossom, but some apple orchards on lower "
        "ground lost up to half of their flowers. Several farms also sprayed water on the trees, "
        "because freezing water releases heat that protects the buds inside a coat of ice.",
        "The growers' association has asked the state government for help with the cost of the "
        "machines, which run on diesel and cost about forty thousand euros each.",
    ),
)
TRAINS = Story(
    "night-trains",
    "Night trains return between Tallinn and Krakow",
    (
        "A night train will link Tallinn and Krakow again from December, for the first time in "
        "more than thirty years. The sleeper service will run three times a week through Riga, "
        "Vilnius and Warsaw and take about twenty hours end to end.",
        "The operator said the train will have sleeping cars with showers, couchettes and a "
        "dining car, and will carry bicycles. Tickets start at 59 euros for a seat and 149 euros "
        "for a private sleeping compartment.",
        "Rail Baltica, the new standard-gauge line, will not be finished before 2030, so "
        "passengers will change trains at the border between Lithuania and Poland, where the "
        "gauge changes.",
    ),
)
TELESCOPES = Story(
    "telescopes",
    "City library lends out telescopes to families",
    (
        "The central library in Aarburg now lends telescopes the way it lends books. Twenty "
        "reflector telescopes, each with a star chart and a red torch, can be borrowed for two "
        "weeks with a normal library card.",
        "The idea came from the local astronomy club, which donated the first six telescopes and "
        "trains library staff to adjust them. The waiting list already has more than three "
        "hundred names, most of them families with children.",
        "The club also runs free observing evenings on the library roof on the first Friday of "
        "every month, weather permitting, with a look at Jupiter and the moons of Saturn.",
    ),
)
HONEY = Story(
    "honey",
    "Beekeepers report a record heather honey harvest",
    (
        "Beekeepers on the Lüneburg Heath are reporting the biggest heather honey harvest in "
        "twenty years. A wet spring followed by a warm, still August let the heather flower for "
        "almost six weeks, and the bees brought in up to thirty kilos per hive.",
        "Heather honey is thick and jelly-like, so it has to be pressed out of the combs instead "
        "of being spun. Beekeepers said the prices would stay stable despite the large harvest, "
        "because demand from abroad has grown quickly.",
    ),
    published="Tue, 03 Nov 2026 07:00:00 GMT",
)
FERRY = Story(
    "ferry",
    "Ferry company orders two battery-electric ships for the fjord crossing",
    (
        "The ferry company Fjordlinjen has ordered two battery-electric ships for its busiest "
        "crossing, replacing diesel ferries that have served the route since 1998. Each ship will "
        "carry 120 cars and 400 passengers and charge for ten minutes at each quay.",
        "The shipyard in Gdansk will deliver the first ship in the spring of 2028. The company "
        "said the ferries will cut its carbon emissions by about twelve thousand tonnes a year "
        "and that the crossing will take the same twenty-five minutes as today.",
        "New charging towers will be built on both sides of the fjord, paid for in part by the "
        "national climate fund, which covers forty percent of the cost.",
    ),
)
HELMETS = Story(
    "helmets",
    "Wind tunnel tests find big differences between bicycle helmets",
    (
        "Consumer testers put thirty bicycle helmets through a wind tunnel and a drop test. The "
        "most aerodynamic helmets saved riders up to eight watts at forty kilometres an hour, but "
        "two cheap models cracked in the drop test and were rated unsafe.",
        "The testers advised buyers to look for a helmet with a rotational impact system and to "
        "replace any helmet after a crash, even if no damage can be seen.",
    ),
)
RUSSIAN = Story(
    "moscow-metro",
    "Московское метро открыло новую станцию",
    (
        "В воскресенье в Москве открылась новая станция метро «Заречная». Она стала "
        "двести пятидесятой станцией столичного метрополитена. Первые пассажиры прошли через "
        "турникеты ровно в шесть часов утра.",
        "Станция оформлена в зелёных тонах, а её стены украшены мозаикой с изображением речных "
        "птиц. По словам мэрии, каждый день станцией будут пользоваться около сорока тысяч "
        "человек, а время поездки до центра сократится на двадцать минут.",
    ),
)
EMPTY_PAGE = (
    f"<html><head><title>Gallery</title></head><body>{NAV}"
    '<main><img src="/a.jpg" alt=""><img src="/b.jpg" alt=""></main>'
    f"{FOOTER}</body></html>"
)


def page_html(story: Story, charset: str = "utf-8", meta_charset: bool = True) -> str:
    """An article page with navigation, a sidebar and a footer around the story."""
    meta = f'<meta charset="{charset}">' if meta_charset else ""
    body = "".join(f"<p>{escape(p)}</p>" for p in story.paragraphs)
    return (
        f"<!DOCTYPE html><html><head>{meta}<title>{escape(story.title)} | Harbour Gazette</title>"
        f'<meta property="og:title" content="{escape(story.title)}">'
        '<meta property="article:published_time" content="2026-11-02T09:30:00Z">'
        f"</head><body>{NAV}<main><article><h1>{escape(story.title)}</h1>"
        f'<p class="byline">By Kari Nordmann</p>{body}</article>'
        "<aside><h3>Most read</h3><ul><li>Ten tips for autumn gardens</li>"
        "<li>Quiz of the week</li></ul></aside></main>"
        f"{FOOTER}</body></html>"
    )


def rss_xml(title: str, items: list[tuple[Story, str]], full_text: bool) -> str:
    """RSS 2.0: each item links to its page; full_text puts the body in content:encoded."""
    entries = []
    for story, link in items:
        content = (
            f"<content:encoded><![CDATA[{''.join(f'<p>{p}</p>' for p in story.paragraphs)}]]>"
            "</content:encoded>"
            if full_text
            else ""
        )
        entries.append(
            f"<item><title>{escape(story.title)}</title><link>{link}</link>"
            f"<guid>{link}</guid><pubDate>{story.published}</pubDate>"
            f"<description>{escape(story.paragraphs[0][:150])}</description>{content}</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{escape(title)}</title><link>http://example.org/</link>"
        f"<description>News</description>{''.join(entries)}</channel></rss>"
    )


def atom_xml(title: str, items: list[tuple[Story, str]]) -> str:
    """Atom 1.0 with short summaries only, so the reader must fetch each page."""
    entries = "".join(
        f'<entry><title>{escape(story.title)}</title><link href="{link}"/>'
        f"<id>urn:story:{story.slug}</id><updated>2026-11-02T09:30:00Z</updated>"
        f"<summary>{escape(story.paragraphs[0][:120])}</summary></entry>"
        for story, link in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:feed:atom</id>"
        f"<updated>2026-11-02T09:30:00Z</updated>{entries}</feed>"
    )


def _pdf_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(story: Story) -> bytes:
    """A small, valid one-page PDF with a text layer and a title, written by hand."""
    lines = []
    for paragraph in story.paragraphs:
        words, line = paragraph.split(), ""
        for word in words:
            if len(line) + len(word) > 80:
                lines.append(line)
                line = ""
            line = f"{line} {word}".strip()
        lines += [line, ""]
    stream = "BT /F1 10 Tf 50 750 Td 13 TL " + " ".join(f"({_pdf_text(x)}) Tj T*" for x in lines)
    stream += " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        f"<< /Title ({_pdf_text(story.title)}) >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return out


def web_settings(tmp_path: Path, **extra: object) -> Settings:
    """Settings that may fetch from 127.0.0.1, with a short timeout and a small size cap."""
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "allow_private_urls": True,
        "fetch_timeout": 1.0,
        "fetch_max_bytes": 100_000,
    }
    return Settings(_env_file=None, **{**values, **extra})  # type: ignore[call-arg]


@dataclass
class Reply:
    """What a route answers."""

    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    length: bool = True  # False: no Content-Length, the body ends when the connection closes
    delay: float = 0.0
    validators: bool = False  # answer ETag/Last-Modified and honour conditional requests


class WebServer:
    """The test web: feeds, pages, documents and broken cases on 127.0.0.1."""

    def __init__(self, big_bytes: int = 200_000, slow_seconds: float = 3.0) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.down: set[str] = set()  # paths that answer 503 for now
        self.gates: dict[str, threading.Event] = {}  # paths that answer once their event is set
        self.live: list[Story] = [SOLAR]
        self.live_changed = "Mon, 02 Nov 2026 10:00:00 GMT"
        self.big_bytes = big_bytes
        self.slow_seconds = slow_seconds
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def base(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        """The full URL of a path on this server."""
        return self.base + path

    def publish(self, story: Story) -> None:
        """Append an item to the live feed (/live.xml); its ETag and Last-Modified change."""
        self.live.append(story)
        self.live_changed = formatdate(time.time(), usegmt=True)

    def hits(self, path: str) -> list[dict[str, str]]:
        """The headers of every request made for a path."""
        return [headers for seen, headers in self.requests if seen == path]

    def routes(self) -> dict[str, Callable[[], Reply]]:
        """Every path the server knows, built per request (the live feed changes)."""
        rss = "application/rss+xml; charset=utf-8"
        big = b"<html><body><article><p>" + b"news " * (self.big_bytes // 5) + b"</p></article>"
        loop = self.url("/loop-a")
        return {
            "/rss.xml": lambda: Reply(
                rss_xml(
                    "Harbour Gazette",
                    [(s, self.url(f"/rss/{s.slug}")) for s in (SOLAR, FROST)],
                    True,
                ).encode(),
                rss,
                validators=True,
            ),
            "/atom.xml": lambda: Reply(
                atom_xml(
                    "Northern Review",
                    [
                        (s, self.url(f"/articles/{s.slug}.html?utm_source=atom"))
                        for s in (TRAINS, TELESCOPES)
                    ],
                ).encode(),
                "application/atom+xml",
            ),
            "/live.xml": lambda: Reply(
                rss_xml(
                    "Live desk", [(s, self.url(f"/live/{s.slug}")) for s in self.live], True
                ).encode(),
                rss,
                validators=True,
            ),
            **{
                f"/articles/{s.slug}.html": (lambda s=s: Reply(page_html(s).encode()))
                for s in (SOLAR, FROST, TRAINS, TELESCOPES, HONEY, HELMETS)
            },
            "/ferry-a.html": lambda: Reply(page_html(FERRY).encode()),
            "/ferry-b.html": lambda: Reply(
                page_html(
                    Story(
                        "ferry-b",
                        FERRY.title + " (updated)",
                        (
                            *FERRY.paragraphs[:2],
                            FERRY.paragraphs[2].replace("forty percent", "40 percent"),
                        ),
                    )
                ).encode()
            ),
            "/moscow.html": lambda: Reply(
                page_html(RUSSIAN, "windows-1251", meta_charset=False).encode("cp1251"),
                "text/html; charset=windows-1251",
            ),
            "/helmets.pdf": lambda: Reply(pdf_bytes(HELMETS), "application/pdf"),
            "/download": lambda: Reply(pdf_bytes(HELMETS), "application/octet-stream"),
            "/blob": lambda: Reply(bytes(range(256)) * 4, "application/octet-stream"),
            "/honey.txt": lambda: Reply(
                f"{HONEY.title}\n\n{HONEY.text}\n".encode(), "text/plain; charset=utf-8"
            ),
            "/redirect": lambda: Reply(
                status=301, headers=(("Location", "/articles/telescopes.html"),)
            ),
            "/missing": lambda: Reply(b"<h1>Not found</h1>", status=404),
            "/slow": lambda: Reply(page_html(SOLAR).encode(), delay=self.slow_seconds),
            "/malformed.xml": lambda: Reply(
                b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken<<< &&& <item',
                rss,
            ),
            "/empty.html": lambda: Reply(EMPTY_PAGE.encode()),
            "/image.png": lambda: Reply(
                b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(256), "image/png"
            ),
            "/binary.html": lambda: Reply(bytes(range(256)) * 8),
            "/big.html": lambda: Reply(big),
            "/big-stream.html": lambda: Reply(big, length=False),
            "/loop-a": lambda: Reply(status=302, headers=(("Location", "/loop-b"),)),
            "/loop-b": lambda: Reply(status=302, headers=(("Location", loop),)),
            "/to-file": lambda: Reply(status=302, headers=(("Location", "file:///etc/passwd"),)),
        }

    def reply(self, path: str) -> Reply:
        """The reply for a path; feed items under /rss/ and /live/ are their stories' pages."""
        stories = {s.slug: s for s in (SOLAR, FROST, HONEY, *self.live)}
        for prefix in ("/rss/", "/live/"):
            if path.startswith(prefix) and path[len(prefix) :] in stories:
                return Reply(page_html(stories[path[len(prefix) :]]).encode())
        if path in self.down:
            return Reply(b"<h1>Service unavailable</h1>", status=503)
        route = self.routes().get(path)
        return route() if route else Reply(b"<h1>Not found</h1>", status=404)


def _handler(site: WebServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            site.requests.append((path, {k.lower(): v for k, v in self.headers.items()}))
            gate = site.gates.get(path)
            if gate is not None:
                gate.wait(60)
            reply = site.reply(path)
            if reply.delay:
                time.sleep(reply.delay)
            headers = list(reply.headers)
            if reply.validators:
                etag = '"' + hashlib.sha256(reply.body).hexdigest()[:16] + '"'
                modified = (
                    site.live_changed if path == "/live.xml" else "Mon, 02 Nov 2026 10:00:00 GMT"
                )
                headers += [("ETag", etag), ("Last-Modified", modified)]
                if self.headers.get("If-None-Match") == etag or (
                    "If-None-Match" not in self.headers
                    and self.headers.get("If-Modified-Since") == modified
                ):
                    reply = Reply(status=304)
            self.send_response(reply.status)
            if reply.status != 304 and reply.body:
                self.send_header("Content-Type", reply.content_type)
            if reply.length or reply.status == 304:
                self.send_header("Content-Length", str(len(reply.body)))
            for key, value in headers:
                self.send_header(key, value)
            self.end_headers()
            # The client may give up (size cap, timeout): that is what such a test wants.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    return Handler
