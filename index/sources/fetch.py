"""Fetches feeds and pages over HTTP, safely: public addresses only, size and time limits."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from index.errors import BlockedURL, FetchError
from index.i18n import _
from index.settings import Settings

USER_AGENT = "newsbot/0.1 (news archive bot; fetches feeds and articles its admins add)"
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# What a source may be: feeds, pages and the documents newsbot can read.
WEB_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "text/html",
        "application/xhtml+xml",
        "text/plain",
        "text/markdown",
        "application/pdf",
        "application/octet-stream",  # often a PDF; the body decides
    }
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


@dataclass(frozen=True)
class Fetched:
    """A response newsbot accepted: its final URL, type, body and cache validators."""

    url: str
    content_type: str
    charset: str | None
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


def resolve(host: str, port: int) -> list[str]:
    """Every address a host name resolves to (literal addresses resolve to themselves)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchError(_("Cannot resolve {host}: {error}.", host=host, error=error)) from error
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: IPAddress) -> bool:
    """Whether an address is on the public internet (IPv4 inside IPv6 is unwrapped)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is not None:
            return is_public(inner)
        if address.teredo is not None:
            return is_public(address.teredo[1])
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise FetchError(_("Not a valid URL: {url!r} ({error}).", url=url, error=error)) from error
    if not parsed.scheme:
        raise FetchError(
            _("{url!r} is not a full web address: write it with https:// in front.", url=url)
        )
    if parsed.scheme not in ("http", "https"):
        raise BlockedURL(_("Only http and https URLs can be fetched, not {url!r}.", url=url))
    if not parsed.host:
        raise FetchError(_("Not a valid URL: {url!r} (no host).", url=url))
    return parsed


def check_url(url: str, allow_private: bool = False, resolver: Resolver = resolve) -> list[str]:
    """The addresses a URL may be fetched from; refuses other schemes and non-public hosts."""
    parsed = _parse(url)
    host = parsed.raw_host.decode("ascii")
    addresses = resolver(host, parsed.port or (443 if parsed.scheme == "https" else 80))
    if not addresses:
        raise FetchError(_("Cannot resolve {host}.", host=host))
    if not allow_private:
        for text in addresses:
            if not is_public(ipaddress.ip_address(text.split("%")[0])):
                raise BlockedURL(
                    _(
                        "{host} is a non-public address ({address}); newsbot only fetches "
                        "public web addresses (NEWSBOT_ALLOW_PRIVATE_URLS=true lifts this).",
                        host=parsed.host,
                        address=text,
                    )
                )
    return addresses


def _media_type(value: str) -> tuple[str, str | None]:
    kind, _sep, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        key, _equals, found = param.strip().partition("=")
        if key.lower() == "charset" and found:
            charset = found.strip("\"' ").lower()
    return kind.strip().lower(), charset


class Fetcher:
    """One HTTP client with timeouts, a size cap, checked redirects and a clear User-Agent."""

    def __init__(self, settings: Settings, resolver: Resolver = resolve) -> None:
        self.settings = settings
        self._resolver = resolver
        # No pooled connections: each request goes to the address that was checked for it.
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.fetch_timeout),
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def fetch(self, url: str, etag: str | None = None, last_modified: str | None = None) -> Fetched:
        """GET a URL, following up to MAX_REDIRECTS redirects, each one checked."""
        headers = {
            "Accept": "application/rss+xml, application/atom+xml, text/html;q=0.9, */*;q=0.5"
        }
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url.strip()
        for _redirect in range(MAX_REDIRECTS + 1):
            fetched = self._hop(current, headers)
            if isinstance(fetched, Fetched):
                return fetched
            current = fetched
        raise FetchError(
            _(
                "{url} redirects more than {most} times (a redirect loop?).",
                url=url,
                most=MAX_REDIRECTS,
            )
        )

    def _hop(self, url: str, headers: dict[str, str]) -> Fetched | str:
        """One request: a Fetched, or the URL a redirect points to."""
        parsed = _parse(url)
        addresses = check_url(url, self.settings.allow_private_urls, self._resolver)
        response = self._connect(url, parsed, addresses, headers)
        try:
            return self._read(url, response)
        finally:
            response.close()

    def _connect(
        self, url: str, parsed: httpx.URL, addresses: list[str], headers: dict[str, str]
    ) -> httpx.Response:
        """Send the request to the checked addresses in turn, never to a fresh DNS answer."""
        for number, address in enumerate(addresses, start=1):
            request = self._client.build_request(
                "GET",
                parsed.copy_with(host=address.split("%")[0]),
                headers={**headers, "Host": parsed.netloc.decode("ascii")},
                extensions={"sni_hostname": parsed.raw_host.decode("ascii")},
            )
            try:
                return self._client.send(request, stream=True)
            except httpx.ConnectError as error:
                if number == len(addresses):
                    raise FetchError(
                        _("Cannot fetch {url}: {error}.", url=url, error=error)
                    ) from error
            except httpx.TimeoutException as error:
                wait = self.settings.fetch_timeout
                raise FetchError(
                    _("{url} did not answer within {wait:g} s.", url=url, wait=wait)
                ) from error
            except httpx.HTTPError as error:
                reason = error or type(error).__name__
                raise FetchError(
                    _("Cannot fetch {url}: {reason}.", url=url, reason=reason)
                ) from error
        raise FetchError(_("Cannot resolve {host}.", host=parsed.host))

    def _read(self, url: str, response: httpx.Response) -> Fetched | str:
        status = response.status_code
        if status in REDIRECTS and "location" in response.headers:
            return str(httpx.URL(url).join(response.headers["location"]))
        validators = response.headers.get("etag"), response.headers.get("last-modified")
        if status == 304:
            return Fetched(url, "", None, b"", *validators, not_modified=True)
        if status != 200:
            reason = response.reason_phrase or "error"
            raise FetchError(
                _("{url} answered HTTP {status} {reason}.", url=url, status=status, reason=reason)
            )
        kind, charset = _media_type(response.headers.get("content-type", ""))
        if kind and kind not in WEB_TYPES:
            raise FetchError(
                _(
                    "{url} is {kind}, not a feed, web page, PDF or text file newsbot can read.",
                    url=url,
                    kind=kind,
                )
            )
        return Fetched(url, kind, charset, self._body(url, response), *validators)

    def _body(self, url: str, response: httpx.Response) -> bytes:
        """The body, read in pieces and refused once it passes the size cap or the deadline."""
        cap = self.settings.fetch_max_bytes
        too_big = FetchError(
            _(
                "{url} is larger than the {cap:,}-byte limit (NEWSBOT_FETCH_MAX_BYTES).",
                url=url,
                cap=cap,
            )
        )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise too_big
        deadline = time.monotonic() + 4 * self.settings.fetch_timeout
        body = bytearray()
        try:
            for piece in response.iter_bytes():
                body += piece
                if len(body) > cap:
                    raise too_big
                if time.monotonic() > deadline:
                    raise FetchError(_("{url} is too slow to download; try again later.", url=url))
        except httpx.TimeoutException as error:
            raise FetchError(
                _(
                    "{url} stopped sending within {wait:g} s.",
                    url=url,
                    wait=self.settings.fetch_timeout,
                )
            ) from error
        except httpx.HTTPError as error:
            raise FetchError(
                _("Cannot read {url}: {error}.", url=url, error=error or type(error).__name__)
            ) from error
        return bytes(body)
