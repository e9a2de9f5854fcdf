"""The fetcher against a real HTTP server on 127.0.0.1: limits, redirects, address checks."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_server import WebServer, web_settings

from index.errors import BlockedURL, FetchError
from index.ingest.urls import canonical_url
from index.sources.fetch import Fetcher, check_url, is_public


@pytest.fixture
def fetcher(tmp_path: Path) -> Iterator[Fetcher]:
    """A fetcher allowed to reach the test server."""
    opened = Fetcher(web_settings(tmp_path))
    yield opened
    opened.close()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/feed.xml",
        "http://127.0.0.1:8080/",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://10.0.0.5/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/",
    ],
)
def test_loopback_and_private_urls_are_refused(url: str) -> None:
    with pytest.raises(BlockedURL, match="non-public address"):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/feed.xml", "file:///etc/passwd", "gopher://example.org/", "javascript:1"],
)
def test_other_schemes_are_refused_even_when_private_urls_are_allowed(url: str) -> None:
    with pytest.raises(BlockedURL, match="Only http and https"):
        check_url(url, allow_private=True)


def test_address_without_a_scheme_gets_a_hint() -> None:
    with pytest.raises(FetchError, match="write it with https:// in front"):
        check_url("example.org/feed.xml")


def test_octal_address_is_refused() -> None:
    with pytest.raises(FetchError):
        check_url("http://0177.0.0.1/")


def test_names_are_checked_after_resolution() -> None:
    private = {"news.example": ["93.184.216.34", "10.0.0.7"]}
    public = {"news.example": ["93.184.216.34"]}

    with pytest.raises(BlockedURL, match=r"10\.0\.0\.7"):
        check_url("https://news.example/rss", resolver=lambda host, port: private[host])
    assert check_url("https://news.example/rss", resolver=lambda h, p: public[h]) == [
        "93.184.216.34"
    ]


def test_loopback_server_is_not_contacted_by_default(web: WebServer, tmp_path: Path) -> None:
    fetcher = Fetcher(web_settings(tmp_path, allow_private_urls=False))
    try:
        with pytest.raises(BlockedURL, match="non-public address"):
            fetcher.fetch(web.url("/rss.xml"))
    finally:
        fetcher.close()
    assert web.requests == []


def test_connects_to_the_address_that_was_checked(web: WebServer, tmp_path: Path) -> None:
    """The name is resolved once, checked, and that address is used: no second lookup."""
    port = web.base.rsplit(":", 1)[1]
    settings = web_settings(tmp_path)
    fetcher = Fetcher(settings, resolver=lambda host, p: {"news.example": ["127.0.0.1"]}[host])
    try:
        fetched = fetcher.fetch(f"http://news.example:{port}/rss.xml")
    finally:
        fetcher.close()
    assert fetched.content_type == "application/rss+xml"
    assert web.hits("/rss.xml")[0]["host"] == f"news.example:{port}"


def test_next_address_is_tried_when_one_refuses(web: WebServer, tmp_path: Path) -> None:
    port = web.base.rsplit(":", 1)[1]
    addresses = {"news.example": ["127.0.0.2", "127.0.0.1"]}
    fetcher = Fetcher(web_settings(tmp_path), resolver=lambda host, p: addresses[host])
    try:
        fetched = fetcher.fetch(f"http://news.example:{port}/rss.xml")
    finally:
        fetcher.close()
    assert b"<rss" in fetched.body


def test_feed_with_validators_and_user_agent(web: WebServer, fetcher: Fetcher) -> None:
    first = fetcher.fetch(web.url("/rss.xml"))
    again = fetcher.fetch(web.url("/rss.xml"), first.etag, first.last_modified)

    assert first.content_type == "application/rss+xml" and first.charset == "utf-8"
    assert b"<rss" in first.body and first.etag and first.last_modified
    assert again.not_modified and again.body == b""
    sent = web.hits("/rss.xml")
    assert sent[1]["if-none-match"] == first.etag
    assert sent[0]["user-agent"].startswith("newsbot/")


def test_redirect_is_followed_to_the_final_url(web: WebServer, fetcher: Fetcher) -> None:
    fetched = fetcher.fetch(web.url("/redirect"))

    assert fetched.url == web.url("/articles/telescopes.html")
    assert b"telescopes" in fetched.body


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/missing", "answered HTTP 404"),
        ("/slow", "did not answer within 1 s"),
        ("/image.png", "is image/png, not a feed, web page"),
        ("/big.html", "larger than the 100,000-byte limit"),
        ("/big-stream.html", "larger than the 100,000-byte limit"),
        ("/loop-a", "redirects more than 5 times"),
        ("/to-file", "Only http and https URLs"),
    ],
)
def test_broken_responses_end_in_a_clear_error(
    web: WebServer, fetcher: Fetcher, path: str, message: str
) -> None:
    with pytest.raises(FetchError, match=message):
        fetcher.fetch(web.url(path))


def test_unreachable_server_is_a_clear_error(fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match=re.escape("Cannot fetch http://127.0.0.1:9/")):
        fetcher.fetch("http://127.0.0.1:9/")


def test_tracking_parameters_are_dropped_from_source_urls() -> None:
    url = "HTTPS://News.example.org:443/a/b?id=3&utm_source=x&at_medium=rss&smid=tw&xtor=RSS-1#top"

    assert canonical_url(url) == "https://news.example.org/a/b?id=3"
