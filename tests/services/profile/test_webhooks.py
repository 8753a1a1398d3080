"""Which webhook URLs are accepted: https, a public host, no credentials, nothing odd."""

from __future__ import annotations

import pytest

from devgen.services.profile.webhooks import validate_webhook_url


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/devgen",
        "https://hooks.example.com:8443/devgen?token=abc#frag",
        "HTTPS://Hooks.Example.COM/x",
        "https://xn--bcher-kva.example/hook",
        "https://93.184.215.14/hook",
        "https://[2606:4700:4700::1111]/hook",
        "https://example.com./x",
    ],
)
def test_accepted(url):
    assert validate_webhook_url(url) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/x", "https"),
        ("ftp://hooks.example.com/x", "https"),
        ("//hooks.example.com/x", "https"),
        ("https://", "host"),
        ("https:///path", "host"),
        ("https://user:secret@example.com/", "credentials"),
        ("https://user@example.com/", "credentials"),
        ("https://example.com:99999/", "port"),
        ("https://example.com:abc/", "port"),
        ("https://localhost/x", "public"),
        ("https://api.localhost/x", "public"),
        ("https://printer.local/x", "public"),
        ("https://metadata.internal/x", "public"),
        ("https://127.0.0.1/x", "public"),
        ("https://10.1.2.3/x", "public"),
        ("https://192.168.0.1/x", "public"),
        ("https://169.254.169.254/latest/meta-data", "public"),
        ("https://[::1]/x", "public"),
        ("https://[fd00::1]/x", "public"),
        ("https://0.0.0.0/x", "public"),
        ("https://127.1/x", "IP"),
        ("https://0x7f.0.0.1/x", "DNS"),
        ("https://2130706433/x", "IP"),
        ("https://intranet/x", "DNS"),
        ("https://exa_mple.com/x", "DNS"),
        ("https://-bad.example.com/x", "DNS"),
        ("https://bücher.example/x", "non-ASCII"),
        ("https://example.com/a b", "spaces"),
        ("https://example.com/\x00", "control"),
        ("https://example.com\\@evil.com/", "spaces"),
        ("https://example.com/" + "a" * 2048, "2048"),
    ],
)
def test_refused(url, reason):
    with pytest.raises(ValueError, match=reason):
        validate_webhook_url(url)
