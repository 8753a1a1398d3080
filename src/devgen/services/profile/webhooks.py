"""Which webhook URLs a user may register.

Only ``https://`` URLs to a public host name or a public IP address are
accepted. Obvious internal targets (``localhost``, loopback, private, link-local
and other non-global addresses) are refused here so they are never stored; a
host *name* can still resolve to an internal address later, so whatever
delivers webhooks must check the resolved address again at send time.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

MAX_WEBHOOK_URL_LENGTH = 2048

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# A real top-level domain is letters (or punycode); this also refuses the numeric
# and hex spellings of addresses some resolvers accept, like ``0x7f.0.0.1``.
_TOP_LEVEL_LABEL = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")


def _check_host(host: str) -> None:
    if host.startswith("[") or ":" in host or host.replace(".", "").isdigit():
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError as exc:
            raise ValueError("the host is not a valid IP address") from exc
        if not address.is_global:
            raise ValueError("the host must be a public address")
        return
    if host == "localhost" or host.endswith(_INTERNAL_SUFFIXES):
        raise ValueError("the host must be a public name")
    labels = host.removesuffix(".").split(".")
    if (
        len(labels) < 2
        or not all(_HOST_LABEL.match(label) for label in labels)
        or not _TOP_LEVEL_LABEL.match(labels[-1])
    ):
        raise ValueError("the host must be a fully qualified DNS name (IDN in punycode)")


def validate_webhook_url(value: str) -> str:
    """``value`` if it is an acceptable webhook URL; ``ValueError`` saying why not."""
    if len(value) > MAX_WEBHOOK_URL_LENGTH:
        raise ValueError(f"must be at most {MAX_WEBHOOK_URL_LENGTH} characters")
    if _FORBIDDEN_CHARACTERS.search(value) or not value.isascii():
        raise ValueError("must not contain spaces, control or non-ASCII characters")
    parts = urlsplit(value)
    if parts.scheme.lower() != "https":
        raise ValueError("must be an https:// URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain credentials; put a secret in the path or query")
    try:
        parts.port  # noqa: B018 - property access validates the port
    except ValueError as exc:
        raise ValueError("has an invalid port") from exc
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError("must name a host")
    _check_host(host)
    return value
