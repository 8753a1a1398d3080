"""Mutual TLS between services: the server's uvicorn options and the clients' SSL context.

One certificate per service, signed by the platform's CA, serves its HTTPS
and identifies it when it calls another service; a server that requires
client certificates refuses a connection without one signed by that CA
before any HTTP is spoken. (A service mesh's sidecars can do the same
instead: docs/deploy.md.)
"""

from __future__ import annotations

import ssl
from typing import Any

from devgen.kit.settings import TlsSettings


def server_options(tls: TlsSettings) -> dict[str, Any]:
    """uvicorn's ``ssl_*`` options for ``tls`` (empty: plain HTTP)."""
    if not tls.serves_tls:
        return {}
    options: dict[str, Any] = {
        "ssl_certfile": str(tls.tls_cert_file),
        "ssl_keyfile": str(tls.tls_key_file),
    }
    if tls.tls_ca_file is not None:
        options["ssl_ca_certs"] = str(tls.tls_ca_file)
    options["ssl_cert_reqs"] = ssl.CERT_REQUIRED if tls.tls_require_client_cert else ssl.CERT_NONE
    return options


def client_context(tls: TlsSettings) -> ssl.SSLContext | None:
    """The SSL context calls to other services use (None: the default verification)."""
    if tls.tls_ca_file is None and not tls.serves_tls:
        return None
    context = ssl.create_default_context(
        cafile=str(tls.tls_ca_file) if tls.tls_ca_file is not None else None
    )
    if tls.serves_tls:
        context.load_cert_chain(str(tls.tls_cert_file), str(tls.tls_key_file))
    return context
