"""Canonical URLs: the same story under tracking parameters or a fragment is one URL."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "ga_", "at_", "oly_")
TRACKING_KEYS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "ref", "cmpid"}
    | {"_ga", "_gl", "ncid", "smid", "xtor", "wt_mc", "sr_share", "mkt_tok", "vero_id", "spm"}
)


def is_web_url(url: str) -> bool:
    """Only http(s) links are kept: a javascript: or file: link must never reach a reader."""
    return url.strip().lower().startswith(("http://", "https://"))


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, no tracking parameters."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    if ":" in (parts.hostname or "") and not host.startswith("["):
        host = f"[{host}]"
    query = urlencode(
        sorted(
            (key, value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if not key.lower().startswith(TRACKING_PREFIXES) and key.lower() not in TRACKING_KEYS
        )
    )
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, query, ""))
